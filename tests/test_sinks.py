"""Rows the sinks write: the data columns are exactly the data schema; staging keeps everything."""

from __future__ import annotations

import pytest
from conftest import make_doc

from pipelines.sinks.shards import document_lang
from pipelines.sinks.staging import data_row, document_row, row_document
from schemas.records import DATA_SCHEMA, STAGED_SCHEMA


def test_data_row_has_exactly_the_data_columns():
    doc = make_doc("Hallo", url="https://a.example/", retrieved_at="2024-01-02T03:04:05Z", html_lang="de")
    row = data_row(doc)
    assert set(row) == set(DATA_SCHEMA.names)
    assert row["url"] == "https://a.example/" and row["retrieved_at"].year == 2024


def test_staging_round_trip_keeps_other_metadata():
    doc = make_doc("Hallo", doc_id="x1", order=7, http_headers={"x-robots-tag": "noai"})
    row = document_row(doc)
    assert set(row) == set(STAGED_SCHEMA.names)
    back = row_document(row)
    assert back.id == "x1" and back.metadata["order"] == 7
    assert back.metadata["http_headers"] == {"x-robots-tag": "noai"}


@pytest.mark.parametrize("lang", ["../../etc", "/abs", "de/../../x", "", None, 7])
def test_a_language_label_never_becomes_a_path(lang):
    assert document_lang(make_doc("x", lang=lang)) == "und"
    assert document_lang(make_doc("x", lang="zh-Hant")) == "zh-Hant"
