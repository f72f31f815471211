"""The local engine: each phase's tasks on ``workers`` processes of this machine.

Tasks never run in the driver, so the driver's memory does not depend on the data. The engine
starts its worker processes once for all the phases it is given and hands each of them one task at
a time (a task is datatrove's rank of the phase's executor: task log, statistics and completion
marker as on every engine). A worker that dies while it runs a task (killed, out of memory) fails
the phase with a clear error instead of leaving the run waiting for a result that cannot come.

Workers are forked from a fork server. Before it starts, the engine asks it to import the
project's modules (:data:`WORKER_MODULES`) and the ``preload_modules`` of the steps of every phase
(the language models), so that every worker starts with them instead of importing and loading them
itself. The fork server is itself a fork of the driver, which has imported the project's modules
already, unless the driver runs other threads (:mod:`pipelines.engines.forkserver_compat`).
Workers end with the fork server, which ends with the driver: a driver killed with SIGKILL
leaves no process behind.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import multiprocess
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import PipelineStats
from multiprocess.connection import wait
from multiprocess.reduction import ForkingPickler

from pipelines.engines.base import Phase, PhaseFailed, PhaseProgress, check_order
from pipelines.engines.datatrove_compat import run_rank_in_process
from pipelines.engines.forkserver_compat import start_fork_server
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


class _ParentLifetime:
    """A worker is killed by the kernel when its parent, the fork server, ends (Linux
    ``PR_SET_PDEATHSIG``): the fork server ends when the driver does, so a worker in the middle of a
    task does not go on writing into a run whose driver is gone."""

    _PR_SET_PDEATHSIG = 1

    @classmethod
    def bind(cls) -> None:
        if sys.platform != "linux":
            return
        import ctypes

        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(cls._PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent ended before the request took effect
            os._exit(1)


# pipelines.runner imports every step a task runs (and numpy, pyarrow, datatrove); a worker
# unpickles its executor, this module's class, which imports datatrove's executors (loguru,
# huggingface_hub, ...); pyarrow imports pandas the first time it converts a NumPy array, which
# every phase's tasks do. All preloaded, so that no worker imports them itself.
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
    """A phase's tasks as datatrove ranks (task logs, statistics, completion markers in the phase's
    log folder); the console only gets errors (progress is ours). Each task runs with the driver's
    environment of the phase's start."""

    environment: ProcessEnvironment | None = None

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        if self.environment is not None:
            self.environment.apply()
        return super()._run_for_rank(rank, local_rank + 1, node_rank)


def preload_modules(pipeline: list[PipelineStep]) -> list[str]:
    """The modules the steps of ``pipeline`` ask to have imported before the workers start, in order."""
    return list(dict.fromkeys(m for step in pipeline for m in getattr(step, "preload_modules", ())))


def fork_server_modules(steps: Iterable[PipelineStep]) -> list[str]:
    """What the workers' fork server imports before it forks any: ``__main__``,
    :data:`WORKER_MODULES` and the modules ``steps`` preload, in order."""
    return list(dict.fromkeys(["__main__", *WORKER_MODULES, *preload_modules(list(steps))]))


class TaskError(RuntimeError):
    """A task failed in a child process; ``kind`` is the name of the exception it raised there."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


RETIRE_MB = 64  # a worker whose anonymous memory grew by more than this is replaced after a phase


def anonymous_mb(pid: int) -> float:
    """The resident anonymous memory (``RssAnon``) of process ``pid`` in MB; 0 when it cannot be
    read (no Linux ``/proc``, or the process has ended).

    A worker starts with the fork server's anonymous memory mapped (shared copy-on-write, the
    language models among it), so what it gains after that is the heap its tasks allocated and
    kept: its private memory but the few pages it copied on write. The kernel keeps this count
    ready, where private memory (``smaps_rollup``) walks every page of the ~1 GB the worker maps,
    ~12 ms a worker between every two phases."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _serve(connection: Any) -> None:
    """A worker: runs the tasks the driver sends, one at a time, and answers each with
    ``("done", statistics)`` or ``("failed", exception name, message)``; ends at ``None`` or when
    the driver is gone."""
    _ParentLifetime.bind()
    # Ctrl-C reaches the whole process group; the driver answers it by stopping the workers, so a
    # worker ignores it instead of dying mid-task with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        payload, rank = task
        try:
            executor = ForkingPickler.loads(payload)  # a fresh copy of the steps for every task
            answer: tuple[Any, ...] = ("done", run_rank_in_process(executor, rank, save_executor=False))
        except BaseException as exc:  # noqa: BLE001 - reported to the driver, which fails the phase
            answer = ("failed", type(exc).__name__, str(exc))
        try:
            connection.send(answer)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, context: Any) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        self.rank: int | None = None  # the task it runs
        self.anonymous_at_start = anonymous_mb(self.process.pid)

    def grown_mb(self) -> float:
        """How much its anonymous memory grew since it started (:func:`anonymous_mb`)."""
        return anonymous_mb(self.process.pid) - self.anonymous_at_start

    def give(self, payload: bytes, rank: int) -> None:
        self.rank = rank
        self.connection.send((payload, rank))

    def end(self) -> None:
        self.process.join()
        self.connection.close()


def _ask_to_end(workers: Sequence[_Worker]) -> None:
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.connection.send(None)


def _await_end(workers: Sequence[_Worker]) -> None:
    """Wait for ``workers``, asked to end, to do so (one that does not within 5 s is terminated)."""
    for worker in workers:
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.terminate()
        worker.end()


