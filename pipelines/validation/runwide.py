"""The gate's checks over all rows at once, in pyarrow, recorded as Great Expectations results.

GX validates the shards batch by batch, so whatever spans batches is checked here, on the few
columns it needs, collected while the batches stream past: ids must be unique across all data
shards and across all ledger parts; the ledger must hold as many rows as the run read (the
manifest's ``counts``); and every kept ledger row and every data row must meet by id, with the
ledger's ``shard`` naming the data file that holds the row. Each check becomes an
``ExpectationValidationResult`` of GX's own expectation type (``expect_column_values_to_be_unique``,
``expect_table_row_count_to_equal``, ``expect_column_pair_values_to_be_equal``), so it reads,
serialises and renders in Data Docs like the others.
"""

from __future__ import annotations

from collections import Counter

import great_expectations.expectations as gxe
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.core import ExpectationValidationResult
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from pipelines.validation.results import EXAMPLES
from schemas.document import Status

DATA_SHARD = "data_shard"  # the data file that holds an id, beside the ledger's own `shard`


class DataIds:
    """The id of every data row and the shard it is in (a dictionary index), collected batch by batch."""

    def __init__(self) -> None:
        self._shards: dict[str, int] = {}
        self._ids: list[pa.Array] = []
        self._indices: list[np.ndarray] = []

    def add(self, shard: str, batch: pa.RecordBatch) -> None:
        if "id" in batch.schema.names:
            self._ids.append(batch.column("id"))
            self._indices.append(
                np.full(len(batch), self._shards.setdefault(shard, len(self._shards)), np.int32)
            )

    def table(self) -> pa.Table:
        """``(id, data_shard)`` of every data row."""
        indices = np.concatenate(self._indices) if self._indices else np.empty(0, np.int32)
        shards = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(list(self._shards), pa.string()))
        return pa.table({"id": pa.chunked_array(self._ids, pa.string()), DATA_SHARD: shards})


class LedgerFacts:
    """All ledger ids, the rows per status, and the kept rows' ``(id, shard)``, collected batch by batch."""

    def __init__(self) -> None:
        self._ids: list[pa.Array] = []
        self._kept: list[pa.Table] = []
        self.statuses: Counter[str] = Counter()

    def add(self, part: str, batch: pa.RecordBatch) -> None:
        names = batch.schema.names
        if "id" not in names or "status" not in names:
            return
        self._ids.append(batch.column("id"))
        for row in pc.value_counts(batch.column("status")).to_pylist():
            self.statuses[row["values"]] += row["counts"]
        kept = pc.equal(batch.column("status"), Status.KEPT.value)
        shard = batch.column("shard") if "shard" in names else pa.nulls(len(batch), pa.string())
        self._kept.append(pa.table({"id": batch.column("id"), "shard": shard}).filter(kept))

    def ids(self) -> pa.ChunkedArray:
        return pa.chunked_array(self._ids, pa.string())

    def kept(self) -> pa.Table:
        schema = pa.schema([("id", pa.string()), ("shard", pa.string())])
        return pa.concat_tables([t.cast(schema) for t in self._kept]) if self._kept else schema.empty_table()


def unique_ids(ids: pa.ChunkedArray | pa.Array) -> ExpectationValidationResult:
    """``expect_column_values_to_be_unique(id)`` over all rows; every copy of a repeated id is unexpected."""
    present = pc.drop_null(ids)
    repeated = _repeated(present)
    examples = repeated.slice(0, EXAMPLES)
    return _map_result(
        gxe.ExpectColumnValuesToBeUnique(column="id", meta={"checked": "across all rows, with pyarrow"}),
        element_count=len(ids),
        missing_count=len(ids) - len(present),
        unexpected_count=pc.sum(repeated["id_count"]).as_py() or 0,
        examples=examples["id"].to_pylist(),
        counts=[{"value": row["id"], "count": row["id_count"]} for row in examples.to_pylist()],
    )


def _repeated(ids: pa.ChunkedArray | pa.Array) -> pa.Table:
    """``(id, id_count)`` of every id that occurs more than once (counted only when there is one)."""
    if pc.count_distinct(ids).as_py() == len(ids):
        return pa.table({"id": pa.array([], pa.string()), "id_count": pa.array([], pa.int64())})
    counts = pa.table({"id": ids}).group_by("id").aggregate([("id", "count")])
    return counts.filter(pc.greater(counts["id_count"], 1))


def row_count(
    rows: int, counts: dict[str, int], name: str, status: Status | None = None
) -> ExpectationValidationResult:
    """``expect_table_row_count_to_equal`` the manifest's ``counts[name]``, over all rows or one status."""
    expected = counts.get(name)
    condition = {"row_condition": Column("status") == status.value} if status is not None else {}
    expectation = gxe.ExpectTableRowCountToEqual(
        value=expected or 0, meta={"expected_from": f"manifest.json counts.{name}"}, **condition
    )
    problem = f"manifest.json has no counts.{name}"
    missing = {"raised_exception": True, "exception_message": problem, "exception_traceback": problem}
    return ExpectationValidationResult(
        success=expected is not None and rows == expected,
        expectation_config=expectation.configuration,
        result={"observed_value": rows},
        exception_info=missing if expected is None else None,
    )


def kept_rows_in_shards(kept: pa.Table, data: pa.Table) -> ExpectationValidationResult:
    """``expect_column_pair_values_to_be_equal(shard, data_shard)`` over kept ledger rows and data rows.

    The join is a full outer join by id, so a kept row missing from the data and a data row that
    the ledger does not keep both count, as does a kept row whose ``shard`` names another file.
    """
    joined = kept.join(data, keys="id", join_type="full outer")
    same = pc.fill_null(pc.equal(joined["shard"], joined[DATA_SHARD].cast(pa.string())), False)
    different = joined.filter(pc.invert(same)).slice(0, EXAMPLES)
    pairs = [[row["shard"], row[DATA_SHARD]] for row in different.to_pylist()]
    return _map_result(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="shard",
            column_B=DATA_SHARD,
            meta={
                "checked": "kept ledger rows full-outer-joined with data rows by id, with pyarrow",
                "unexpected": "where the ledger's shard is not the data file that holds the id",
            },
        ),
        element_count=len(joined),
        missing_count=0,
        unexpected_count=len(joined) - (pc.sum(same).as_py() or 0),
        examples=pairs,
        ids=different["id"].to_pylist(),
    )


def _map_result(
    expectation: Expectation,
    element_count: int,
    missing_count: int,
    unexpected_count: int,
    examples: list,
    counts: list[dict] | None = None,
    ids: list[str] | None = None,
) -> ExpectationValidationResult:
    """A result shaped like GX's SUMMARY format for a map expectation (percentages are added when the
    suite's result is finished, :meth:`~pipelines.validation.results.SuiteResult.finish`)."""
    result = {
        "element_count": element_count,
        "missing_count": missing_count,
        "unexpected_count": unexpected_count,
        "partial_unexpected_list": examples,
    }
    if counts is not None:
        result["partial_unexpected_counts"] = counts
    if ids is not None:
        result["partial_unexpected_index_list"] = [{"id": i} for i in ids]
    return ExpectationValidationResult(
        success=unexpected_count == 0, expectation_config=expectation.configuration, result=result
    )
