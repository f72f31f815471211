"""One Great Expectations result per suite out of many batches, and the one-line failures read from it.

GX validates each batch of a suite on its own; :class:`SuiteResult` adds the batches up per
expectation (element, missing and unexpected counts add, examples are kept up to GX's 20, a table
expectation keeps the first failing batch's observation) and appends the run-wide results, giving
a result of the same shape as one GX validation over all rows.

Documents are never copied into a result: for an expectation on ``text`` the examples are the
rows' ids, never the text (which may be long, or hold the personal data it was flagged for).
"""

from __future__ import annotations

from typing import Any

from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

TEXT_COLUMNS = frozenset({"text"})
EXAMPLES = 20  # GX's partial_unexpected_count
LINE_EXAMPLES = 3
_EXAMPLE_CHARS = 80


class SuiteResult:
    """The merged result of one suite, built batch by batch, its results in the suite's order."""

    def __init__(self, name: str, asset: str, order: list[str]) -> None:
        self.name = name
        self.asset = asset  # what the suite validated, e.g. ``data/*/*.parquet``
        self._order = {expectation_id: position for position, expectation_id in enumerate(order)}
        self.batches = 0
        self.rows = 0
        self._merged: dict[str, ExpectationValidationResult] = {}
        self._runwide: list[ExpectationValidationResult] = []
        self._meta: dict[str, Any] = {}

    def add_batch(self, result: ExpectationSuiteValidationResult, rows: int) -> None:
        if not self._meta:
            self._meta = {k: v for k, v in dict(result.meta).items() if k != "batch_markers"}
        self.batches += 1
        self.rows += rows
        for one in result.results:
            _drop_documents(one)
            key = str(one.expectation_config.id)
            if key in self._merged:
                _merge(self._merged[key], one)
            else:
                self._merged[key] = one

    def add_runwide(self, *results: ExpectationValidationResult) -> None:
        self._runwide.extend(results)

    def finish(self, meta: dict[str, Any]) -> ExpectationSuiteValidationResult:
        """The suite's result, with ``meta`` (e.g. the run id) added to the first batch's."""
        merged = sorted(self._merged.items(), key=lambda item: self._order.get(item[0], len(self._order)))
        results = [*(result for _, result in merged), *self._runwide]
        for one in results:
            _percentages(one.result or {})
        passed = sum(bool(r.success) for r in results)
        return ExpectationSuiteValidationResult(
            success=passed == len(results),
            results=results,
            suite_name=self.name,
            statistics={
                "evaluated_expectations": len(results),
                "successful_expectations": passed,
                "unsuccessful_expectations": len(results) - passed,
                "success_percent": 100 * passed / len(results) if results else None,
            },
            meta={
                **self._meta,
                **meta,
                "batch_spec": {"data_asset_name": self.asset, "batch_data": "PandasDataFrame"},
                "batches": self.batches,
                "rows": self.rows,
            },
        )


def failure_lines(result: ExpectationSuiteValidationResult) -> list[str]:
    """One line per failed expectation: suite, expectation type and columns, what was observed."""
    return [failure_line(result.suite_name, one) for one in result.results if not one.success]


def failure_line(suite: str, result: ExpectationValidationResult) -> str:
    config = result.expectation_config.to_json_dict()
    kwargs, meta = config["kwargs"], config.get("meta") or {}
    columns = ", ".join(str(kwargs[k]) for k in ("column", "column_A", "column_B") if k in kwargs)
    subject = f"{config['type']}({columns})" if columns else config["type"]
    return f"{suite}: {subject} failed: {_observed(config['type'], kwargs, meta, result)}"


# ---------------------------------------------------------------- merging


def _merge(into: ExpectationValidationResult, other: ExpectationValidationResult) -> None:
    first_failure = into.success and not other.success
    into.success = bool(into.success and other.success)
    if _exception_message(other.exception_info) and not _exception_message(into.exception_info):
        into.exception_info = other.exception_info
    a, b = into.result or {}, other.result or {}
    if "unexpected_count" in a and "unexpected_count" in b:
        for key in ("element_count", "missing_count", "unexpected_count"):
            if key in a or key in b:
                a[key] = (a.get(key) or 0) + (b.get(key) or 0)
        for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
            if key in a or key in b:
                a[key] = [*(a.get(key) or []), *(b.get(key) or [])][:EXAMPLES]
        if "partial_unexpected_counts" in a or "partial_unexpected_counts" in b:
            a["partial_unexpected_counts"] = _add_counts(a.get("partial_unexpected_counts"), b)
    elif first_failure:
        into.result = b


