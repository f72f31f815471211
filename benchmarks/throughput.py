"""End-to-end throughput of the pipeline against the I/O floor, side by side on the same corpus.

    .venv/bin/python benchmarks/throughput.py [--docs 20000] [--workers 2]

Builds a JSONL.gz corpus from ``../shared/data/lang`` (consecutive lines of one source joined
into ~2.5 KB documents, de/hu/nl/en), then times
1. the I/O floor: read the JSONL.gz files and write zstd Parquet, nothing else;
2. the full pipeline (normalize, language, quality, pii, exact + near dedup, Parquet) through
   the local engine with the same number of workers,
and prints documents/s for both and their ratio. Numbers are ratios on a shared, noisy
machine: compare runs made side by side, not against numbers from another day.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
import time
from itertools import cycle
from pathlib import Path

os.environ.setdefault("LOGURU_LEVEL", "WARNING")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pipelines.runner import run_pipeline  # noqa: E402
from schemas.config import parse_config  # noqa: E402

LANG_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lang"
TARGET_CHARS = 2500


def build_corpus(folder: Path, n_docs: int, n_files: int) -> list[Path]:
    """``n_docs`` documents of ~2.5 KB, round-robin over the four languages, in ``n_files`` files.

    The first documents of a language are consecutive lines of one source; once those are used
    up, documents are random draws of lines from the whole language file (fixed seed), so the
    corpus stays realistic in size without turning into near duplicates of itself.
    """
    documents: dict[str, list[str]] = {}
    lines: dict[str, list[str]] = {}
    for lang in ("de", "hu", "nl", "en"):
        text = (LANG_DIR / f"{lang}.jsonl").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines()]
        lines[lang] = [row["text"] for row in rows]
        docs, current, source = [], [], None
        for row in rows:
            if row["source"] != source or sum(map(len, current)) > TARGET_CHARS:
                if sum(map(len, current)) > 400:
                    docs.append("\n".join(current))
                current, source = [], row["source"]
            current.append(row["text"])
        documents[lang] = docs
    paths = [folder / f"corpus-{i:03d}.jsonl.gz" for i in range(n_files)]
    handles = [gzip.open(p, "wt", encoding="utf-8") for p in paths]  # noqa: SIM115 - closed below
    langs = cycle(documents)
    rng = random.Random(1)
    for i in range(n_docs):
        lang = next(langs)
        k = i // len(documents)
        if k < len(documents[lang]):
            text = documents[lang][k]
        else:
            drawn, size = [], 0
            for line in rng.sample(lines[lang], 200):  # without replacement: no repeated lines
                drawn.append(line)
                size += len(line)
                if size >= TARGET_CHARS:
                    break
            text = "\n".join(drawn)
        handles[i % n_files].write(json.dumps({"text": text, "url": f"https://bench.example/{i}"}) + "\n")
    for handle in handles:
        handle.close()
    return paths


def io_floor(paths: list[Path], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        pq.write_table(pa.Table.from_pylist(records), out / f"{path.stem}.parquet", compression="zstd")
        rows += len(records)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not LANG_DIR.is_dir():
        raise SystemExit(f"needs the real data in {LANG_DIR}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "corpus").mkdir()
        paths = build_corpus(folder / "corpus", args.docs, n_files=max(4, args.workers * 4))

        start = time.perf_counter()
        rows = io_floor(paths, folder / "floor")
        floor_s = time.perf_counter() - start

        config = parse_config(
            {
                "name": "bench",
                "sources": [{"kind": "files", "url": str(folder / "corpus" / "*.jsonl.gz")}],
                "stages": [
                    {"kind": "normalize"},
                    {"kind": "language"},
                    {"kind": "quality"},
                    {"kind": "pii"},
                    {"kind": "exact_dedup"},
                    {"kind": "near_dedup"},
                ],
            }
        )
        start = time.perf_counter()
        result = run_pipeline(config, folder / "out", workers=args.workers)
        full_s = time.perf_counter() - start

    floor_rate = rows / floor_s
    full_rate = result.summary.inputs / full_s
    print(f"documents: {rows}  workers: {args.workers}")
    print(f"I/O floor (1 process):  {floor_s:8.2f} s  {floor_rate:10.0f} docs/s")
    print(f"pipeline ({args.workers} workers):   {full_s:8.2f} s  {full_rate:10.0f} docs/s")
    print(f"pipeline / floor throughput: {full_rate / floor_rate:.3f}")
    top_reasons = dict(result.summary.reasons.most_common(6))
    print(f"kept {result.summary.by_status.get('kept', 0)}, reasons: {top_reasons}")


if __name__ == "__main__":
    main()
