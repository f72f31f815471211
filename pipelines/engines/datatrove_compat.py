"""What the engines use of datatrove beyond its public API, in one place, checked against the version.

datatrove's ``LocalPipelineExecutor.run`` starts a ``multiprocess`` manager process (a queue of
worker slots) even for one rank run in-process, and a ``Pool`` whose lost task (a worker killed
while it held one) leaves it waiting for good. Inside a Beam SDK worker, a threaded gRPC process,
that fork is unsafe: the manager can die before it answers and the task fails with ``EOFError``.
:func:`run_rank_in_process` runs one rank the way datatrove's executors run each of their ranks
(task log, statistics, completion marker, skipped when already completed), without the manager;
the Beam engine's tasks and the local engine's workers run their ranks with it.
"""

from __future__ import annotations

from importlib import metadata

from datatrove.executor.base import PipelineExecutor
from datatrove.utils.stats import PipelineStats

SUPPORTED = ("0.10.",)  # datatrove versions whose executor internals this module was written for


class DatatroveMismatch(RuntimeError):
    """The installed datatrove is not a version this module knows."""


def _check_version() -> None:
    installed = metadata.version("datatrove")
    if not installed.startswith(SUPPORTED):
        raise DatatroveMismatch(
            f"datatrove {installed} is installed; pipelines/engines/datatrove_compat.py supports {SUPPORTED}"
        )


def run_rank_in_process(executor: PipelineExecutor, rank: int, save_executor: bool = True) -> PipelineStats:
    """Run ``rank`` of ``executor`` in this process and return its statistics (empty when it has
    completed before). ``save_executor``: write the executor's JSON to its log folder first, as
    datatrove's executors do once per run (the local engine writes it once per phase itself)."""
    _check_version()
    if executor.is_rank_completed(rank):
        return PipelineStats()
    if save_executor:
        executor.save_executor_as_json()
    return executor._run_for_rank(rank)
