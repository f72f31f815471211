"""One run of a pipeline config, on any engine.

```
 plan units ─► curate (per task: read ─► stages ─► dedup keys ─► staging)
            ─► dedup (run-wide: exact + near clusters ─► decisions)
            ─► write (per task: staging ─► duplicates ─► Parquet / WebDataset shards ─► ledger)
            ─► finalize (shard names, ledger, conservation check, manifest)
```
The units, and so the tasks, depend only on the input: the same input and config
give the same ids, the same dedup decisions and byte-identical data files for any
number of workers.
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
from connectors.reader import SourceReader
from pipelines.engines import make_engine
from pipelines.finalize import ConservationError, RunSummary, finalize_run
from pipelines.sinks.ledger import LedgerWriter
from pipelines.sinks.shards import ParquetShardWriter, WebDatasetShardWriter
from pipelines.sinks.staging import StagedReader, StagedWriter, read_dedup_keys
from pipelines.stages import build_dedup_signatures, curation_stages, near_dedup_params
from pipelines.stages.duplicates import DuplicateMarker, write_decisions
from schemas.config import PipelineConfig

# Paths a run writes into its output directory (and clears before it starts again).
RUN_OUTPUTS = ("data", "webdataset", "ledger", "logs", ".work", "manifest.json")
PhaseProgress = Callable[[str, int, int], None]  # (phase, completed tasks, all tasks)


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
        if not ((out / "manifest.json").exists() or (out / ".work").exists()):
            raise RunError(
                f"output directory {out} is not empty and holds no previous run; choose another --output"
            )
        for name in RUN_OUTPUTS:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (out / ".work").mkdir(parents=True, exist_ok=True)


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


def split_limit(limit: int | None, tasks: int) -> list[int | None]:
    """``--limit N``: at most N documents in all, spread evenly over the input units."""
    if limit is None:
        return [None] * tasks
    return [limit // tasks + (1 if i < limit % tasks else 0) for i in range(tasks)]


def run_pipeline(
    config: PipelineConfig,
    output: Path,
    workers: int | None = None,
    limit: int | None = None,
    engine_kind: str | None = None,
    progress: PhaseProgress | None = None,
) -> RunResult:
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    output = output.resolve()
    try:
        units = plan_units(config)
    except SourceError as exc:
        raise RunError(str(exc)) from None
    prepare_output(output)
    work = output / ".work"
    engine_kind = engine_kind or config.engine.kind
    workers = workers or config.engine.workers
    engine = make_engine(engine_kind, workers)
    tasks = len(units)

    def run_phase(phase: str, pipeline: list) -> None:
        report = (lambda done, total: progress(phase, done, total)) if progress else None
        try:
            engine.run(phase, pipeline, tasks, output / "logs" / phase, report)
        except Exception as exc:
            raise RunError(
                f"{phase} phase failed: {type(exc).__name__}: {exc} (task logs in {output / 'logs' / phase})"
            ) from exc

    signatures = build_dedup_signatures(config)
    run_phase(
        "curate",
        [
            SourceReader(units, split_limit(limit, tasks), str(work / "counts")),
            *curation_stages(config),
            *([signatures] if signatures else []),
            StagedWriter(str(work / "staged")),
        ],
    )

    duplicates = 0
    marker = []
    if signatures is not None:
        if progress:
            progress("dedup", 0, 1)
        duplicates = _find_duplicates(config, work, tasks, workers)
        marker = [DuplicateMarker(str(work / "dedup" / "decisions.parquet"))]
        if progress:
            progress("dedup", 1, 1)

    writers = [ParquetShardWriter(str(work / "parts"), config.outputs.parquet.shard_max_mb)]
    if config.outputs.webdataset:
        writers.append(WebDatasetShardWriter(str(work / "parts"), config.outputs.webdataset.shard_max_mb))
    run_phase(
        "write", [StagedReader(str(work / "staged")), *marker, *writers, LedgerWriter(str(work / "ledger"))]
    )

    inputs = sum(json.loads(p.read_text())["documents"] for p in (work / "counts").glob("*.json"))
    run_info = {
        "engine": engine_kind,
        "workers": workers,
        "tasks": tasks,
        "limit": limit,
        "started_at": started_at,
        "seconds": round(time.monotonic() - started, 3),
        "duplicates_found": duplicates,
        "inputs": list(dict.fromkeys(unit.uri for unit in units)),  # a split file once
    }
    try:
        summary = finalize_run(output, work, inputs, config.model_dump(mode="json"), run_info)
    except ConservationError as exc:
        raise RunError(f"ledger check failed: {exc}") from None
    shutil.rmtree(work)
    return RunResult(output=output, summary=summary, seconds=time.monotonic() - started)


def _find_duplicates(config: PipelineConfig, work: Path, tasks: int, workers: int) -> int:
    """Run-wide dedup decisions; the LSH bands of a big run are spread over ``workers`` processes."""
    from pipelines.stages.dedup import find_duplicates

    keys = read_dedup_keys(work / "staged", tasks)
    (work / "dedup").mkdir(parents=True, exist_ok=True)
    duplicates = find_duplicates(
        keys,
        near=near_dedup_params(config),
        exact=config.stage("exact_dedup") is not None,
        workers=workers,
        scratch=work / "dedup",
    )
    return write_decisions(duplicates, keys, work / "dedup" / "decisions.parquet")
