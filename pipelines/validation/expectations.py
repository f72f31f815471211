"""The one expectation the gate needs that Great Expectations does not ship: no valid IBAN left in a text.

A pattern alone cannot tell an IBAN from a mistyped one: ``DE26 8024 6025 6763 6101 64`` has the
form of a German IBAN but fails the ISO 13616 check, and the PII stage rightly leaves it (and the
embedded sample holds such numbers on purpose). So the expectation finds candidates with a
conservative pattern, in Arrow's RE2 over the whole column, and flags a text only when a
candidate has its country's registry length at a group boundary and passes the IBAN check —
the rule the PII stage redacts by (:func:`pipelines.stages.pii.iban_is_valid`, python-stdnum's).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from pipelines.stages.pii import IBAN_LENGTHS, iban_is_valid

# Country code, check digits, then groups of four (or compact), ending at a word boundary.
IBAN_CANDIDATE = r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"
_CANDIDATE = re.compile(IBAN_CANDIDATE)


def holds_valid_iban(text: str) -> bool:
    """Whether ``text`` holds an IBAN, compact or in groups, that passes its country's check."""
    for match in _CANDIDATE.finditer(text):
        groups = match.group().split(" ")
        for start in range(len(groups)):
            if _valid_from(groups[start:]):
                return True
    return False


def _valid_from(groups: list[str]) -> bool:
    """Whether the groups, from the first, make up a valid IBAN that ends at a group boundary."""
    length = IBAN_LENGTHS.get(groups[0][:2])
    if length is None or not groups[0][2:4].isdigit():
        return False
    compact = ""
    for group in groups:
        compact += group
        if len(compact) >= length:
            return len(compact) == length and iban_is_valid(compact)
    return False


class ColumnValuesWithoutValidIban(ColumnMapMetricProvider):
    """True for each value that holds no checksum-valid IBAN."""

    condition_metric_name = "column_values.without_valid_iban"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        candidates = pc.fill_null(pc.match_substring_regex(pa.array(column), IBAN_CANDIDATE), False)
        rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
        without = np.ones(len(column), dtype=bool)
        without[rows] = [not holds_valid_iban(text) for text in column.iloc[rows]]
        return pd.Series(without, index=column.index)


class ExpectColumnValuesToNotContainValidIban(ColumnMapExpectation):
    """Expect no value of the column to hold an IBAN with its country's length that passes the IBAN check."""

    map_metric = "column_values.without_valid_iban"
    success_keys = ("mostly",)
