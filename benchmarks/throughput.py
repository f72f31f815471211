"""End-to-end throughput of the pipeline against the I/O floor, side by side on the same corpus.

    .venv/bin/python benchmarks/throughput.py [--docs 20000] [--workers 2]

Builds a JSONL.gz corpus of web pages as extracted text (:func:`build_corpus`: ~2.5 KB articles
made from the lines of ``../shared/data/lang``, de/hu/nl/en, under their sites' chrome), then times
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


SITES_PER_LANGUAGE = 8
MENU_ITEMS = 10  # per site: one or two words each
TEASERS = 8  # per site: headlines of five to nine words
FOOTER_ITEMS = 5  # per site, plus its copyright line


def _site_chrome(rng: random.Random, site: str, sentences: list[list[str]]) -> tuple[list[str], list[str]]:
    """A site's header lines (menu items, teaser headlines) and footer lines, from its language's words."""
    words = [w for s in sentences for w in s if w.isalpha() and len(w) >= 4]
    menu = [" ".join(rng.sample(words, rng.randint(1, 2))).capitalize() for _ in range(MENU_ITEMS)]
    teasers = []
    for _ in range(TEASERS):
        sentence = rng.choice([s for s in sentences if len(s) >= 9])
        teasers.append(" ".join(sentence[: rng.randint(5, 9)]).rstrip(",;:"))
    footer = [rng.choice(words).capitalize() for _ in range(FOOTER_ITEMS)]
    return menu + teasers, [*footer, f"© 2026 {site}"]


def _spliced(rng: random.Random, sentences: list[list[str]]) -> str:
    """A new sentence: the start of one real sentence (up to a word boundary) and the end of another."""
    head, tail = rng.choice(sentences), rng.choice(sentences)
    return " ".join(head[: rng.randint(1, len(head))] + tail[rng.randrange(len(tail)) :])


def build_corpus(folder: Path, n_docs: int, n_files: int) -> list[Path]:
    """``n_docs`` web pages of ~2.5 KB as extracted text, round-robin over the four languages, in
    ``n_files`` JSONL.gz files (``text``, ``url``). The same corpus feeds both sides of a comparison.

    A page is an article on one of :data:`SITES_PER_LANGUAGE` sites of its language, under a random
    selection of that site's chrome: a few of its menu items and teaser headlines above the article,
    a few footer lines and the copyright line below (about a fifth of a page's lines and a twentieth of
    its characters; the line statistics of near dedup set them aside). The first articles of a
    language are consecutive lines of one source of ``../shared/data/lang``; once those are used up,
    an article is sentences each made of the start of one real sentence and the end of another
    (fixed seed), so that its lines are its own, as an article's are, rather than lines that recur in
    thousands of documents (the language data has 2,000-4,000 lines per language).
    """
    rng = random.Random(1)
    documents: dict[str, list[str]] = {}
    sentences: dict[str, list[list[str]]] = {}
    chrome: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    for lang in ("de", "hu", "nl", "en"):
        text = (LANG_DIR / f"{lang}.jsonl").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines()]
        sentences[lang] = [row["text"].split() for row in rows if row["text"].split()]
        docs, current, source = [], [], None
        for row in rows:
            if row["source"] != source or sum(map(len, current)) > TARGET_CHARS:
                if sum(map(len, current)) > 400:
                    docs.append(current)
                current, source = [], row["source"]
            current.append(row["text"])
        documents[lang] = docs
        sites = [f"www.{lang}-news-{k}.example" for k in range(SITES_PER_LANGUAGE)]
        chrome[lang] = [(site, *_site_chrome(rng, site, sentences[lang])) for site in sites]
    paths = [folder / f"corpus-{i:03d}.jsonl.gz" for i in range(n_files)]
    # zlib's default level: gzip's own (9) spent more time than making the documents
    handles = [gzip.open(p, "wt", encoding="utf-8", compresslevel=6) for p in paths]  # noqa: SIM115
    langs = cycle(documents)
    for i in range(n_docs):
        lang = next(langs)
        k = i // len(documents)
        if k < len(documents[lang]):
            article = documents[lang][k]
        else:
            article, size = [], 0
            while size < TARGET_CHARS:
                article.append(_spliced(rng, sentences[lang]))
                size += len(article[-1]) + 1
        site, header, footer = rng.choice(chrome[lang])
        top = rng.sample(header, rng.randint(2, 5))
        bottom = [*rng.sample(footer[:-1], rng.randint(0, 2)), footer[-1]]
        text = "\n".join([*top, *article, *bottom])
        handles[i % n_files].write(json.dumps({"text": text, "url": f"https://{site}/{i}"}) + "\n")
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
                "validation": {"enabled": False},  # the gate has its own benchmark
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
