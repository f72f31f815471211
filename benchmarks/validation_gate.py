"""Cost of the validation gate per million rows, on a synthetic output folder with the real schemas.

    .venv/bin/python benchmarks/validation_gate.py [--rows 500000] [--chars 2500] [--no-data-docs]

Writes an output folder as a run would: data shards (``DATA_SCHEMA``, zstd, 100k rows each, de/hu/nl/en,
~``--chars`` characters of text per row drawn from the embedded sample's text banks, unique per row,
some with redaction placeholders), ledger parts (``LEDGER_SCHEMA``: every kept row plus a filtered
and a duplicate row for every fifth kept one) and a ``manifest.json`` with the counts and the
config (``configs/sample.yaml``: four languages, every PII type). Then it times
1. the read floor: every column the gate reads, batch by batch, nothing else;
2. :func:`pipelines.validation.run_gate` on the folder (one process, Data Docs included unless
   ``--no-data-docs``),
and prints rows/s, seconds per million data rows and the CPU time (user, system) of both. Numbers
are for one machine on one day: compare runs made side by side. On virtual machines that hand
freed memory back to the host, page faults show up as a large system time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.validation import run_gate  # noqa: E402
from pipelines.validation.passes import BATCH_ROWS  # noqa: E402
from pipelines.validation.suites import data_suite, ledger_suite  # noqa: E402
from samples.texts import BANKS  # noqa: E402
from schemas.config import PipelineConfig, load_config  # noqa: E402
from schemas.records import DATA_SCHEMA, LEDGER_SCHEMA  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LANGS = ("de", "hu", "nl", "en")
SHARD_ROWS = 100_000
POOL = 500  # distinct base texts per language
PLACEHOLDERS = ("<EMAIL>", "<PHONE>", "<IBAN>", "<IP>")


def base_texts(chars: int, rng: random.Random) -> dict[str, list[str]]:
    """``POOL`` texts of about ``chars`` characters per language, from the sample's sentences."""
    texts: dict[str, list[str]] = {}
    for lang in LANGS:
        sentences = [s for topic in BANKS[lang].values() for s in topic]
        pool = []
        for i in range(POOL):
            drawn: list[str] = []
            while sum(map(len, drawn)) < chars:
                drawn.append(rng.choice(sentences))
            if i % 10 == 0:
                drawn.insert(len(drawn) // 2, f"Kontakt: {PLACEHOLDERS[i // 10 % len(PLACEHOLDERS)]}.")
            pool.append(" ".join(drawn))
        texts[lang] = pool
    return texts


def row_id(n: int) -> str:
    return hashlib.sha1(f"bench#{n}".encode()).hexdigest()


def write_output(out: Path, rows: int, chars: int) -> dict[str, int]:
    """A data + ledger + manifest folder with ``rows`` kept documents; the manifest's counts."""
    rng = random.Random(1)
    texts = base_texts(chars, rng)
    ledger: dict[str, list] = {name: [] for name in LEDGER_SCHEMA.names}
    counter = {lang: 0 for lang in LANGS}
    for start in range(0, rows, SHARD_ROWS):
        lang = LANGS[start // SHARD_ROWS % len(LANGS)]
        shard = f"data/{lang}/part-{counter[lang]:05d}.parquet"
        counter[lang] += 1
        n = min(SHARD_ROWS, rows - start)
        ids = [row_id(start + i) for i in range(n)]
        body = [f"{texts[lang][(start + i) % POOL]} ({start + i})" for i in range(n)]
        (out / shard).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            data_table(ids, body, lang, rng), out / shard, compression="zstd", row_group_size=10_000
        )
        for i, (doc_id, text) in enumerate(zip(ids, body, strict=True)):
            add_ledger_row(ledger, doc_id, "kept", None, None, lang, len(text), shard)
            if i % 5 == 0:
                add_ledger_row(
                    ledger, row_id(-start - i - 1), "filtered", "quality:gopher_stop_words", None, lang, 900
                )
                add_ledger_row(
                    ledger,
                    row_id(rows + start + i),
                    "duplicate",
                    "exact_dedup:content_hash",
                    doc_id,
                    lang,
                    len(text),
                )
    table = pa.table(ledger, schema=LEDGER_SCHEMA)
    (out / "ledger").mkdir()
    for part, offset in enumerate(range(0, len(table), 2 * SHARD_ROWS)):
        pq.write_table(
            table.slice(offset, 2 * SHARD_ROWS),
            out / "ledger" / f"part-{part:05d}.parquet",
            compression="zstd",
        )
    statuses = table["status"].to_pylist()
    counts = {status: statuses.count(status) for status in ("kept", "filtered", "duplicate", "quarantined")}
    return {"inputs": len(table), **counts}


def data_table(ids: list[str], texts: list[str], lang: str, rng: random.Random) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": ids,
            "text": texts,
            "lang": [lang] * n,
            "lang_score": pa.array([0.5 + rng.random() / 2 for _ in range(n)], pa.float32()),
            "url": [f"https://bench.example/{lang}/{i}" for i in range(n)],
            "source": ["files"] * n,
            "source_uri": [f"file:///bench/{lang}.jsonl.gz"] * n,
            "license": ["CC-BY-4.0"] * n,
            "agreement_id": pa.nulls(n, pa.string()),
            "retrieved_at": pa.array([1_700_000_000_000] * n, pa.int64()).cast(
                DATA_SCHEMA.field("retrieved_at").type
            ),
            "publisher": pa.nulls(n, pa.string()),
            "dataset_id": pa.nulls(n, pa.string()),
            "policy": pa.nulls(n, pa.string()),
            "content_sha256": [hashlib.sha256(t.encode()).hexdigest() for t in texts],
            "pii_counts": pa.nulls(n, DATA_SCHEMA.field("pii_counts").type),
        },
        schema=DATA_SCHEMA,
    )


