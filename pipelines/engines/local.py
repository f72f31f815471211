"""The local engine: datatrove's ``LocalPipelineExecutor`` with ``workers`` processes.

Tasks never run in the driver: a phase with one worker (one task, or ``--workers 1``) runs its
tasks one after another in a single child process, so the driver's memory does not depend on
the data.

Worker processes are forked from a fork server (datatrove's default start method). Before the first
pool of a process starts, the engine asks the fork server to import the project's modules
(:data:`WORKER_MODULES`) and the ``preload_modules`` of the pipeline's steps (the language models),
so that every worker starts with them instead of importing and loading them itself. (The fork
server does not import the main script itself; a worker re-runs it, which is cheap once the
modules it imports are there: without this, each worker of each phase spent ~0.7 s importing.)
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import multiprocess
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from pipelines.engines.base import Phase, PhaseFailed, PhaseProgress, check_order, completed_tasks
from schemas.config import EngineConfig

ProgressCallback = Callable[[int, int], None]  # (completed tasks, all tasks)


def _cache_loguru_library_dirs() -> None:
    """datatrove adds loguru sinks for every task; each ``logger.add`` works out the interpreter's
    library folders from ``sysconfig`` again (~8 ms, ~25 ms a task). They do not change while a
    process runs, so the answer is computed once. (A private loguru helper: left alone if absent.)"""
    try:
        from loguru._better_exceptions import ExceptionFormatter
    except ImportError:
        return
    compute = getattr(ExceptionFormatter, "_get_lib_dirs", None)
    if callable(compute) and not hasattr(compute, "cache_info"):
        ExceptionFormatter._get_lib_dirs = staticmethod(functools.cache(compute))


_cache_loguru_library_dirs()


class _DriverLifetime:
    """Processes that datatrove forks from the driver while a phase runs (its rank-queue manager) are
    killed by the kernel when the driver dies (Linux ``PR_SET_PDEATHSIG``), so a driver killed with
    SIGKILL leaves nothing behind: the fork server and the pool workers end by themselves once the
    driver is gone, a forked manager would wait forever."""

    _PR_SET_PDEATHSIG = 1

    def __init__(self) -> None:
        self.driver: int | None = None  # the pid of the driver while it runs a phase
        self._prctl = None
        if sys.platform == "linux":
            import ctypes

            self._prctl = ctypes.CDLL(None, use_errno=True).prctl
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        if self.driver is None or self._prctl is None or os.getppid() != self.driver:
            return
        self._prctl(self._PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != self.driver:  # the driver died before the request took effect
            os._exit(1)

    @contextlib.contextmanager
    def phase(self) -> Iterator[None]:
        self.driver = os.getpid()
        try:
            yield
        finally:
            self.driver = None


_LIFETIME = _DriverLifetime()
# pipelines.runner imports every step a task runs (and numpy, pyarrow, datatrove); a worker
# unpickles its executor, this module's class, which imports datatrove's executors (loguru,
# huggingface_hub, ...); pyarrow imports pandas the first time it converts a NumPy array, which
# every phase's tasks do. All preloaded, so that the workers of each phase do not import them again.
WORKER_MODULES = ("pipelines.runner", __name__, "pandas")


class ProcessEnvironment:
    """The driver's environment variables when a phase starts, for its tasks.

    Workers are forked from a fork server started once per driver process, so they inherit the
    environment of that moment; a driver that changes its environment later (credentials set for
    a run, a scheduler's task) would otherwise run tasks with stale variables. Shown as a count
    only, so that the executor's JSON in the task logs carries no secret.
    """

    def __init__(self) -> None:
        self._variables = dict(os.environ)

    def apply(self) -> None:
        for name in set(os.environ) - set(self._variables):
            del os.environ[name]
        os.environ.update(self._variables)

    def __repr__(self) -> str:
        return f"<environment: {len(self._variables)} variables, not shown>"

    __str__ = __repr__


class _QuietExecutor(LocalPipelineExecutor):
    """Task logs go to the phase's log folder; the console only gets errors (progress is ours).
    Each task runs with the driver's environment of the phase's start."""

    start_method_default = "forkserver"
    environment: ProcessEnvironment | None = None

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        # Ctrl-C reaches the whole process group; the driver answers it by stopping the workers, so a
        # worker ignores it instead of dying mid-task with a traceback of its own.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if self.environment is not None:
            self.environment.apply()
        return super()._run_for_rank(rank, local_rank + 1, node_rank)


def preload_modules(pipeline: list[PipelineStep]) -> list[str]:
    """The modules the steps of ``pipeline`` ask to have imported before the workers start, in order."""
    return list(dict.fromkeys(m for step in pipeline for m in getattr(step, "preload_modules", ())))


class TaskError(RuntimeError):
    """A task failed in a child process; ``kind`` is the name of the exception it raised there."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _run_reporting(executor: LocalPipelineExecutor, report: Any) -> None:
    # datatrove's executor starts a manager process even for one worker. Started the forkserver
    # way, it would first need a fork server of this child's own (a new interpreter importing the
    # project and its models again); this child runs no threads, so the manager is forked instead.
    multiprocess.set_start_method("fork", force=True)
    try:
        executor.run()
    except BaseException as exc:
        report.send((type(exc).__name__, str(exc)))
        raise SystemExit(1) from None
    report.send(None)


def _run_in_child(context: Any, executor: LocalPipelineExecutor) -> None:
    """Run a one-worker phase in a child process, so the driver never holds a task's data."""
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_run_reporting, args=(executor, send))
    child.start()
    send.close()
    try:
        failure = receive.recv()
    except EOFError:
        failure = ("ChildProcessError", "the task process died without a word")
    except BaseException:  # interrupted: the child ignores Ctrl-C, so it is stopped here
        child.terminate()
        child.join()
        raise
    child.join()
    if failure is None and child.exitcode != 0:
        failure = ("ChildProcessError", f"the task process exited with code {child.exitcode}")
    if failure is not None:
        raise TaskError(*failure)


