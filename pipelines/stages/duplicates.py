"""Applying the run-wide dedup decisions in the writing phase.

The dedup phase writes one decisions file (``task, id, duplicate_of, reason``); task
``rank`` of the writing phase reads only its own rows and marks those documents as
``duplicate`` of their kept representative.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from connectors.reader import ORDER_TASK_SHIFT
from schemas.document import DUPLICATE_OF, Status, is_kept, set_fate

DECISIONS_SCHEMA = pa.schema(
    [
        pa.field("task", pa.int32()),
        pa.field("id", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("reason", pa.string()),
    ]
)


def write_decisions(duplicates: pa.Table, keys: pa.Table, path: Path) -> int:
    """Attach each duplicate's task (from its input order) and write the decisions; returns the count."""
    orders = keys.select(["id", "order"])
    joined = duplicates.join(orders, "id", join_type="left outer")
    task = pc.shift_right(joined["order"], ORDER_TASK_SHIFT).cast(pa.int32())
    table = pa.table(
        [task, joined["id"], joined["duplicate_of"], joined["reason"]], schema=DECISIONS_SCHEMA
    ).sort_by([("task", "ascending"), ("id", "ascending")])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


class DuplicateMarker(PipelineStep):
    type = "dedup"
    name = "duplicates"

    def __init__(self, decisions_path: str):
        super().__init__()
        self.decisions_path = decisions_path

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        table = pq.read_table(self.decisions_path, filters=[("task", "=", rank)])
        decisions = {
            row["id"]: (row["duplicate_of"], row["reason"])
            for row in table.select(["id", "duplicate_of", "reason"]).to_pylist()
        }
        for doc in data:
            decision = decisions.get(doc.id)
            if decision is not None and is_kept(doc):
                set_fate(doc, Status.DUPLICATE, decision[1], **{DUPLICATE_OF: decision[0]})
                self.stat_update(decision[1])
            yield doc