def add_ledger_row(
    ledger: dict[str, list],
    doc_id: str,
    status: str,
    reason: str | None,
    duplicate_of: str | None,
    lang: str,
    n_chars: int,
    shard: str | None = None,
) -> None:
    row = {
        "id": doc_id,
        "status": status,
        "reason": reason,
        "duplicate_of": duplicate_of,
        "lang": lang,
        "lang_score": 0.9,
        "n_chars": n_chars,
        "shard": shard,
        "source_uri": "file:///bench",
    }
    for name in LEDGER_SCHEMA.names:
        ledger[name].append(row.get(name))


def read_floor(out: Path, config: PipelineConfig) -> None:
    """Read every column the gate reads, in the gate's batches, and make pandas frames of them."""
    for suite in (data_suite(config), ledger_suite()):
        for path in sorted(out.glob(suite.files)):
            for batch in pq.ParquetFile(path).iter_batches(
                batch_size=BATCH_ROWS, columns=list(suite.columns)
            ):
                batch.to_pandas()


def timed(what: str, rows: int, work: Callable[[], object]) -> object:
    """Run ``work`` and print its wall time, rows/s, seconds per million rows and CPU time."""
    before, start = os.times(), time.perf_counter()
    result = work()
    seconds, after = time.perf_counter() - start, os.times()
    rate, per_million = rows / seconds, seconds * 1e6 / rows
    cpu = f"user {after.user - before.user:.1f} s, system {after.system - before.system:.1f} s"
    print(f"{what:<11} {seconds:7.2f} s {rate:9.0f} rows/s {per_million:6.2f} s/M rows ({cpu})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="kept documents (data rows)")
    parser.add_argument("--chars", type=int, default=2500, help="characters of text per document")
    parser.add_argument("--no-data-docs", action="store_true")
    args = parser.parse_args()
    config = load_config(REPO / "configs" / "sample.yaml")
    validation = config.validation.model_copy(update={"data_docs": not args.no_data_docs})
    config = config.model_copy(update={"validation": validation})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        start = time.perf_counter()
        counts = write_output(out, args.rows, args.chars)
        manifest = {"name": "bench", "counts": counts, "config": config.model_dump(mode="json")}
        (out / "manifest.json").write_text(json.dumps(manifest))
        written_s = time.perf_counter() - start
        print(f"wrote {args.rows} data rows and {counts['inputs']} ledger rows in {written_s:.1f} s")
        timed("read floor", args.rows, lambda: read_floor(out, config))
        result = timed("gate", args.rows, lambda: run_gate(out, config))
    if not result.passed:
        raise SystemExit(f"the gate failed on the synthetic output: {result.first_failure}")
    print("(rows: data rows; the ledger holds 1.4 rows per data row)")


if __name__ == "__main__":
    main()