class WorkerSet:
    """Up to ``count`` worker processes that run the tasks of one phase after another (module
    docstring); a worker is started when a task needs one."""

    def __init__(self, count: int, modules: Sequence[str]) -> None:
        self.context = multiprocess.get_context("forkserver")
        start_fork_server(modules)  # a fork server already running stays as it is
        self.count = count
        self.workers: list[_Worker] = []
        self.leaving: list[_Worker] = []  # retired, asked to end; awaited once the next tasks run

    def run(self, executor: LocalPipelineExecutor, ranks: Sequence[int], done: Callable[[], None]) -> None:
        """Run ``ranks`` of ``executor``, calling ``done`` after each; raises :class:`TaskError` for
        the first task that fails (the other workers are stopped) or whose worker dies."""
        payload = bytes(ForkingPickler.dumps(executor))
        pending = list(reversed(ranks))
        stats: list[PipelineStats] = []
        for ended in [w for w in self.workers if not w.process.is_alive()]:  # killed while idle
            ended.end()
            self.workers.remove(ended)
        try:
            while len(self.workers) < min(self.count, len(pending)):
                self.workers.append(_Worker(self.context))
            for worker in self.workers:
                if pending:
                    worker.give(payload, pending.pop())
            _await_end(self.leaving)  # they exit while the new ones start and work
            self.leaving = []
            while busy := [worker for worker in self.workers if worker.rank is not None]:
                ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
                for worker in busy:
                    if worker.connection in ready or worker.process.sentinel in ready:
                        stats.append(self._answer(worker))
                        if pending:
                            worker.give(payload, pending.pop())
                        done()
        except BaseException:
            self.stop()
            raise
        if stats:
            with executor.logging_dir.open("stats.json", "w") as file:
                sum(stats, start=PipelineStats()).save_to_disk(file)

    def _answer(self, worker: _Worker) -> PipelineStats:
        """The statistics of the task ``worker`` has finished."""
        try:
            answer = worker.connection.recv()
        except (EOFError, OSError):  # it ended without an answer
            worker.process.join()
            raise TaskError(
                "ChildProcessError",
                f"the worker process running task {worker.rank} ended"
                f" ({_describe_exit(worker.process.exitcode)})",
            ) from None
        worker.rank = None
        if answer[0] == "failed":
            raise TaskError(answer[1], answer[2])
        return answer[1]

    def retire_large(self) -> None:
        """Replace (ask to end now, start new ones when needed) the workers whose memory grew by more than
        :data:`RETIRE_MB` since they started: between phases, so that what one phase's tasks kept
        (caches, a grown heap) does not weigh on the next phase, while a phase's tasks share their
        workers' warm state."""
        large = [w for w in self.workers if w.grown_mb() > RETIRE_MB]
        _ask_to_end(large)
        self.leaving += large
        self.workers = [w for w in self.workers if w not in large]

    def close(self) -> None:
        """Let the workers end, once no task runs."""
        _ask_to_end(self.workers)
        _await_end([*self.workers, *self.leaving])
        self.workers, self.leaving = [], []

    def stop(self) -> None:
        """End the workers now, tasks or not (a task failed, or the driver was interrupted)."""
        everyone = [*self.workers, *self.leaving]
        for worker in everyone:
            worker.process.terminate()
        for worker in everyone:
            worker.end()
        self.workers, self.leaving = [], []


class LocalEngine:
    """Runs the phases one after another, each phase's tasks on ``workers`` local processes."""

    name = "local"

    def __init__(self, workers: int, settings: EngineConfig | None = None):
        self.workers = workers

    def prepare(self, steps: Sequence[PipelineStep]) -> None:
        """Start the workers' fork server now, with the modules of :data:`WORKER_MODULES` and those
        ``steps`` preload, so that it imports them and loads the language models while the driver
        lists the inputs and plans (a fork server already running in this process stays as it is)."""
        start_fork_server(fork_server_modules(steps))

    def run(self, phases: Sequence[Phase], logs: Path, progress: PhaseProgress | None = None) -> None:
        check_order(phases)
        steps = (step for phase in phases for step in phase.pipeline)
        workers = WorkerSet(self.workers, fork_server_modules(steps))
        try:
            for phase in phases:
                report = functools.partial(progress, phase.name) if progress else None
                folder = logs / phase.name
                try:
                    self.run_phase(workers, phase, folder, report)
                    workers.retire_large()
                except Exception as exc:
                    kind = exc.kind if isinstance(exc, TaskError) else type(exc).__name__
                    message = f"{phase.name} phase failed: {kind}: {exc} (task logs in {folder})"
                    raise PhaseFailed(phase.name, message) from exc
        finally:
            workers.close()

    def run_phase(
        self, workers: WorkerSet, phase: Phase, logging_dir: Path, progress: ProgressCallback | None = None
    ) -> None:
        """Run one phase's tasks that have not completed before; raises what a task raised."""
        executor = _QuietExecutor(
            pipeline=phase.pipeline,
            tasks=phase.tasks,
            workers=min(self.workers, phase.tasks),
            logging_dir=str(logging_dir),
            skip_completed=True,  # a relaunch resumes: tasks completed before are not run again
        )
        executor.environment = ProcessEnvironment()
        ranks = executor.get_incomplete_ranks(range(phase.tasks))
        if phase.weights:  # heavier tasks first (stable: in rank order among equals)
            ranks = sorted(ranks, key=lambda rank: -phase.weights[rank])
        completed = phase.tasks - len(ranks)

        def done() -> None:
            nonlocal completed
            completed += 1
            if progress:
                progress(completed, phase.tasks)

        if progress:
            progress(completed, phase.tasks)
        if ranks:
            executor.save_executor_as_json()
            workers.run(executor, ranks, done)
