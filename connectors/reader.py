"""The pipeline's first step: task ``rank`` reads input unit ``rank`` and yields documents.

Every record becomes a document, usable or not: records a format reader could not
use carry their fate (``quarantined`` / ``filtered`` with an ``input:*`` reason) and
travel to the ledger like any other document. The number of documents read per
task is written next to the run's staging area for the conservation check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from connectors.base import InputUnit
from connectors.formats import RawRecord, RecordFields, read_records
from schemas.document import (
    CONTENT_SHA256,
    CONTENT_TYPE,
    EVIDENCE,
    LICENSE,
    LOCATOR,
    ORDER,
    REASON,
    RETRIEVED_AT,
    SOURCE,
    SOURCE_ID,
    SOURCE_URI,
    STATUS,
    URL,
    Status,
    document_id,
)

ORDER_TASK_SHIFT = 40  # order = task << 40 | sequence: input order across all tasks


class SourceReader(PipelineStep):
    type = "read"
    name = "source"

    def __init__(self, units: list[InputUnit], limits: list[int | None], counts_dir: str):
        super().__init__()
        self.units = units
        self.limits = limits
        self.counts_dir = counts_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        unit, limit = self.units[rank], self.limits[rank]
        read = 0
        if limit != 0:
            for record in self._records(unit):
                yield self._document(unit, record, (rank << ORDER_TASK_SHIFT) | read)
                read += 1
                self.stat_update("documents")
                if limit is not None and read >= limit:
                    break
        counts = Path(self.counts_dir)
        counts.mkdir(parents=True, exist_ok=True)
        (counts / f"{rank:05d}.json").write_text(
            json.dumps({"uri": unit.uri, "start": unit.start, "documents": read})
        )

    @staticmethod
    def _records(unit: InputUnit) -> Iterator[RawRecord]:
        try:
            options = unit.read_options()
        except PermissionError as exc:  # the granted access is not in this task's environment
            yield RawRecord(
                locator=str(unit.start),
                fate=(Status.QUARANTINED, "input:no_access"),
                extra={EVIDENCE: {"error": str(exc)}},
            )
            return
        yield from read_records(
            unit.read_url,
            unit.format,
            RecordFields(unit.text_field, unit.id_field),
            start=unit.start,
            end=unit.end,
            storage_options=options,
            retries=unit.retries,
            limits=unit.limits,
        )

    def _document(self, unit: InputUnit, record: RawRecord, order: int) -> Document:
        status, reason = record.fate or (Status.KEPT, None)
        metadata = {
            **unit.provenance,  # unit-level provenance, e.g. a catalogue's publisher and dataset id
            SOURCE: unit.connector,
            SOURCE_URI: unit.uri,
            URL: record.url,
            LICENSE: record.license or unit.license,
            RETRIEVED_AT: record.retrieved_at or unit.retrieved_at,
            CONTENT_SHA256: record.content_sha256,
            CONTENT_TYPE: record.content_type,
            SOURCE_ID: record.source_id,
            LOCATOR: record.locator,
            STATUS: status,
            REASON: reason,
            ORDER: order,
            **record.extra,
        }
        return Document(text=record.text, id=document_id(unit.uri, record.locator), metadata=metadata)
