"""The gate's two passes over a finished run: the data shards, then the ledger parts, each read once.

Files are read as Arrow record batches of the columns a suite needs, never a whole column of a
large output at once. Consecutive batches with the same columns go to Great Expectations
together, up to :data:`BATCH_ROWS` rows or :data:`BATCH_BYTES`, as a pandas frame over the Arrow
buffers (pandas' Arrow-backed strings, so neither the text nor the ids become Python objects).
While the batches stream past, :mod:`~pipelines.validation.runwide` collects the few columns its
checks across all rows need: ids and shard names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
import pyarrow as pa
import pyarrow.parquet as pq
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context import EphemeralDataContext

from pipelines.validation import gx_compat
from pipelines.validation.results import SuiteResult, failure_lines
from pipelines.validation.runwide import DataIds, LedgerFacts, kept_rows_in_shards, row_count, unique_ids
from pipelines.validation.suites import SuiteSpec, data_suite, ledger_suite
from schemas.config import PipelineConfig
from schemas.document import Status

BATCH_ROWS = 50_000
BATCH_BYTES = 256 << 20
RUN_NAME = "gate"
RESULT_FORMAT = {"result_format": "SUMMARY", "unexpected_index_column_names": ["id"]}

Observer = Callable[[str, pa.RecordBatch], None]


@dataclass(frozen=True)
class SuiteOutcome:
    """What one suite found, as plain data: GX's result JSON and the failure lines."""

    name: str
    passed: bool
    failures: list[str]
    rows: int
    result: dict[str, Any]


def validate_output(out: Path, config: PipelineConfig, docs_dir: Path | None) -> list[SuiteOutcome]:
    """Validate the data shards and the ledger of ``out``; write Data Docs to ``docs_dir`` when given."""
    counts = _manifest_counts(out)
    now = datetime.now(UTC).isoformat()
    run = {"run_id": {"run_name": RUN_NAME, "run_time": now}, "validation_time": now}
    context = gx_compat.ephemeral_context(docs_dir)
    with gx_compat.unfingerprinted_batches():
        data_ids, facts = DataIds(), LedgerFacts()
        data = _validate_files(context, data_suite(config), out, data_ids.add)
        ids = data_ids.table()
        data.add_runwide(unique_ids(ids["id"]), row_count(data.rows, counts, "kept"))
        ledger = _validate_files(context, ledger_suite(), out, facts.add)
        ledger.add_runwide(
            unique_ids(facts.ids()),
            row_count(ledger.rows, counts, "inputs"),
            *(row_count(facts.statuses[s.value], counts, s.value, s) for s in Status),
            kept_rows_in_shards(facts.kept(), ids),
        )
    results = [suite.finish(run) for suite in (data, ledger)]
    if docs_dir is not None:
        gx_compat.build_data_docs(context, results)
    return [_outcome(result) for result in results]


def _outcome(result: ExpectationSuiteValidationResult) -> SuiteOutcome:
    return SuiteOutcome(
        name=result.suite_name,
        passed=bool(result.success),
        failures=failure_lines(result),
        rows=result.meta["rows"],
        result=result.to_json_dict(),
    )


def _manifest_counts(out: Path) -> dict[str, int]:
    """``counts`` of ``manifest.json``; empty when there is no readable manifest (its checks then fail)."""
    try:
        counts = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("counts")
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in counts.items() if isinstance(v, int)} if isinstance(counts, dict) else {}


class _BatchValidator:
    """Runs one suite's expectations on one in-memory batch at a time."""

    def __init__(self, context: EphemeralDataContext, spec: SuiteSpec) -> None:
        self.suite = context.suites.add(
            gx.ExpectationSuite(name=spec.name, expectations=list(spec.expectations))
        )
        asset = context.data_sources.add_pandas(spec.name).add_dataframe_asset(spec.files)
        self.batches = asset.add_batch_definition_whole_dataframe(spec.name)

    def validate(self, table: pa.Table) -> ExpectationSuiteValidationResult:
        batch = self.batches.get_batch(batch_parameters={"dataframe": table.to_pandas()})
        return batch.validate(self.suite, result_format=RESULT_FORMAT)


def _validate_files(
    context: EphemeralDataContext, spec: SuiteSpec, out: Path, observe: Observer
) -> SuiteResult:
    validator = _BatchValidator(context, spec)
    merged = SuiteResult(spec.name, spec.files, [str(e.id) for e in validator.suite.expectations])
    files = sorted(out.glob(spec.files))
    for table in _chunks(_record_batches(out, files, spec.columns, observe)):
        merged.add_batch(validator.validate(table), table.num_rows)
    if not merged.batches:  # no files: one empty batch, so that every expectation has a result
        empty = pa.schema([spec.schema.field(c) for c in spec.columns]).empty_table()
        merged.add_batch(validator.validate(empty), 0)
    return merged


def _record_batches(
    out: Path, files: list[Path], columns: Iterable[str], observe: Observer
) -> Iterator[pa.RecordBatch]:
    """Every file's record batches, of those of ``columns`` that the file has, each shown to ``observe``
    with the file's name as the ledger's ``shard`` column gives it (its path relative to ``out``)."""
    for path in files:
        file = pq.ParquetFile(path)
        present = [c for c in columns if c in file.schema_arrow.names]
        name = path.relative_to(out).as_posix()
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=present):
            observe(name, batch)
            yield batch


def _chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """Consecutive batches of one schema joined up to :data:`BATCH_ROWS` rows or :data:`BATCH_BYTES`."""
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in batches:
        if pending and (
            batch.schema != pending[0].schema
            or rows + batch.num_rows > BATCH_ROWS
            or size + batch.nbytes > BATCH_BYTES
        ):
            yield pa.Table.from_batches(pending)
            pending, rows, size = [], 0, 0
        pending.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
    if pending:
        yield pa.Table.from_batches(pending)
