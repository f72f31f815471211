"""Arrow schemas of everything the pipeline writes: data shards, ledger, and the staging area.

One explicit schema per file kind (never inferred from a first batch), so a later
``None`` or a new metadata key can never break a write.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.config import PII_TYPES

PII_COUNTS_TYPE = pa.struct([pa.field(t, pa.int32()) for t in PII_TYPES])
TIMESTAMP_TYPE = pa.timestamp("ms", tz="UTC")  # Parquet has no seconds unit: ms round-trips

# OUT/data/<lang>/part-XXXXX.parquet: HF-datasets compatible.
DATA_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("license", pa.string()),
        pa.field("agreement_id", pa.string()),
        pa.field("retrieved_at", TIMESTAMP_TYPE),
        # provenance from catalogue sources (null for plain files)
        pa.field("publisher", pa.string()),
        pa.field("dataset_id", pa.string()),
        pa.field("policy", pa.string()),  # DSP: the usage-policy decision and the agreed offer's id
        # stage annotations
        pa.field("content_sha256", pa.string()),
        pa.field("pii_counts", PII_COUNTS_TYPE),
    ]
)

# The provenance columns the output contract promises in every data row (DESIGN.md), the first of DATA_SCHEMA.
CONTRACT_COLUMNS = tuple(DATA_SCHEMA.names[:10])

# OUT/ledger/*.parquet: every input document exactly once.
LEDGER_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("n_chars", pa.int64()),
        pa.field("shard", pa.string()),
        pa.field("pii_counts", PII_COUNTS_TYPE),  # redactions per type (extends the contract's columns)
        pa.field("dataset_id", pa.string()),  # catalogue / data-space dataset the record came from
        pa.field("agreement_id", pa.string()),  # the DSP contract agreement it was read under
        pa.field("source_id", pa.string()),  # the record's own id in its source (id field, WARC-Record-ID)
        pa.field("locator", pa.string()),  # where it is in `source_uri`: byte offset, row:N
        pa.field("url", pa.string()),  # the web page, for web records
        pa.field(
            "evidence", pa.string()
        ),  # JSON: what the decision rests on (opt-out signal, read error, ...)
    ]
)

# The staging area between the per-document phase and the writing phase: every
# document with its full metadata, its input position and its dedup keys.
STAGED_SCHEMA = pa.schema(
    [
        *DATA_SCHEMA,
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("order", pa.int64(), nullable=False),
        pa.field("content_type", pa.string()),
        pa.field("content_key", pa.binary()),
        pa.field("minhash", pa.binary()),
        pa.field("line_keys", pa.binary()),
        pa.field("line_words", pa.binary()),
        pa.field("word_hashes", pa.binary()),
        pa.field("extra", pa.string()),  # JSON of any other metadata (e.g. HTTP headers)
    ]
)
