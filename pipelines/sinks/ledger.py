"""The ledger: every input document exactly once, with its fate.

Task ``rank`` of the writing phase writes its rows to ``<ledger_parts>/<rank>.parquet`` and what
it checked to ``<rank>.checks.json`` (ids repeated within the task, which reads one input unit);
the run's finalisation maps part shard names to final ones (see :mod:`pipelines.finalize`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.sinks.batches import BatchedParquetFile
from pipelines.sinks.shards import SHARD
from pipelines.sinks.staging import pii_counts_row
from schemas.document import (
    AGREEMENT_ID,
    DATASET_ID,
    DUPLICATE_OF,
    EVIDENCE,
    LANG,
    LANG_SCORE,
    LOCATOR,
    PII_COUNTS,
    REASON,
    SOURCE_ID,
    SOURCE_URI,
    STATUS,
    URL,
    Status,
)
from schemas.records import LEDGER_SCHEMA

BATCH_ROWS = 8192


def ledger_row(doc: Document) -> dict[str, Any]:
    meta = doc.metadata
    status = Status(meta.get(STATUS, Status.KEPT))
    return {
        "id": doc.id,
        "source_uri": meta.get(SOURCE_URI),
        "status": str(status),
        "reason": meta.get(REASON),
        "duplicate_of": meta.get(DUPLICATE_OF),
        "lang": meta.get(LANG),
        "lang_score": meta.get(LANG_SCORE),
        "n_chars": len(doc.text),
        "shard": meta.get(SHARD) if status == Status.KEPT else None,
        "pii_counts": pii_counts_row(meta.get(PII_COUNTS)),
        "dataset_id": meta.get(DATASET_ID),
        "agreement_id": meta.get(AGREEMENT_ID),
        "source_id": meta.get(SOURCE_ID),
        "locator": meta.get(LOCATOR),
        "url": meta.get(URL),
        "evidence": _evidence(meta.get(EVIDENCE)),
    }


def _evidence(value: Any) -> str | None:
    """A decision's evidence as compact JSON with sorted keys (one column type for every stage's kind)."""
    if not value:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


class LedgerWriter(PipelineStep):
    type = "write"
    name = "ledger"

    def __init__(self, ledger_dir: str):
        super().__init__()
        self.ledger_dir = ledger_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = Path(self.ledger_dir) / f"{rank:05d}.parquet"
        seen: set[str] = set()
        repeated: list[str] = []
        with BatchedParquetFile(path, LEDGER_SCHEMA, BATCH_ROWS) as ledger:
            for doc in data:
                row = ledger_row(doc)
                if doc.id in seen:
                    repeated.append(doc.id)
                seen.add(doc.id)
                ledger.append(row)
                self.stat_update(row["status"])
                yield doc
        checks = {"rows": len(seen) + len(repeated), "repeated_ids": len(repeated)}
        checks["first_repeated_id"] = repeated[0] if repeated else None
        path.with_suffix(".checks.json").write_text(json.dumps(checks))