def _add_counts(counts: list[dict] | None, other: dict) -> list[dict]:
    totals: dict[str, dict] = {}
    for entry in [*(counts or []), *(other.get("partial_unexpected_counts") or [])]:
        key = repr(entry["value"])
        totals.setdefault(key, {"value": entry["value"], "count": 0})["count"] += entry["count"]
    return sorted(totals.values(), key=lambda e: -e["count"])[:EXAMPLES]


def _percentages(result: dict) -> None:
    if "unexpected_count" not in result:
        return
    elements, missing, unexpected = (
        result.get(k) or 0 for k in ("element_count", "missing_count", "unexpected_count")
    )
    present = elements - missing
    result["missing_percent"] = 100 * missing / elements if elements else None
    result["unexpected_percent"] = 100 * unexpected / present if present else None
    result["unexpected_percent_total"] = 100 * unexpected / elements if elements else None
    result["unexpected_percent_nonmissing"] = result["unexpected_percent"]


def _drop_documents(result: ExpectationValidationResult) -> None:
    column = result.expectation_config.kwargs.get("column")
    if column not in TEXT_COLUMNS or not result.result:
        return
    result.result.pop("partial_unexpected_list", None)
    result.result.pop("partial_unexpected_counts", None)
    index = result.result.get("partial_unexpected_index_list")
    if index:
        result.result["partial_unexpected_index_list"] = [
            {k: v for k, v in row.items() if k != column} if isinstance(row, dict) else row for row in index
        ]


# ---------------------------------------------------------------- failure lines


def _observed(kind: str, kwargs: dict, meta: dict, result: ExpectationValidationResult) -> str:
    message = _exception_message(result.exception_info)
    if message:
        return f"could not be evaluated: {message}"
    observed = result.result or {}
    where = _condition(kwargs.get("row_condition"))
    if "unexpected_count" in observed:
        count = observed["unexpected_count"]
        what = meta.get("unexpected") or _unexpected(kind, kwargs)
        return f"{count} {'row' if count == 1 else 'rows'} {what}{where}{_examples(kind, kwargs, observed)}"
    if kind == "expect_table_row_count_to_equal":
        rows = observed.get("observed_value")
        return f"{rows} rows{where}, expected {kwargs['value']} ({meta['expected_from']})"
    if kind == "expect_column_to_exist":
        return "no such column"
    return f"observed {_show(observed.get('observed_value'))}"


def _unexpected(kind: str, kwargs: dict) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    bounds = f"[{low}, {high}]" if low is not None and high is not None else None
    outside = f"outside {bounds}" if bounds else f"below {low}" if low is not None else f"above {high}"
    allowed = ", ".join(map(str, kwargs.get("value_set") or []))
    return {
        "expect_column_values_to_be_in_set": f"outside [{allowed}]",
        "expect_column_values_to_not_be_null": "null",
        "expect_column_values_to_be_null": "not null",
        "expect_column_value_lengths_to_be_between": f"with a length {outside}",
        "expect_column_values_to_be_between": outside,
        "expect_column_values_to_match_regex": f"not matching {kwargs.get('regex')!r}",
        "expect_column_values_to_not_match_regex": f"matching {kwargs.get('regex')!r}",
        "expect_column_values_to_be_unique": "with a repeated value",
    }.get(kind, "unexpected")


def _examples(kind: str, kwargs: dict, observed: dict) -> str:
    values = observed.get("partial_unexpected_list") or []
    ids = [
        row.get("id") for row in observed.get("partial_unexpected_index_list") or [] if isinstance(row, dict)
    ]
    if kwargs.get("column") in TEXT_COLUMNS or kind == "expect_column_values_to_not_be_null":
        shown = [f"id {i!r}" for i in ids]
    elif "column_A" in kwargs:
        shown = [f"id {i!r}: {_show(a)} vs {_show(b)}" for i, (a, b) in zip(ids, values, strict=False)]
    else:
        shown = list(dict.fromkeys(_show(v) for v in values))
    return f" (e.g. {', '.join(shown[:LINE_EXAMPLES])})" if shown else ""


def _condition(condition: Any) -> str:
    if not condition:
        return ""
    if isinstance(condition, dict) and condition.get("type") == "comparison":
        return f" where {condition['column']['name']} {condition['operator']} {_show(condition['parameter'])}"
    if isinstance(condition, dict) and condition.get("type") == "nullity":
        return f" where {condition['column']['name']} is {'null' if condition['is_null'] else 'not null'}"
    return f" where {condition}"


def _exception_message(info: dict | None) -> str | None:
    """The first exception message in GX's ``exception_info``, flat or keyed by metric."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "an exception").splitlines()[0]
            return message.removeprefix("Error: ")
    return None


def _show(value: Any) -> str:
    value = value.item() if hasattr(value, "item") else value
    shown = repr(value)
    return shown if len(shown) <= _EXAMPLE_CHARS else shown[: _EXAMPLE_CHARS - 1] + "…"
