"""The Beam engine: the run's phases as one Apache Beam pipeline, each task one element.

```
 curate:  Create([None]) ─► ranks 0..N-1 ─► Reshuffle ─► ParDo(run task) ─► done ranks ─┐ (side input)
 dedup-…: Create([None]) ─► ranks 0..P-1 (once every phase it depends on is done) ─► … ◄┘
```
Each phase's ranks are spread over the runner's workers by a ``Reshuffle``; a phase's ranks are
only produced once the ``done`` collections of the phases it depends on are complete (side
inputs), so the graph's order holds on any runner. A task is the same datatrove pipeline that
the other engines run for that rank (datatrove's ``LocalPipelineExecutor`` for that one rank,
with its logs, statistics and completion marker), so every engine writes the same bytes.

The tasks hand their work over through the run's output folder (staging, dedup partitions,
parts), as on Slurm: the runner's workers must share that filesystem (a DirectRunner, a Flink
or Spark cluster on a shared filesystem). ``engine.beam.runner`` (``--beam-runner``) picks the
runner; ``engine.beam.options`` (``--beam-option``) are passed through as pipeline options. The
DirectRunner runs ``--workers`` worker processes (``direct_running_mode=multi_processing``).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.engines.base import (
    EngineUnavailable,
    Phase,
    PhaseFailed,
    PhaseProgress,
    check_order,
    completed_tasks,
)
from schemas.config import EngineConfig

try:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError:  # the optional `beam` extra
    beam = None


if beam is not None:

    class RunTask(beam.DoFn):
        """Runs rank ``r`` of a phase: its datatrove pipeline, logs and completion marker; emits ``r``."""

        def __init__(self, phase: Phase, logging_dir: str):
            super().__init__()
            self.phase = phase
            self.logging_dir = logging_dir

        def process(self, rank: int):
            from datatrove.executor.local import LocalPipelineExecutor

            executor = LocalPipelineExecutor(
                pipeline=copy.deepcopy(self.phase.pipeline),
                tasks=self.phase.tasks,
                workers=1,
                logging_dir=self.logging_dir,
                skip_completed=True,
                local_tasks=1,
                local_rank_offset=rank,
            )
            executor.run()
            yield rank


def _ranks(_: Any, tasks: Any, *done: Any) -> Any:
    """The ranks of a phase; ``done`` (the side inputs) only makes it wait for the phases before.
    (Typed ``Any``: Beam checks annotations against the pipeline, and side inputs are lists.)"""
    return list(range(tasks))


class BeamEngine:
    """Builds one Beam pipeline from the phases and runs it to the end."""

    name = "beam"

    def __init__(self, workers: int, settings: EngineConfig | None = None):
        if beam is None:
            raise EngineUnavailable(
                "the beam engine needs Apache Beam: pip install 'jaif-datasets[beam]' (make install does)"
            )
        self.workers = workers
        self.settings = (settings or EngineConfig()).beam

    def pipeline_options(self) -> PipelineOptions:
        """The runner and its options: the config's, plus the DirectRunner's worker processes."""
        args = [f"--runner={self.settings.runner}"]
        if self.settings.runner in ("DirectRunner", "PrismRunner"):
            args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={self.workers}"]
        return PipelineOptions([*args, *self.settings.options])

    def build(self, pipeline: Any, phases: Sequence[Phase], logs: Path) -> dict[str, Any]:
        """Add the phases to ``pipeline``; returns each phase's collection of completed ranks."""
        check_order(phases)
        done: dict[str, Any] = {}
        for phase in phases:
            after = [beam.pvalue.AsList(done[name]) for name in phase.depends]
            done[phase.name] = (
                pipeline
                | f"{phase.name}: start" >> beam.Create([None])
                | f"{phase.name}: ranks" >> beam.FlatMap(_ranks, phase.tasks, *after)
                | f"{phase.name}: spread" >> beam.Reshuffle()
                | f"{phase.name}: tasks" >> beam.ParDo(RunTask(phase, str(logs / phase.name)))
            )
        return done

    def run(self, phases: Sequence[Phase], logs: Path, progress: PhaseProgress | None = None) -> None:
        logging.getLogger("apache_beam").setLevel(logging.WARNING)
        stop = threading.Event()

        def report() -> None:
            while not stop.wait(0.5):
                for phase in phases:
                    progress(phase.name, completed_tasks(logs / phase.name), phase.tasks)

        watcher = threading.Thread(target=report, daemon=True) if progress else None
        if watcher:
            watcher.start()
        error: Exception | None = None
        try:
            with beam.Pipeline(options=self.pipeline_options()) as pipeline:
                self.build(pipeline, phases, logs)
        except Exception as exc:  # a task failed: the runner's error names the task, not the phase
            error = exc
        finally:
            stop.set()
            if watcher:
                watcher.join()
                for phase in phases:
                    progress(phase.name, completed_tasks(logs / phase.name), phase.tasks)
        unfinished = [p for p in phases if completed_tasks(logs / p.name) < p.tasks]
        if unfinished:
            first = unfinished[0]
            last_line = (str(error).strip().splitlines() or [""])[-1] if error else ""
            reason = f": {type(error).__name__}: {last_line}" if error else ""
            raise PhaseFailed(
                first.name,
                f"{first.name} phase failed{reason} (task logs in {logs / first.name})",
            ) from error
