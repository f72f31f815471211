"""One run of a pipeline config, on any engine.

The driver plans the input units, prepares the output folder, plans the run's phases
(:mod:`pipelines.graph`) and hands them to the engine; it does no phase's work itself. The
summary it returns is read back from the manifest that the finalize phase wrote.
The units, and so the tasks, depend only on the input: the same input and config give the
same ids, the same dedup decisions and byte-identical data files for any number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import DatasetReport, InputUnit, SourceAccess, SourceError, connector
from connectors.files import lists_inside
from pipelines.engines import make_engine
from pipelines.engines.base import (
    BatchEngine,
    Engine,
    EngineUnavailable,
    Phase,
    PhaseFailed,
    PhaseProgress,
    completed_tasks,
)
from pipelines.finalize import FAILURE_FILE, RunSummary
from pipelines.graph import plan_phases
from pipelines.outputs import (
    WORK,
    OutputError,
    check_inputs_apart,
    prepare_output,
    read_plan,
    staged_tree,
    switch_outputs,
)
from pipelines.publish import PublishResult
from pipelines.reports.lineage import emit_lineage, run_id_for
from pipelines.stages import curation_stages
from pipelines.wrapup import PUBLISH_RECORD
from schemas.config import FilesSource, FsspecPublish, PipelineConfig


class RunError(RuntimeError):
    """A run that failed; the message is one line for the operator."""


@dataclass
class RunResult:
    output: Path
    summary: RunSummary
    seconds: float


def plan_fingerprint(config: PipelineConfig, units: list[InputUnit], limit: int | None) -> str:
    """What decides a run's outputs: the config, the input units and the limit (never the engine
    or the workers, which do not change the outputs)."""
    config_json = config.model_dump(mode="json")
    config_json.pop("engine", None)
    plan = {
        "config": config_json,
        "units": [[u.uri, u.start, u.end, u.retrieved_at] for u in units],
        "limit": limit,
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class OpenedSources:
    """Every source of a run, planned and opened: the units the tasks read, and what each dataset became."""

    units: list[InputUnit]
    datasets: list[DatasetReport]
    accesses: list[SourceAccess]

    @property
    def held(self) -> bool:
        """Whether some access must stay open in this process while the tasks read."""
        return any(access.held for access in self.accesses)

    def attach_logs(self, logs: Path) -> None:
        for access in self.accesses:
            access.attach_logs(logs)

    def close(self, succeeded: bool) -> None:
        """Release every source (complete or terminate transfers); the first failure is raised last."""
        errors = []
        for access in self.accesses:
            try:
                access.close(succeeded)
            except Exception as exc:  # one peer's failure must not keep the others open
                errors.append(exc)
        self.accesses = []
        if errors:
            raise RunError(f"closing a source failed: {errors[0]}")


def open_sources(config: PipelineConfig) -> OpenedSources:
    """Plan and open every source (negotiating where a source needs it) before any task starts.

    A dataset that a source refuses or cannot deliver becomes a report line, and the run goes on
    with the others; a run that is left with no input at all fails.
    """
    accesses: list[SourceAccess] = []
    try:
        for index, source in enumerate(config.sources):
            kind = connector(source.kind)
            accesses.append(kind.open(kind.plan(source, index)))
    except BaseException:
        OpenedSources([], [], accesses).close(False)
        raise
    opened = OpenedSources([], [d for access in accesses for d in access.datasets], accesses)
    try:
        units = _distinct_units(unit for access in accesses for unit in access.units)
    except SourceError:
        opened.close(False)
        raise
    opened.units = units
    if not units:
        opened.close(False)
        refused = "; ".join(f"{d.dataset_id}: {d.decision} ({d.reason})" for d in opened.datasets)
        raise SourceError(f"no source yielded any input{': ' + refused if refused else ''}")
    return opened


def _distinct_units(units: Iterable[InputUnit]) -> list[InputUnit]:
    """The units to read: a file matched by two sources is read once, as the first source planned it;
    two different files that would get the same identity (and so the same ids) are refused."""
    owner: dict[str, int] = {}
    read_as: dict[str, str] = {}
    chosen = []
    for unit in units:
        if owner.setdefault(unit.read_url, unit.source_index) != unit.source_index:
            continue
        if read_as.setdefault(unit.uri, unit.read_url) != unit.read_url:
            raise SourceError(
                f"sources[{owner[read_as[unit.uri]]}] and sources[{unit.source_index}] both have a file "
                f"named {unit.uri}; give the sources different `name`s"
            )
        chosen.append(unit)
    return chosen


def sources_listing_inside(config: PipelineConfig, folder: Path) -> list[int]:
    """The sources whose listing could find files inside ``folder`` (see :func:`lists_inside`)."""
    return [
        index
        for index, source in enumerate(config.sources)
        if isinstance(source, FilesSource) and lists_inside(source, folder)
    ]


def plan_units(config: PipelineConfig) -> list[InputUnit]:
    """The input units of a config whose sources need no negotiation (files, catalogues)."""
    opened = open_sources(config)
    opened.close(True)
    return opened.units


@dataclass
class SubmittedRun:
    """A run handed to a batch system (``--detach``): its output folder and the job of each phase."""

    output: Path
    jobs: dict[str, str | None]  # phase -> job id; None where every task had already completed


@dataclass
class PlannedRun:
    """A run ready for an engine: its phases, the engine that runs them, and the opened sources.

    The sources stay open (transfers running, tokens in this process's environment) until
    :meth:`close`; a driver closes its run when the phases it ran are over.
    """

    output: Path
    phases: list[Phase]
    engine: Engine
    sources: OpenedSources
    config: PipelineConfig
    run_id: str  # the OpenLineage run id, the same for every process of this run

    @property
    def tree(self) -> Path:
        """Where the phases write the run's outputs until they are switched into :attr:`output`."""
        return staged_tree(self.output)

    @property
    def logs(self) -> Path:
        return self.tree / "logs"

    def phase_names(self) -> list[str]:
        return [phase.name for phase in self.phases]

    def lineage(self, event_type: str, error: str | None = None) -> None:
        emit_lineage(event_type, self.output, self.config, self.run_id, error=error, folder=self.tree)

    def close(self, succeeded: bool) -> None:
        self.sources.close(succeeded)


def run_pipeline(
    config: PipelineConfig,
    output: Path,
    workers: int | None = None,
    limit: int | None = None,
    engine_kind: str | None = None,
    progress: PhaseProgress | None = None,
) -> RunResult:
    """Run ``config`` into ``output`` and wait for it; a relaunch resumes an unfinished run."""
    started = time.monotonic()
    run = plan_run(config, output, workers, limit, engine_kind)
    succeeded = False
    try:
        run_phases(run, run.phase_names(), progress)
        succeeded = True
    finally:
        run.close(succeeded)
    complete_run(run)
    return RunResult(output=run.output, summary=read_summary(run.output), seconds=time.monotonic() - started)


STAGING_ENV = "JAIF_STAGING_DIR"  # where runs for a remote --output are computed (default ~/.cache/jaif/runs)


def is_remote(output: str) -> bool:
    """Whether ``--output`` names an object store or other fsspec URL rather than a local folder."""
    return "://" in output and not output.startswith("file://")


def staging_folder(url: str) -> Path:
    """The local folder a run for the remote output ``url`` is computed in: the same URL gives the same
    folder, so a relaunch resumes an unfinished run there."""
    root = Path(os.environ.get(STAGING_ENV) or Path.home() / ".cache" / "jaif" / "runs")
    return root / hashlib.sha256(url.encode()).hexdigest()[:16]


def copy_run_to(out: Path, url: str) -> PublishResult:
    """Copy a finished run (ledger included, logs not) to ``url``, its ``_SUCCESS`` marker written last."""
    from pipelines.publish import PublishError, load_finished_run, publisher_for

    settings = FsspecPublish(kind="fsspec", url=url, include_ledger=True)
    try:
        return publisher_for(settings).publish(load_finished_run(out, include_ledger=True))
    except PublishError as exc:
        raise RunError(f"output {url}: {exc}") from None


def complete_run(run: PlannedRun) -> PublishResult | None:
    """The run's phases are done and its gate passed: check its outputs, publish them where the
    config says, and switch them into the output folder.

    The outputs must match the manifest (every file's bytes, sha256 and rows) or nothing is published
    or switched in. A failed check or publish fails the run and leaves it unfinished (the previous
    run's outputs untouched), so the same command tries again without recomputing anything.
    """
    from pipelines.publish import PublishError, verify_manifest

    try:
        verify_manifest(run.tree)
    except PublishError as exc:
        message = f"output check failed: {str(exc).removeprefix('publish: ')}"
        run.lineage("FAIL", error=message)
        raise RunError(message) from None
    result = None
    if run.config.publish is not None:
        from pipelines.publish import publish_run

        try:
            result = publish_run(run.tree, run.config)
        except PublishError as exc:
            run.lineage("FAIL", error=str(exc))
            raise RunError(str(exc)) from None
        if result is not None:
            record = run.tree / PUBLISH_RECORD
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    run.lineage("COMPLETE")
    try:
        switch_outputs(run.output, run.run_id)
    except OutputError as exc:
        raise RunError(str(exc)) from None
    return result


def submit_pipeline(
    config: PipelineConfig,
    output: Path,
    workers: int | None = None,
    limit: int | None = None,
    engine_kind: str | None = None,
) -> SubmittedRun:
    """Hand the run's phases to a batch engine and return without waiting (``--detach``)."""
    run = plan_run(config, output, workers, limit, engine_kind)
    try:
        if run.sources.held:
            raise RunError(
                "a source holds a transfer open while the tasks read (kind: dsp); "
                "run without --detach so that this process can complete it"
            )
        if not isinstance(run.engine, BatchEngine):
            raise RunError(
                f"the {run.engine.name} engine runs in this process and cannot detach; use --engine slurm"
            )
        try:
            jobs = run.engine.submit(run.phases, run.logs)
        except PhaseFailed as exc:
            raise RunError(str(exc)) from exc
    except BaseException:
        run.close(False)
        raise
    run.close(True)
    return SubmittedRun(output=run.output, jobs=jobs)


def plan_run(
    config: PipelineConfig,
    output: Path,
    workers: int | None = None,
    limit: int | None = None,
    engine_kind: str | None = None,
    fresh: bool = True,
) -> PlannedRun:
    """Plan the input units and the phases, and make the output folder ready.

    ``fresh=False`` (a scheduler's later task of the same run) only continues the run planned in
    ``output`` and fails when the inputs or the config changed since; ``fresh=True`` resumes an
    unfinished run of the same plan or starts a new one.
    """
    output = output.resolve()
    engine_kind = engine_kind or config.engine.kind
    workers = workers or config.engine.workers
    try:
        engine = make_engine(engine_kind, workers, config.engine)
    except EngineUnavailable as exc:
        raise RunError(str(exc)) from None
    engine.prepare(curation_stages(config))
    try:
        sources = open_sources(config)
    except SourceError as exc:
        raise RunError(str(exc)) from None
    try:
        return _plan_opened(config, output, sources, engine, engine_kind, workers, limit, fresh)
    except BaseException:
        sources.close(False)
        raise


def _plan_opened(
    config: PipelineConfig,
    output: Path,
    sources: OpenedSources,
    engine: Engine,
    engine_kind: str,
    workers: int,
    limit: int | None,
    fresh: bool,
) -> PlannedRun:
    units = sources.units
    fingerprint = plan_fingerprint(config, units, limit)
    try:
        check_inputs_apart(output, (unit.read_url for unit in units), sources_listing_inside(config, output))
        resumed = prepare_output(output, fingerprint) if fresh else True
    except OutputError as exc:
        raise RunError(str(exc)) from None
    plan = read_plan(output)
    if plan is None or plan["fingerprint"] != fingerprint:
        raise RunError(f"{output} holds no planned run of this config and input (plan it first)")
    started_unix = plan["started_unix"]
    tree = staged_tree(output)
    sources.attach_logs(tree / "logs")
    run_info = {
        "run_id": run_id_for(output, started_unix),
        "engine": engine_kind,
        "workers": workers,
        "tasks": len(units),
        "limit": limit,
        "resumed": resumed,
        "started_at": datetime.fromtimestamp(started_unix, UTC).replace(microsecond=0).isoformat(),
        "inputs": list(dict.fromkeys(unit.uri for unit in units)),  # a split file once
        "input_sources": {unit.uri: unit.source_index for unit in units},  # the config source of each
        "datasets": [report.to_json() for report in sources.datasets],
    }
    phases = plan_phases(config, units, output, limit, run_info, started_unix)
    run = PlannedRun(output, phases, engine, sources, config, run_info["run_id"])
    if not resumed:
        run.lineage("START")
    return run


def run_phases(run: PlannedRun, names: Sequence[str], progress: PhaseProgress | None = None) -> None:
    """Run the named phases of ``run`` (all of them, or a scheduler task's share) and wait.

    The phases they depend on that are not named must have completed already.
    """
    chosen = [phase for phase in run.phases if phase.name in names]
    unknown = set(names) - {phase.name for phase in chosen}
    if unknown:
        raise RunError(f"no phase {sorted(unknown)} in this run (phases: {run.phase_names()})")
    logs = run.logs
    by_name = {phase.name: phase for phase in run.phases}
    for phase in chosen:
        for name in phase.depends:
            if name not in names and completed_tasks(logs / name) < by_name[name].tasks:
                raise RunError(f"phase {phase.name} needs phase {name}, which has not completed")
    runnable = [replace(phase, depends=tuple(d for d in phase.depends if d in names)) for phase in chosen]
    try:
        run.engine.run(runnable, logs, progress)
    except PhaseFailed as exc:
        failure = run.output / WORK / FAILURE_FILE
        message = failure.read_text().strip() if failure.exists() else str(exc)
        run.lineage("FAIL", error=message)
        raise RunError(message) from exc


def read_summary(output: Path) -> RunSummary:
    """The finished run's summary, from its manifest."""
    manifest = json.loads((output / "manifest.json").read_text())
    summary = RunSummary.from_json(manifest["counts"])
    summary.datasets = manifest["run"].get("datasets", [])
    return summary
