"""The expectations of the gate's two suites, ``data`` and ``ledger``, for a given run config.

These are the expectations that Great Expectations evaluates batch by batch, on the columns
each suite reads. What needs every row at once — unique ids, counts against the manifest,
ledger rows against data rows — is checked in :mod:`pipelines.validation.runwide`.

``meta["unexpected"]`` on an expectation says in words what its unexpected rows are; the
failure lines use it (:mod:`pipelines.validation.results`).
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe
import pyarrow as pa
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from pipelines.sinks.shards import UNDETERMINED
from pipelines.validation.expectations import ExpectColumnValuesToNotContainValidIban
from schemas.config import PipelineConfig
from schemas.document import Status
from schemas.records import CONTRACT_COLUMNS, DATA_SCHEMA, LEDGER_SCHEMA

DATA = "data"
LEDGER = "ledger"

PROVENANCE_COLUMNS = CONTRACT_COLUMNS  # every data row carries them (DESIGN.md, output layout)
LEDGER_COLUMNS = ("id", "status", "reason", "duplicate_of", "n_chars", "shard")
# What may come before the ':' of a reason: ``input`` (connectors), the stages' reason prefixes (the
# language stage's is ``lang``), the dedup decisions, and ``dsp`` (data-space access decisions).
REASON_STAGES = (
    "input",
    "optout",
    "extract",
    "normalize",
    "lang",
    "quality",
    "pii",
    "exact_dedup",
    "near_dedup",
    "dsp",
)
REASON_PATTERN = rf"^(?:{'|'.join(REASON_STAGES)}):."
# Raw personal data that the PII stage would have replaced by a placeholder (``<EMAIL>``, ...).
# Written for RE2 (ASCII classes, no \b or \d), so that pandas matches them in Arrow.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE_PATTERN = r"\+[0-9]{1,3}[ -]?\(?[0-9]{1,4}\)?[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}"


@dataclass(frozen=True)
class SuiteSpec:
    """A suite: the files it reads (a glob under the output folder) and their schema, the columns
    its batches are read with, and what GX checks on each batch."""

    name: str
    files: str
    schema: pa.Schema
    columns: tuple[str, ...]
    expectations: tuple[Expectation, ...]


def data_suite(config: PipelineConfig) -> SuiteSpec:
    return SuiteSpec(
        DATA,
        "data/*/*.parquet",
        DATA_SCHEMA,
        PROVENANCE_COLUMNS,
        (
            *(gxe.ExpectColumnToExist(column=column) for column in PROVENANCE_COLUMNS),
            *_not_null("id", "text", "source", "source_uri"),
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="text", min_value=config.validation.min_chars, max_value=config.validation.max_chars
            ),
            *_language(config),
            *_raw_pii(config),
        ),
    )


def ledger_suite() -> SuiteSpec:
    kept, duplicate = Column("status") == Status.KEPT.value, Column("status") == Status.DUPLICATE.value
    not_kept, not_duplicate = (
        Column("status") != Status.KEPT.value,
        Column("status") != Status.DUPLICATE.value,
    )
    return SuiteSpec(
        LEDGER,
        "ledger/*.parquet",
        LEDGER_SCHEMA,
        LEDGER_COLUMNS,
        (
            *_not_null("id", "status"),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=[s.value for s in Status]),
            gxe.ExpectColumnValuesToBeNull(column="reason", row_condition=kept),
            gxe.ExpectColumnValuesToNotBeNull(column="reason", row_condition=not_kept),
            gxe.ExpectColumnValuesToMatchRegex(
                column="reason",
                regex=REASON_PATTERN,
                meta={"unexpected": f"with a reason prefix outside [{', '.join(REASON_STAGES)}]"},
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="duplicate_of", row_condition=duplicate),
            gxe.ExpectColumnValuesToBeNull(column="duplicate_of", row_condition=not_duplicate),
            gxe.ExpectColumnValuesToBeBetween(column="n_chars", min_value=0),
        ),
    )


def configured_languages(config: PipelineConfig) -> list[str]:
    """The ``lang`` values a data row may have: the language stage's, or ``und`` without one."""
    stage = config.stage("language")
    return sorted(stage.languages) if stage is not None else [UNDETERMINED]


def _language(config: PipelineConfig) -> tuple[Expectation, ...]:
    tagged = config.stage("language") is not None
    return (
        gxe.ExpectColumnValuesToBeInSet(column="lang", value_set=configured_languages(config)),
        gxe.ExpectColumnValuesToBeBetween(column="lang_score", min_value=0, max_value=1),
        *(_not_null("lang", "lang_score") if tagged else ()),
    )


def _raw_pii(config: PipelineConfig) -> tuple[Expectation, ...]:
    stage = config.stage("pii")
    types = set(stage.types) if stage is not None else set()
    checks: list[Expectation] = []
    if "email" in types:
        checks.append(_no_match(EMAIL_PATTERN, "e-mail address"))
    if "iban" in types:
        checks.append(
            ExpectColumnValuesToNotContainValidIban(column="text", meta={"unexpected": "holding a raw IBAN"})
        )
    if "phone" in types:
        checks.append(_no_match(PHONE_PATTERN, "phone number"))
    return tuple(checks)


def _no_match(pattern: str, what: str) -> Expectation:
    return gxe.ExpectColumnValuesToNotMatchRegex(
        column="text", regex=pattern, meta={"unexpected": f"holding a raw {what}"}
    )


def _not_null(*columns: str) -> tuple[Expectation, ...]:
    return tuple(gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns)
