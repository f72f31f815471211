"""The document vocabulary shared by connectors, stages, engines and sinks.

A document is datatrove's ``Document(text, id, metadata)``. Every document that a
connector reads travels through every stage to the ledger: a stage never drops a
document, it sets its ``status`` and ``reason`` instead (see :func:`set_fate`), and
later stages leave documents that are no longer kept alone.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from datatrove.data import Document


class Status(StrEnum):
    """The fate of an input document, as recorded in the ledger."""

    KEPT = "kept"
    FILTERED = "filtered"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


# Metadata keys (provenance, from DESIGN.md's document contract).
SOURCE = "source"  # connector name, e.g. "files"
SOURCE_URI = "source_uri"  # the file / object / dataset the record came from
RETRIEVED_AT = "retrieved_at"  # ISO-8601 UTC time the content was retrieved (crawl date, object mtime)
LICENSE = "license"
AGREEMENT_ID = "agreement_id"  # DSP contract agreement
POLICY = "policy"  # ODRL decision
URL = "url"  # the web address of the page, when there is one
PUBLISHER = "publisher"  # who published the dataset (catalogue sources, e.g. a CKAN organisation)
DATASET_ID = "dataset_id"  # the catalogue's id of the dataset the document belongs to
CONTENT_SHA256 = "content_sha256"  # sha256 of the raw record payload as read
SOURCE_ID = "source_id"  # the record's own id in its source (JSONL/Parquet id field, WARC-Record-ID)
LOCATOR = "locator"  # where the record is in its file: byte offset, ``row:N``
EVIDENCE = "evidence"  # what a decision rests on, e.g. the opt-out signal, a read error

# Curation keys.
STATUS = "status"
REASON = "reason"
DUPLICATE_OF = "duplicate_of"
LANG = "lang"
LANG_SCORE = "lang_score"
CONTENT_TYPE = "content_type"  # "html" (needs extract) or "text"
PII_COUNTS = "pii_counts"  # {"email": 2, "phone": 1, ...}
ORDER = "order"  # (task, sequence) position in input order; the dedup tie-break
CONTENT_KEY = "content_key"  # 16-byte hash of the dedup-normalised text (exact dedup)
MINHASH = "minhash"  # MinHash signature, little-endian uint32 values (near dedup)
LINE_KEYS = "line_keys"  # per line of the text, its boilerplate key (uint64, little-endian)
LINE_WORDS = "line_words"  # per line of the text, how many of its words it carries (uint32, little-endian)
WORD_HASHES = "word_hashes"  # every word of the text, its hash (uint64, little-endian; stages.tokens)


def document_id(source_uri: str, locator: str | int) -> str:
    """Stable id from source identity: sha1 of ``source_uri#locator`` (record offset, row, line)."""
    return hashlib.sha1(f"{source_uri}#{locator}".encode()).hexdigest()


def is_kept(doc: Document) -> bool:
    return doc.metadata.get(STATUS, Status.KEPT) == Status.KEPT


def set_fate(doc: Document, status: Status, reason: str, **extra: Any) -> None:
    """Record why a document leaves the kept set; ``reason`` is ``stage:rule``."""
    if ":" not in reason:
        raise ValueError(f"reason must be 'stage:rule', got {reason!r}")
    doc.metadata[STATUS] = status
    doc.metadata[REASON] = reason
    doc.metadata.update(extra)
