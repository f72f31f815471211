"""The staging area between the curation phase and the writing phase.

Task ``rank`` of the curation phase writes every document it saw, whatever its
status, to ``<staging>/<rank>.parquet`` with :data:`STAGED_SCHEMA`; the dedup phase
reads the ids and signatures of dedup candidates from it; the writing phase reads the same
file back as documents, in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.sinks.batches import BatchedParquetFile
from schemas.config import PII_TYPES
from schemas.document import (
    AGREEMENT_ID,
    CONTENT_KEY,
    CONTENT_SHA256,
    CONTENT_TYPE,
    DATASET_ID,
    LANG,
    LANG_SCORE,
    LICENSE,
    LINE_KEYS,
    LINE_WORDS,
    MINHASH,
    ORDER,
    PII_COUNTS,
    POLICY,
    PUBLISHER,
    REASON,
    RETRIEVED_AT,
    SOURCE,
    SOURCE_URI,
    STATUS,
    URL,
    WORD_HASHES,
    Status,
)
from schemas.records import STAGED_SCHEMA

BATCH_ROWS = 2048
# Metadata stored in its own column; everything else goes to the JSON column `extra`.
# The data columns (DATA_SCHEMA, besides id and text) ...
_DATA_COLUMNS = {
    "lang": LANG,
    "lang_score": LANG_SCORE,
    "url": URL,
    "source": SOURCE,
    "source_uri": SOURCE_URI,
    "license": LICENSE,
    "agreement_id": AGREEMENT_ID,
    "retrieved_at": RETRIEVED_AT,
    "publisher": PUBLISHER,
    "dataset_id": DATASET_ID,
    "policy": POLICY,
    "content_sha256": CONTENT_SHA256,
    "pii_counts": PII_COUNTS,
}
# ... and the columns only the staging area has.
_COLUMNS = {
    **_DATA_COLUMNS,
    "status": STATUS,
    "reason": REASON,
    "order": ORDER,
    "content_type": CONTENT_TYPE,
    "content_key": CONTENT_KEY,
    "minhash": MINHASH,
    "line_keys": LINE_KEYS,
    "line_words": LINE_WORDS,
    "word_hashes": WORD_HASHES,
}
_STRUCTURED = set(_COLUMNS.values())
# Staging columns only the dedup tasks read: the writing phase leaves them out.
DEDUP_COLUMNS = frozenset({"content_key", "minhash", "line_keys", "line_words", "word_hashes"})


def staged_path(staging_dir: str | Path, rank: int) -> Path:
    return Path(staging_dir) / f"{rank:05d}.parquet"


def _timestamp(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def pii_counts_row(value: dict[str, int] | None) -> dict[str, int] | None:
    if not value:
        return None
    return {t: int(value.get(t, 0)) for t in PII_TYPES}


def data_row(doc: Document) -> dict[str, Any]:
    """The :data:`DATA_SCHEMA` columns of a document: what data shards and WebDataset metadata hold."""
    meta = doc.metadata
    row = {column: meta.get(key) for column, key in _DATA_COLUMNS.items()}
    row["id"] = doc.id
    row["text"] = doc.text
    row["retrieved_at"] = _timestamp(row["retrieved_at"])
    row["pii_counts"] = pii_counts_row(row["pii_counts"])
    return row


def document_row(doc: Document) -> dict[str, Any]:
    """A staging row: the data columns, the staging-only columns, and every other key as JSON."""
    meta = doc.metadata
    row = data_row(doc)
    row.update({column: meta.get(key) for column, key in _COLUMNS.items() if column not in _DATA_COLUMNS})
    row["status"] = str(meta.get(STATUS, Status.KEPT))
    extra = {k: v for k, v in meta.items() if k not in _STRUCTURED}
    row["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False, default=str) if extra else None
    return row


def row_document(row: dict[str, Any]) -> Document:
    metadata = {key: row[column] for column, key in _COLUMNS.items() if row.get(column) is not None}
    metadata[STATUS] = Status(row["status"])
    metadata.setdefault(REASON, None)
    if isinstance(metadata.get(RETRIEVED_AT), datetime):
        metadata[RETRIEVED_AT] = metadata[RETRIEVED_AT].isoformat()
    if row["extra"]:
        metadata.update(json.loads(row["extra"]))
    return Document(text=row["text"], id=row["id"], metadata=metadata)


class StagedWriter(PipelineStep):
    """Last step of the curation phase: every document, any status, into the staging area."""

    type = "write"
    name = "staging"

    def __init__(self, staging_dir: str):
        super().__init__()
        self.staging_dir = staging_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with BatchedParquetFile(staged_path(self.staging_dir, rank), STAGED_SCHEMA, BATCH_ROWS) as staged:
            for doc in data:
                staged.append(document_row(doc))
                yield doc


def read_staged(staging_dir: str | Path, rank: int) -> Iterator[Document]:
    """The documents curation task ``rank`` staged, in order, without their dedup keys
    (:data:`DEDUP_COLUMNS`)."""
    parquet = pq.ParquetFile(staged_path(staging_dir, rank))
    columns = [name for name in STAGED_SCHEMA.names if name not in DEDUP_COLUMNS]
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        for row in batch.to_pylist():
            yield row_document(row)


class StagedReader(PipelineStep):
    """First step of the writing phase: task ``rank`` reads back what curation task ``rank`` staged."""

    type = "read"
    name = "staging"

    def __init__(self, staging_dir: str):
        super().__init__()
        self.staging_dir = staging_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from read_staged(self.staging_dir, rank)
