"""Memory and speed of a run as the corpus grows: every process stays flat in corpus size.

    .venv/bin/python benchmarks/scale.py [--docs 100000 300000 1000000] [--workers 2] [--docs-per-file 10000]

For each size it builds a corpus of web pages (``throughput.build_corpus``: ~2.5 KB articles made
from the lines of ``../shared/data/lang``, de/hu/nl/en, under the chrome of 32 sites) in files of
``--docs-per-file`` documents, plus, in extra files, an exact copy of every 20th document and a
near copy (a line from its middle dropped; its last line is site chrome) of every 20th document
after that, so dedup has cross-file clusters to find (~10 % duplicates). It then runs the pipeline
(normalize, language, quality, pii, exact + near dedup without site boilerplate, Parquet:
``speed_vs_datatrove.curation_config``) with the local engine and samples ``/proc`` every 0.2 s:
the driver's RSS, and for each phase (the boilerplate phases ``dedup-lines`` and ``dedup-sign``
included) the largest RSS and the largest private memory (USS: pages no other process shares,
i.e. not the language models that the fork server loaded once for all workers) among the
processes running the phase's tasks, and the fork server's own RSS (the models, loaded once).
Memory that grew with the corpus would show as a column growing with the rows.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("LOGURU_LEVEL", "WARNING")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_datatrove import _descendants, curation_config  # noqa: E402
from throughput import LANG_DIR, build_corpus  # noqa: E402

from pipelines.runner import run_pipeline  # noqa: E402


def is_fork_server(pid: int, driver: int) -> bool:
    """The fork server is the driver's child running multiprocess's forkserver, or a fork of the
    driver (its command line); its workers, forked from it, carry the same command line but have it
    as their parent."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        own = Path(f"/proc/{driver}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return parent == driver and (b"forkserver" in command or command == own)


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, USS) of ``pid`` in MB; zeros when it has gone."""
    try:
        rows = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
        fields = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in rows)}
    except (OSError, ValueError):
        return 0.0, 0.0
    return fields["Rss"] / 1024, (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024


class PhaseMemory(threading.Thread):
    """Peak memory per phase (the phase the engine last reported progress for) and of the driver."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.phase = "plan"
        self.peaks: dict[str, dict[str, float]] = {}
        self.driver = 0.0
        self.fork_server = 0.0
        self._halt = threading.Event()

    def report(self, phase: str, done: int, total: int) -> None:
        """The engine's progress callback; sampling starts with the first phase, so that the driver
        runs no thread of ours when the engine starts its fork server (as from the CLI)."""
        self.phase = phase
        if not self.is_alive():
            self.start()

    def run(self) -> None:
        me = os.getpid()
        while not self._halt.wait(self.interval):
            driver = memory_mb(me)[0]
            self.driver = max(self.driver, driver)
            peak = self.peaks.setdefault(self.phase, {"rss": 0.0, "uss": 0.0, "driver": 0.0})
            peak["driver"] = max(peak["driver"], driver)
            for pid in _descendants(me):
                rss, uss = memory_mb(pid)
                if is_fork_server(pid, me):  # holds the preloaded models; its children share them
                    self.fork_server = max(self.fork_server, rss)
                    continue
                peak["rss"], peak["uss"] = max(peak["rss"], rss), max(peak["uss"], uss)

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join()


def without_middle_line(text: str) -> str:
    lines = text.split("\n")
    del lines[len(lines) // 2]
    return "\n".join(lines)


def add_duplicates(folder: Path) -> int:
    """Exact and near copies of every 20th document, in their own files; returns how many."""
    added = 0
    for path in sorted(folder.glob("corpus-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as source:
            rows = [json.loads(line) for line in source]
        copies = [{"text": r["text"]} for r in rows[::20]]
        copies += [{"text": without_middle_line(r["text"])} for r in rows[10::20] if "\n" in r["text"]]
        copies_path = folder / path.name.replace("corpus-", "copies-")
        with gzip.open(copies_path, "wt", encoding="utf-8", compresslevel=6) as out:
            out.writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in copies)
        added += len(copies)
    return added


def run_size(docs: int, workers: int, per_file: int, tmp: Path) -> dict[str, object]:
    corpus = tmp / f"corpus-{docs}"
    corpus.mkdir()
    # built by a child process, so that the driver's memory is the run's alone
    build = [sys.executable, __file__, "--build", str(corpus), "--docs", str(docs)]
    build += ["--docs-per-file", str(per_file)]
    total = int(subprocess.run(build, check=True, capture_output=True, text=True).stdout.split()[-1])
    config = curation_config("scale", str(corpus / "*.jsonl.gz"))
    sampler = PhaseMemory()
    start = time.perf_counter()
    result = run_pipeline(config, tmp / f"out-{docs}", workers=workers, progress=sampler.report)
    seconds = time.perf_counter() - start
    sampler.stop()
    return {
        "docs": total,
        "seconds": seconds,
        "duplicates": result.summary.by_status.get("duplicate", 0),
        "driver": sampler.driver,
        "fork_server": sampler.fork_server,
        "phases": sampler.peaks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docs-per-file", type=int, default=10_000)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_corpus(args.build, args.docs[0], n_files=max(1, args.docs[0] // args.docs_per_file))
        print(args.docs[0] + add_duplicates(args.build))
        return
    if not LANG_DIR.is_dir():
        raise SystemExit(f"needs the real data in {LANG_DIR}")
    results = []
    for docs in args.docs:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_size(docs, args.workers, args.docs_per_file, Path(tmp)))
        r = results[-1]
        print(
            f"{r['docs']:>9,d} docs  {r['seconds']:7.1f} s  {r['docs'] / r['seconds']:6.0f} docs/s  "
            f"duplicates {r['duplicates']:,d}  driver {r['driver']:5.0f} MB  "
            f"fork server {r['fork_server']:5.0f} MB",
            flush=True,
        )
        for phase, peak in r["phases"].items():
            print(
                f"    {phase:18s} max RSS {peak['rss']:6.0f} MB   max USS {peak['uss']:6.0f} MB   "
                f"driver {peak['driver']:6.0f} MB",
                flush=True,
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
