"""The Slurm engine: each phase is a job array (datatrove's ``SlurmPipelineExecutor``) that starts
when the jobs of the phases it depends on have succeeded (``--dependency=afterok``).

The whole graph is submitted at once; the batch system runs it without the driver, which only
waits (or returns at once with ``--detach``). Array tasks run ``--workers`` at a time; a phase with
more tasks than ``max_array_size`` becomes several arrays, each after the one before. Task logs,
Slurm's own logs (``logs/<phase>/slurm/``) and completion markers (``logs/<phase>/completions/``)
live in the run's output folder on the shared filesystem; a relaunch of the same command submits
only the tasks without a marker, or, while the jobs it submitted before are still queued or
running, waits for those instead. The sbatch script's values come from validated settings
(:class:`schemas.config.SlurmSettings`): names, times and extra options cannot carry shell syntax.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from datatrove.executor.slurm import SlurmPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from pipelines.engines.base import (
    EngineUnavailable,
    Phase,
    PhaseFailed,
    PhaseProgress,
    check_order,
    completed_tasks,
)
from schemas.config import EngineConfig, SlurmSettings

JOB_PREFIX = "jaif"
JOBS_FILE = "slurm-jobs.json"  # under the run's logs: the job of each phase, as last submitted
_ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"}
_NEVER = "DependencyNeverSatisfied"


class _PhaseArray(SlurmPipelineExecutor):
    """datatrove's executor with sbatch lines only for what is set, and no separate stats-merging job
    (each task's stats stay in the phase's ``stats/`` folder)."""

    def __init__(self, *args, sbatch_lines: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self._lines = sbatch_lines

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        args = super().get_sbatch_args(max_array)
        for key in ("partition", "mem-per-cpu", "qos"):
            args.pop(key, None)
        return {**args, **self._lines}

    def launch_merge_stats(self) -> None:
        return None


def default_setup() -> list[str]:
    """Activate the virtual environment of the submitting Python, if it runs in one."""
    if sys.prefix != sys.base_prefix:
        return [f"source {Path(sys.prefix) / 'bin' / 'activate'}"]
    return []


def _sbatch_lines(settings: SlurmSettings) -> dict[str, str]:
    lines: dict[str, str] = {}
    for key, value in (
        ("partition", settings.partition),
        ("account", settings.account),
        ("qos", settings.qos),
        ("mem-per-cpu", settings.mem_per_cpu),
    ):
        if value:
            lines[key] = value
    for option in settings.sbatch:
        name, _, value = option[2:].partition("=")
        lines[name] = value  # an empty value is written as a bare flag
    return lines


class SlurmEngine:
    """Submits the phases as dependent job arrays and waits for the last one."""

    name = "slurm"

    def __init__(self, workers: int, settings: EngineConfig | None = None):
        self.workers = workers
        self.settings = (settings or EngineConfig()).slurm
        missing = [tool for tool in ("sbatch", "squeue", "scancel") if shutil.which(tool) is None]
        if missing:
            raise EngineUnavailable(
                f"the slurm engine needs {', '.join(missing)} on PATH (no Slurm client here)"
            )

    def prepare(self, steps: Sequence[PipelineStep]) -> None:
        """Nothing to start ahead: every task runs in a batch job of its own."""

    def run(self, phases: Sequence[Phase], logs: Path, progress: PhaseProgress | None = None) -> None:
        jobs = self.submit(phases, logs)
        self.wait(phases, logs, jobs, progress)

    def submit(self, phases: Sequence[Phase], logs: Path) -> dict[str, str | None]:
        """Submit the phases, unless jobs submitted for this run earlier are still queued or running:
        then those are the run's jobs (a relaunch attaches to them instead of running tasks twice)."""
        check_order(phases)
        record = logs / JOBS_FILE
        if record.is_file():
            earlier: dict[str, str | None] = json.loads(record.read_text())
            queued = {job for job in earlier.values() if job}
            if any(state in _ACTIVE for state, _ in _queue(queued)):
                return earlier
        jobs = self._submit(phases, logs)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(jobs) + "\n")
        return jobs

    def _submit(self, phases: Sequence[Phase], logs: Path) -> dict[str, str | None]:
        settings = self.settings
        setup = settings.setup if settings.setup is not None else default_setup()
        jobs: dict[str, str | None] = {}
        for phase in phases:
            after = [jobs[d] for d in phase.depends if jobs.get(d)]
            folder = logs / phase.name
            executor = _PhaseArray(
                pipeline=phase.pipeline,
                tasks=phase.tasks,
                time=settings.time,
                partition=settings.partition or "",
                cpus_per_task=settings.cpus_per_task,
                workers=self.workers,
                job_name=f"{JOB_PREFIX}-{phase.name}",
                qos="",
                env_command="\n".join(setup) or None,
                max_array_size=settings.max_array_size,
                depends_job_id=":".join(after) or None,
                logging_dir=str(folder),
                skip_completed=True,
                slurm_logs_folder=str(folder / "slurm"),
                requeue=False,
                mail_type="NONE",
                sbatch_lines=_sbatch_lines(settings),
            )
            try:
                executor.launch_job()
            except Exception as exc:
                self.cancel(jobs)
                raise PhaseFailed(phase.name, f"submitting the {phase.name} phase failed: {exc}") from exc
            jobs[phase.name] = None if executor.job_id in (None, -1) else str(executor.job_id)
        return jobs

    def wait(
        self,
        phases: Sequence[Phase],
        logs: Path,
        jobs: dict[str, str | None],
        progress: PhaseProgress | None = None,
    ) -> None:
        """Wait until every task has completed; raise :class:`PhaseFailed` once the jobs ended without."""
        ours = {job for job in jobs.values() if job}
        while True:
            # read the queue first: a task that completes after this read is seen by the next loop
            queue = _queue(ours)
            done = {phase.name: completed_tasks(logs / phase.name) for phase in phases}
            if progress:
                for phase in phases:
                    progress(phase.name, done[phase.name], phase.tasks)
            unfinished = [phase for phase in phases if done[phase.name] < phase.tasks]
            if not unfinished:
                return
            stuck = any(reason == _NEVER for _, reason in queue)
            if stuck or not any(state in _ACTIVE for state, _ in queue):
                self.cancel(jobs)
                first = unfinished[0]
                missing = first.tasks - done[first.name]
                raise PhaseFailed(
                    first.name,
                    f"{first.name} phase failed: {missing} of {first.tasks} tasks did not complete "
                    f"(task logs in {logs / first.name}, Slurm logs in {logs / first.name / 'slurm'})",
                )
            time.sleep(self.settings.poll_s)

    @staticmethod
    def cancel(jobs: dict[str, str | None], wait_s: float = 60.0) -> None:
        """Cancel the jobs and wait (at most ``wait_s``) until they have left the queue."""
        ids = {job for job in jobs.values() if job}
        if not ids:
            return
        subprocess.run(["scancel", *sorted(ids)], capture_output=True, check=False)
        deadline = time.monotonic() + wait_s
        while _queue(ids) and time.monotonic() < deadline:
            time.sleep(0.5)


def _queue(jobs: set[str]) -> list[tuple[str, str]]:
    """(state, reason) of every queued or running task of ``jobs`` (array tasks by their array job)."""
    if not jobs:
        return []
    listing = subprocess.run(
        ["squeue", "--noheader", "--array", "--format=%F|%T|%r"], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        # the controller did not answer: report the jobs as still active and ask again later
        return [("PENDING", "")]
    rows = [line.split("|") for line in listing.stdout.splitlines() if line.count("|") == 2]
    return [(state, reason) for job, state, reason in rows if job in jobs]