class LocalEngine:
    """Runs the phases one after another, each phase's tasks on ``workers`` local processes."""

    name = "local"

    def __init__(self, workers: int, settings: EngineConfig | None = None):
        self.workers = workers

    def run(self, phases: Sequence[Phase], logs: Path, progress: PhaseProgress | None = None) -> None:
        check_order(phases)
        for phase in phases:
            report = (lambda done, total, name=phase.name: progress(name, done, total)) if progress else None
            folder = logs / phase.name
            try:
                self.run_phase(phase, folder, report)
            except Exception as exc:
                kind = exc.kind if isinstance(exc, TaskError) else type(exc).__name__
                message = f"{phase.name} phase failed: {kind}: {exc} (task logs in {folder})"
                raise PhaseFailed(phase.name, message) from exc

    def run_phase(self, phase: Phase, logging_dir: Path, progress: ProgressCallback | None = None) -> None:
        """Run one phase's tasks; raises whatever a task raised."""
        pipeline, tasks = phase.pipeline, phase.tasks
        modules = [*WORKER_MODULES, *preload_modules(pipeline)]
        context = multiprocess.get_context(_QuietExecutor.start_method_default)
        # only takes effect if this process has not started its fork server yet
        context.set_forkserver_preload(["__main__", *modules])
        executor = _QuietExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(self.workers, tasks),
            logging_dir=str(logging_dir),
            skip_completed=True,  # a relaunch resumes: tasks completed before are not run again
            start_method=_QuietExecutor.start_method_default,
        )
        executor.environment = ProcessEnvironment()
        done = threading.Event()

        def report() -> None:
            while not done.wait(0.2):
                progress(completed_tasks(logging_dir), tasks)

        watcher = threading.Thread(target=report, daemon=True) if progress else None
        if watcher:
            watcher.start()
        try:
            with _LIFETIME.phase():
                if executor.workers > 1:
                    executor.run()  # the executor's pool of worker processes
                else:
                    _run_in_child(context, executor)  # datatrove would run the tasks in this process
        finally:
            done.set()
            if watcher:
                watcher.join()
                progress(completed_tasks(logging_dir), tasks)
