"""What an engine is given and what it promises.

A run is a list of :class:`Phase` objects in an order that respects their dependencies. Each phase
is a datatrove pipeline run as ``tasks`` independent tasks (task ``rank`` does the ``rank``-th piece
of work: an input unit, a dedup partition); a phase starts when every phase it ``depends`` on has
finished. An engine runs the tasks and reports progress; it never knows what a step does, and
the driver never does a phase's work itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from datatrove.pipeline.base import PipelineStep

PhaseProgress = Callable[[str, int, int], None]  # (phase, completed tasks, all tasks)


@dataclass(frozen=True)
class Phase:
    name: str  # folder name of its logs, e.g. "curate"
    title: str  # what a progress bar says
    pipeline: list[PipelineStep] = field(repr=False)
    tasks: int
    depends: tuple[str, ...] = ()
    # expected work of each task, relative (e.g. the input bytes it reads); empty: alike. An engine
    # that hands out tasks one at a time starts the heavier ones first, so that no large task is
    # left to run alone at the end of the phase.
    weights: tuple[float, ...] = ()


class PhaseFailed(RuntimeError):
    """A task of ``phase`` failed; the message is for the operator (where the task logs are)."""

    def __init__(self, phase: str, message: str):
        super().__init__(message)
        self.phase = phase


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (e.g. no batch system); the message says what is missing."""


class Engine(Protocol):
    """Runs the phases of a run, in dependency order, as tasks."""

    name: str

    def prepare(self, steps: Sequence[PipelineStep]) -> None:
        """Get ready for tasks that run ``steps`` (the curation stages, known before the run is
        planned), while the driver plans: whatever an engine can start ahead of :meth:`run`."""
        ...

    def run(self, phases: Sequence[Phase], logs: Path, progress: PhaseProgress | None = None) -> None:
        """Run every phase (task logs under ``logs/<phase>``); raise :class:`PhaseFailed` on a failed task.

        Tasks that completed in an earlier, unfinished run into the same ``logs`` are not run again.
        """
        ...


@runtime_checkable
class BatchEngine(Engine, Protocol):
    """An engine that hands the phases to a batch system, which runs them without the driver."""

    def submit(self, phases: Sequence[Phase], logs: Path) -> dict[str, str | None]:
        """Submit every phase with its dependencies; return each phase's job id (None: nothing to run)."""
        ...


def completed_tasks(phase_logs: Path) -> int:
    """How many tasks of a phase have left their completion marker (datatrove's ``completions/``)."""
    completions = phase_logs / "completions"
    return sum(1 for _ in completions.iterdir()) if completions.is_dir() else 0


def check_order(phases: Sequence[Phase]) -> None:
    """Raise ValueError unless every phase comes after the phases it depends on."""
    seen: set[str] = set()
    for phase in phases:
        missing = [d for d in phase.depends if d not in seen]
        if missing:
            raise ValueError(f"phase {phase.name!r} comes before {missing}, which it depends on")
        if phase.name in seen:
            raise ValueError(f"phase {phase.name!r} appears twice")
        seen.add(phase.name)
