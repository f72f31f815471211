"""One run of a pipeline config, on any engine.

The driver plans the input units, prepares the output folder, plans the run's phases
(:mod:`pipelines.graph`) and hands them to the engine; it does no phase's work itself. The
summary it returns is read back from the manifest that the finalize phase wrote.
The units, and so the tasks, depend only on the input: the same input and config give the
same ids, the same dedup decisions and byte-identical data files for any number of workers.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors import dcat, files
from connectors.files import InputUnit, SourceError
from pipelines.engines import make_engine
from pipelines.engines.base import PhaseFailed, PhaseProgress
from pipelines.finalize import FAILURE_FILE, RunSummary
from pipelines.graph import WORK, plan_phases
from schemas.config import PipelineConfig

# Paths a run writes into its output directory (and clears before it starts again).
RUN_OUTPUTS = ("data", "webdataset", "ledger", "logs", WORK, "manifest.json")


class RunError(RuntimeError):
    """A run that failed; the message is one line for the operator."""


@dataclass
class RunResult:
    output: Path
    summary: RunSummary
    seconds: float


def prepare_output(out: Path) -> None:
    """Clear a previous run's outputs; refuse a non-empty folder that holds something else."""
    if out.exists() and not out.is_dir():
        raise RunError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not ((out / "manifest.json").exists() or (out / WORK).exists()):
            raise RunError(
                f"output directory {out} is not empty and holds no previous run; choose another --output"
            )
        for name in RUN_OUTPUTS:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (out / WORK).mkdir(parents=True, exist_ok=True)


# Each connector module plans its kind of source: plan(source, source_index) -> list[InputUnit].
PLANNERS: dict[str, Callable[[Any, int], list[InputUnit]]] = {"files": files.plan, "dcat": dcat.plan}


def plan_units(config: PipelineConfig) -> list[InputUnit]:
    units = [unit for i, source in enumerate(config.sources) for unit in PLANNERS[source.kind](source, i)]
    owner: dict[str, int] = {}
    unique = []
    for unit in units:  # a file matched by two sources is read once, as the first source planned it
        if owner.setdefault(unit.uri, unit.source_index) == unit.source_index:
            unique.append(unit)
    return unique


def run_pipeline(
    config: PipelineConfig,
    output: Path,
    workers: int | None = None,
    limit: int | None = None,
    engine_kind: str | None = None,
    progress: PhaseProgress | None = None,
) -> RunResult:
    started = time.monotonic()
    started_unix = time.time()
    output = output.resolve()
    try:
        units = plan_units(config)
    except SourceError as exc:
        raise RunError(str(exc)) from None
    prepare_output(output)
    engine_kind = engine_kind or config.engine.kind
    workers = workers or config.engine.workers
    engine = make_engine(engine_kind, workers)
    run_info = {
        "engine": engine_kind,
        "workers": workers,
        "tasks": len(units),
        "limit": limit,
        "started_at": datetime.fromtimestamp(started_unix, UTC).replace(microsecond=0).isoformat(),
        "inputs": list(dict.fromkeys(unit.uri for unit in units)),  # a split file once
    }
    phases = plan_phases(config, units, output, limit, run_info, started_unix)
    try:
        engine.run(phases, output / "logs", progress)
    except PhaseFailed as exc:
        failure = output / WORK / FAILURE_FILE
        raise RunError(failure.read_text().strip() if failure.exists() else str(exc)) from exc
    manifest = json.loads((output / "manifest.json").read_text())
    summary = RunSummary.from_json(manifest["counts"])
    return RunResult(output=output, summary=summary, seconds=time.monotonic() - started)
