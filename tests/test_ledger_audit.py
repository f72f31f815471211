"""The ledger as an auditor uses it: from any row back to its input record, and from a kept row to its shard.

Runs the embedded sample and follows every ledger row back into the sample's files by its
``source_uri`` and ``locator`` (byte offset in a JSONL or WARC file, ``row:N`` in Parquet), checks
the record's own id (``source_id``: the WARC-Record-ID, a JSONL ``id`` field) and that kept rows
lead to the shard that holds them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import REPO, sample_config_data
from warcio.archiveiterator import ArchiveIterator

from pipelines.runner import run_pipeline
from schemas.config import parse_config
from schemas.document import document_id


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("audit") / "out"
    run_pipeline(parse_config(sample_config_data(kind="local", workers=1)), out)
    return out


def _rows(out: Path, kind: str) -> list[dict]:
    return ds.dataset(out / kind, format="parquet").to_table().to_pylist()


def _path(uri: str) -> Path:
    """The sample's file a ledger row names: local files are named relative to their source's root."""
    return REPO / "samples" / "corpus" / uri


def test_every_ledger_row_leads_back_to_its_input_record(sample_run: Path) -> None:
    ledger = _rows(sample_run, "ledger")
    kept = {row["id"]: row for row in _rows(sample_run, "data")}
    formats = set()
    for row in ledger:
        assert row["locator"] and row["source_uri"]
        assert row["id"] == document_id(row["source_uri"], row["locator"])  # and forward again
        path = _path(row["source_uri"])
        if path.name.endswith(".jsonl.gz"):
            formats.add("jsonl")
            payload = gzip.decompress(path.read_bytes())
            offset = int(row["locator"])
            line = payload[offset : payload.index(b"\n", offset)]
            if row["id"] in kept:
                text = json.loads(line)["text"]
                assert hashlib.sha256(text.encode()).hexdigest() == kept[row["id"]]["content_sha256"]
        elif path.suffix == ".parquet":
            formats.add("parquet")
            number = int(row["locator"].removeprefix("row:"))
            text = pq.read_table(path, columns=["text"])["text"][number].as_py()
            if row["id"] in kept:
                assert hashlib.sha256(text.encode()).hexdigest() == kept[row["id"]]["content_sha256"]
        elif path.name.endswith(".warc.gz") and not row["locator"].endswith("+"):
            formats.add("warc")
            with path.open("rb") as stream:
                stream.seek(int(row["locator"]))
                record = next(iter(ArchiveIterator(stream)))
            assert row["source_id"] == record.rec_headers.get_header("WARC-Record-ID").strip("<>")
            assert row["url"] == record.rec_headers.get_header("WARC-Target-URI")
    assert formats == {"jsonl", "parquet", "warc"}


def test_kept_rows_lead_to_their_shard_and_decisions_carry_evidence(sample_run: Path) -> None:
    ledger = _rows(sample_run, "ledger")
    shards: dict[str, set[str]] = {}
    for row in ledger:
        if row["status"] == "kept":
            if row["shard"] not in shards:
                shards[row["shard"]] = set(
                    pq.read_table(sample_run / row["shard"], columns=["id"])["id"].to_pylist()
                )
            assert row["id"] in shards[row["shard"]]
        else:
            assert row["shard"] is None
    optout = [row for row in ledger if (row["reason"] or "").startswith("optout:")]
    assert optout, "the sample has opted-out pages"
    for row in optout:
        evidence = json.loads(row["evidence"])
        assert evidence["signal"] and evidence["source"]
    unsupported = [row for row in ledger if row["reason"] == "input:unsupported_content_type"]
    for row in unsupported:
        assert json.loads(row["evidence"])["content_type"]


def test_a_configured_id_field_becomes_the_source_id(tmp_path: Path) -> None:
    records = [
        {"doc_id": "a-1", "text": "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen."},
        {"doc_id": 7, "text": "De gemeenteraad heeft dinsdag de nieuwe begroting aangenomen."},
        {"text": "A record without an id of its own."},
    ]
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = parse_config(
        {"name": "ids", "sources": [{"kind": "files", "url": str(source), "id_field": "doc_id"}]}
    )
    run_pipeline(config, tmp_path / "out")
    ledger = sorted(_rows(tmp_path / "out", "ledger"), key=lambda row: int(row["locator"]))
    assert [row["source_id"] for row in ledger] == ["a-1", "7", None]
