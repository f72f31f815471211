"""The Beam engine: the run's phases as one Apache Beam pipeline, each task one element.

```
 curate:        Create([None]) ─► ranks 0..N-1 ─► Reshuffle ─► ParDo(run task) ─► done ranks ──────┐ side
                                                                  └─► (p, exact keys), (p, band rows) │ input
 dedup-exact:   Create([None]) ─► (p, ·) for p in 0..P-1 ◄──────────────────────────────────────────┘
                Flatten with curate's (p, exact keys) ─► GroupByKey ─► ParDo(run task p) ─► done ranks
```
A phase's ranks are only produced once the ``done`` collections of the phases it depends on are
complete (side inputs), so the graph's order holds on any runner. A task is the same datatrove
pipeline that the other engines run for that rank (datatrove's ``LocalPipelineExecutor`` for that
one rank, with its logs, statistics and completion marker), so every engine writes the same bytes.

The run-wide dedup's partitioned hand-overs go through Beam's shuffle, not files: exact keys
(curate → dedup-exact), page lines (curate → dedup-lines), boilerplate lines (dedup-lines →
dedup-sign), LSH band rows (curate, or dedup-sign with boilerplate → dedup-buckets), bucket
candidates (dedup-buckets → dedup-signatures), verify rows (dedup-signatures → dedup-verify),
component edges (each dedup-components round → the next, the last → dedup-settle), component
members (dedup-settle → dedup-decisions) and unsettled edges (dedup-settle → dedup-residual).
Each is a channel of :mod:`pipelines.dedup.tasks` or :mod:`pipelines.dedup.components`:
a producing task's steps send ``(partition, rows)`` (Arrow IPC,
with the producer's rank) on a tagged output instead of writing their partitioned file; the
receiving phase's ranks are flattened with them and grouped by partition, so task ``p`` gets
partition ``p`` of every producer in producer order (the rows that
:func:`pipelines.dedup.partitions.read_partition` would read), on whichever worker runs it.
Other phases spread their ranks with a ``Reshuffle``.

Everything else still goes through the run's output folder, so the runner's workers must share
that filesystem (a DirectRunner, a Flink or Spark cluster on a shared filesystem): the staged
documents (written by curate, read by dedup-sign, dedup-signatures and write), the signatures
without boilerplate (written by dedup-sign, read by dedup-signatures), the dedup links (read by
dedup-components-0), the component nodes (read by dedup-settle and dedup-residual), the residual
roots (read by dedup-decisions), the duplicate decisions (read by write), the shard parts, ledger
parts and counts (read by finalize), and the task logs and completion markers. A relaunch skips
completed tasks, as the other engines do, except that the producers of a hand-over run again while one of its
consumers has tasks left: their rows exist only inside the pipeline run that made them.

``engine.beam.runner`` (``--beam-runner``) picks the runner; ``engine.beam.options``
(``--beam-option``) are passed through as pipeline options. The DirectRunner runs ``--workers``
worker processes (``direct_running_mode=multi_processing``).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from datatrove.pipeline.base import PipelineStep

from pipelines.dedup.partitions import Shuffle
from pipelines.engines.base import (
    EngineUnavailable,
    Phase,
    PhaseFailed,
    PhaseProgress,
    check_order,
    completed_tasks,
)
from pipelines.engines.datatrove_compat import run_rank_in_process
from schemas.config import EngineConfig

try:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError:  # the optional `beam` extra
    beam = None


if beam is not None:

    class RunTask(beam.DoFn):
        """Runs rank ``r`` of a phase: its datatrove pipeline, logs and completion marker; emits ``r``.

        With ``receives``, an element is ``(r, grouped)``: the rows of partition ``r`` that the
        producers sent, as ``(producer rank, Arrow IPC)`` (and ``None`` from the rank itself). With
        ``sends``, what the task's steps send on a channel comes out on that channel's tag as
        ``(partition, (r, Arrow IPC))``.
        """

        def __init__(
            self,
            phase: Phase,
            logging_dir: str,
            receives: bool = False,
            sends: bool = False,
            skip_completed: bool = True,
        ):
            super().__init__()
            self.phase = phase
            self.logging_dir = logging_dir
            self.receives = receives
            self.sends = sends
            self.skip_completed = skip_completed

        def process(self, element: Any):
            from datatrove.executor.local import LocalPipelineExecutor

            rank, grouped = element if self.receives else (element, None)
            pipeline = copy.deepcopy(self.phase.pipeline)
            shuffle = None
            if self.receives or self.sends:
                received = None
                if self.receives:  # in producer order, as read_partition reads the producers' files
                    rows = sorted((v for v in grouped if v is not None), key=lambda v: v[0])
                    received = [_from_ipc(data) for _, data in rows]
                shuffle = Shuffle(received=received)
                for step in pipeline:
                    if _sends(step) or _receives(step):
                        step.shuffle = shuffle
            executor = LocalPipelineExecutor(
                pipeline=pipeline,
                tasks=self.phase.tasks,
                workers=1,
                logging_dir=self.logging_dir,
                skip_completed=self.skip_completed,
                local_tasks=1,
                local_rank_offset=rank,
            )
            run_rank_in_process(executor, rank)  # in this process, so the steps' sends reach ``shuffle``
            yield rank
            for channel, partition, rows in shuffle.sent if shuffle else ():
                yield beam.pvalue.TaggedOutput(channel, (partition, (rank, _to_ipc(rows))))


def _ranks(_: Any, tasks: Any, *done: Any) -> Any:
    """The ranks of a phase; ``done`` (the side inputs) only makes it wait for the phases before.
    (Typed ``Any``: Beam checks annotations against the pipeline, and side inputs are lists.)"""
    return list(range(tasks))


def _keyed(rank: Any) -> Any:
    """``(rank, None)``: every rank of a receiving phase reaches the grouping, with rows or without."""
    return rank, None


def _sends(step: Any) -> tuple[str, ...]:
    """The channels a pipeline step hands partitioned rows over on (:mod:`pipelines.dedup.partitions`)."""
    return tuple(getattr(step, "sends", ()))


def _receives(step: Any) -> str | None:
    """The channel whose partition ``rank`` a pipeline step reads, if any."""
    return getattr(step, "receives", None)


def _to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def channels(phases: Sequence[Phase]) -> dict[str, tuple[str, str]]:
    """Each hand-over channel of the graph: ``(producing phase, receiving phase)``.

    Raises ValueError for a channel with two producers or two receivers, one that is received
    before it is produced, or one that no phase receives (its rows would go nowhere).
    """
    produced: dict[str, str] = {}
    received: dict[str, str] = {}
    for phase in phases:
        for step in phase.pipeline:
            channel = _receives(step)
            if channel is not None:
                if channel in received or channel not in produced:
                    raise ValueError(
                        f"phase {phase.name!r} receives {channel!r}: no single producer before it"
                    )
                received[channel] = phase.name
        for channel in {c for step in phase.pipeline for c in _sends(step)}:
            if channel in produced:
                raise ValueError(f"channel {channel!r} is sent by {produced[channel]!r} and {phase.name!r}")
            produced[channel] = phase.name
    unreceived = sorted(set(produced) - set(received))
    if unreceived:
        raise ValueError(f"no phase receives {unreceived}")
    return {channel: (produced[channel], received[channel]) for channel in produced}


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
        graph = channels(phases)
        by_name = {phase.name: phase for phase in phases}
        # a producer of a hand-over runs again (completed or not) while a receiver will run
        again: dict[str, bool] = {}
        for phase in reversed(phases):
            receivers = [by_name[r] for p, r in graph.values() if p == phase.name]
            again[phase.name] = any(
                again[r.name] or completed_tasks(logs / r.name) < r.tasks for r in receivers
            )
        done: dict[str, Any] = {}
        sent: dict[str, Any] = {}  # channel → (partition, (producer rank, Arrow IPC))
        for phase in phases:
            after = [beam.pvalue.AsList(done[name]) for name in phase.depends]
            ranks = (
                pipeline
                | f"{phase.name}: start" >> beam.Create([None])
                | f"{phase.name}: ranks" >> beam.FlatMap(_ranks, phase.tasks, *after)
            )
            receives = [c for c, (_, r) in graph.items() if r == phase.name]
            sends = sorted(c for c, (p, _) in graph.items() if p == phase.name)
            if receives:
                [channel] = receives  # one step of a phase reads partition ``rank``
                keyed = ranks | f"{phase.name}: keyed ranks" >> beam.Map(_keyed)
                tasks = (keyed, sent.pop(channel)) | f"{phase.name}: rows" >> beam.Flatten()
                tasks = tasks | f"{phase.name}: by partition" >> beam.GroupByKey()
            else:
                tasks = ranks | f"{phase.name}: spread" >> beam.Reshuffle()
            task = RunTask(
                phase,
                str(logs / phase.name),
                bool(receives),
                bool(sends),
                skip_completed=not again[phase.name],
            )
            results = tasks | f"{phase.name}: tasks" >> beam.ParDo(task).with_outputs(*sends, main="done")
            done[phase.name] = results.done
            sent.update({channel: results[channel] for channel in sends})
        return done

    def prepare(self, steps: Sequence[PipelineStep]) -> None:
        """Nothing to start ahead: the runner starts its workers when the pipeline runs."""

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
