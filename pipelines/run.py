"""``python -m pipelines.run``: run a pipeline config; no arguments runs the embedded sample.

Exit codes: 0 success, 1 failed run (with ``--strict``: also a run that quarantined a
document), 2 bad config or arguments. A failure prints one line starting with ``error:``
on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

# Task logs belong in the run's log folder; the console shows progress and the summary.
os.environ.setdefault("LOGURU_LEVEL", "WARNING")

import pyarrow.parquet as pq  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from pipelines.engines import ENGINES  # noqa: E402
from pipelines.graph import TITLES  # noqa: E402
from pipelines.runner import (  # noqa: E402
    STAGING_ENV,
    RunError,
    RunResult,
    copy_run_to,
    is_remote,
    run_pipeline,
    staging_folder,
    submit_pipeline,
)
from pipelines.wrapup import read_publish_record  # noqa: E402
from schemas.config import ConfigError, PipelineConfig, load_config, parse_config  # noqa: E402
from schemas.document import Status  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("configs/sample.yaml")
DEFAULT_OUTPUT = Path("out/sample")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.run", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help=f"pipeline config (YAML/JSON); default {DEFAULT_CONFIG}")
    parser.add_argument(
        "--output",
        help="output directory, or an fsspec URL (s3://bucket/prefix: the run is computed in a local staging "
        f"folder, ${STAGING_ENV} or ~/.cache/jaif/runs, then copied there); default out/<config name>",
    )
    parser.add_argument("--engine", choices=sorted(ENGINES), help="execution engine; default from the config")
    parser.add_argument("--workers", type=int, help="parallel worker processes; default from the config")
    parser.add_argument(
        "--limit", type=int, help="read at most N documents in all (spread over the input files)"
    )
    parser.add_argument(
        "--beam-runner", help="beam engine: the runner (FlinkRunner, SparkRunner, DataflowRunner, ...)"
    )
    parser.add_argument(
        "--beam-option",
        action="append",
        default=[],
        metavar="--NAME=VALUE",
        help="beam engine: a pipeline option passed through to the runner (repeatable)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail the run (exit 1) when any document was quarantined; the outputs stay for inspection",
    )
    parser.add_argument(
        "--detach",
        action="store_true",
        help="batch engines: submit the run's jobs, print their ids and return without waiting",
    )
    return parser


def with_beam_overrides(config: PipelineConfig, runner: str | None, options: list[str]) -> PipelineConfig:
    """The config with ``--beam-runner`` / ``--beam-option`` applied to ``engine.beam`` (validated)."""
    if runner is None and not options:
        return config
    data = config.model_dump(mode="json", exclude_unset=True)
    beam = data.setdefault("engine", {}).setdefault("beam", {})
    if runner is not None:
        beam["runner"] = runner
    beam["options"] = [*beam.get("options", []), *options]
    return parse_config(data, origin="--beam-runner/--beam-option")


def _default_config() -> Path:
    """``configs/sample.yaml`` here, or in the project checkout this package runs from."""
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else PROJECT_ROOT / DEFAULT_CONFIG


def summary_table(result: RunResult) -> Table:
    summary = result.summary
    statuses = [str(s) for s in Status]
    table = Table(title=f"{summary.inputs} documents in {result.seconds:.1f} s → {result.output}")
    table.add_column("language")
    table.add_column("in", justify="right")
    for status in statuses:
        table.add_column(status, justify="right")
    rows: list[tuple[str, Counter[str]]] = []
    others: Counter[str] = Counter()
    other_langs = 0
    for lang, counts in sorted(summary.by_lang.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        if counts.get(Status.KEPT) or lang == "und":
            rows.append((lang, counts))
        else:
            others.update(counts)
            other_langs += 1
    if other_langs:
        rows.append((f"{other_langs} other languages", others))
    for lang, counts in rows:
        table.add_row(lang, str(sum(counts.values())), *(str(counts.get(s, 0)) for s in statuses))
    table.add_section()
    table.add_row(
        "all", str(summary.inputs), *(str(summary.by_status.get(s, 0)) for s in statuses), style="bold"
    )
    return table


def reasons_table(result: RunResult, top: int = 12) -> Table:
    table = Table(title="why documents were not kept")
    table.add_column("reason")
    table.add_column("documents", justify="right")
    for reason, count in result.summary.reasons.most_common(top):
        table.add_row(reason, str(count))
    return table


def dataset_lines(result: RunResult) -> list[str]:
    """One line per catalogue / data-space dataset: the policy decision and what was read from it."""
    lines = []
    for entry in result.summary.datasets:
        if entry["decision"] == "allow":
            counts = f"{entry.get('documents_in', 0)} documents, {entry.get('documents_kept', 0)} kept"
            lines.append(f"dataset {entry['dataset_id']}: agreement {entry.get('agreement_id')}, {counts}")
        else:
            lines.append(f"dataset {entry['dataset_id']}: {entry['decision']}, not read: {entry['reason']}")
    return lines


def wrap_up_lines(out: Path) -> list[str]:
    """What the gate found and where the run was published, when those phases ran."""
    lines = []
    gate = out / "validation" / "summary.json"
    if gate.is_file():
        verdict = json.loads(gate.read_text())
        if verdict["passed"]:
            lines.append(f"validation: passed ({', '.join(verdict['suites'])})   results: {gate.parent}")
        else:
            lines.append(
                f"validation: FAILED (not failing the run: validation.fail_run is false): "
                f"{verdict['failures'][0]}"
            )
    published = read_publish_record(out)
    if published is not None:
        lines.append(f"published: {published['url'] or published['target']} ({published['files']} files)")
    return lines


def strict_failure(result: RunResult, top: int = 3) -> str | None:
    """The ``--strict`` error line when the run quarantined documents (most frequent reasons first)."""
    quarantined = result.summary.by_status.get(Status.QUARANTINED, 0)
    if not quarantined:
        return None
    ledger = pq.read_table(result.output / "ledger", columns=["status", "reason"])
    reasons = Counter(
        reason or "unknown"
        for status, reason in zip(ledger["status"].to_pylist(), ledger["reason"].to_pylist(), strict=True)
        if status == Status.QUARANTINED
    )
    listed = ", ".join(f"{reason} ({count})" for reason, count in reasons.most_common(top))
    noun = "document" if quarantined == 1 else "documents"
    return f"error: {quarantined} {noun} quarantined (strict): top reasons {listed}"


INTERRUPTED = "error: interrupted; the same command resumes the run (tasks that completed are kept)"


def _answer_interrupts() -> None:
    """Ctrl-C reaches this process whatever its parent left behind: a parent that ignored SIGINT
    (a job started in the background by a script) or blocked it passes that on, and Python then
    raises no KeyboardInterrupt, so the run would go on to the end."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    """The CLI; Ctrl-C stops the run with one line (exit 130), leaving it resumable."""
    _answer_interrupts()
    try:
        return _main(argv)
    except KeyboardInterrupt:
        Console(stderr=True).print(INTERRUPTED, markup=False, soft_wrap=True)
        return 130


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    err = Console(stderr=True)
    if args.workers is not None and args.workers < 1:
        err.print("error: --workers must be at least 1", markup=False)
        return 2
    if args.limit is not None and args.limit < 0:
        err.print("error: --limit must not be negative", markup=False)
        return 2
    config_path = args.config or _default_config()
    try:
        config = with_beam_overrides(load_config(config_path), args.beam_runner, args.beam_option)
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    remote = args.output if args.output and is_remote(args.output) else None
    output = staging_folder(remote) if remote else Path(args.output or Path("out") / config.name)

    console = Console()
    if args.detach and args.strict:
        err.print("error: --strict needs the finished run; it cannot be combined with --detach")
        return 2
    if args.detach and remote:
        err.print("error: --detach needs a local --output (a remote one is copied when the run is done)")
        return 2
    if args.detach:
        try:
            submitted = submit_pipeline(
                config, output, workers=args.workers, limit=args.limit, engine_kind=args.engine
            )
        except RunError as exc:
            err.print(f"error: {exc}", markup=False, soft_wrap=True)
            return 1
        for phase, job in submitted.jobs.items():
            console.print(f"{phase:18s} {job or 'complete, not resubmitted'}", markup=False)
        console.print(
            "submitted; the same command without --detach waits for these jobs, checks the outputs "
            f"and moves them into {submitted.output}",
            markup=False,
            soft_wrap=True,
        )
        return 0
    columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # The display's refresh thread starts with the first phase: a driver that runs no other thread
    # when the engine prepares can fork its workers' fork server (pipelines.engines.forkserver_compat).
    progress = Progress(*columns, console=console, transient=False)
    bars: dict[str, int] = {}

    def report(phase: str, done: int, total: int) -> None:
        if not bars:
            progress.start()
        if phase not in bars:
            bars[phase] = progress.add_task(TITLES.get(phase, phase), total=total)
        progress.update(bars[phase], completed=done, total=total)

    try:
        try:
            result = run_pipeline(
                config,
                output,
                workers=args.workers,
                limit=args.limit,
                engine_kind=args.engine,
                progress=report,
            )
        finally:
            progress.stop()
        copied = copy_run_to(result.output, remote) if remote else None
    except RunError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 1
    console.print(summary_table(result))
    for line in [*dataset_lines(result), *wrap_up_lines(result.output)]:
        console.print(line, markup=False, soft_wrap=True)
    if result.summary.reasons:
        console.print(reasons_table(result))
    if any(result.summary.pii.values()):
        redactions = ", ".join(f"{t} {n}" for t, n in result.summary.pii.items() if n)
        console.print(f"PII redacted in kept documents: {redactions}", markup=False)
    where = remote.rstrip("/") if remote else str(result.output)
    console.print(
        f"data: {where}/data   ledger: {where}/ledger   manifest: {where}/manifest.json   report: "
        f"{where}/report.html",
        markup=False,
        soft_wrap=True,
    )
    if copied is not None:
        line = f"copied {copied.files} files from {result.output} to {remote}"
        console.print(line, markup=False, soft_wrap=True)
    if args.strict and (failure := strict_failure(result)) is not None:
        err.print(failure, markup=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
