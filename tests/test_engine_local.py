"""The local engine: worker processes start from a fork server that has imported the steps' preloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import multiprocess.forkserver
import pytest
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.engines.base import Phase
from pipelines.engines.local import LocalEngine, preload_modules

REPO = Path(__file__).resolve().parent.parent
DRIVER_MARKER = "jaif_test_driver_marker"  # a module only the driver's memory holds (fork_server_probe)


class ProbeStep(PipelineStep):
    """Writes, per task, whether the probe module was imported before the task ran, and by whom."""

    name = "probe"
    preload_modules = ("tests.preload_probe",)

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import sys

        preloaded = "tests.preload_probe" in sys.modules
        project = "pipelines.runner" in sys.modules
        driver_state = DRIVER_MARKER in sys.modules
        from tests import preload_probe

        record = {
            "started": time.monotonic_ns(),
            "preloaded": preloaded,
            "project": project,
            "driver_state": driver_state,
            "imported_by": preload_probe.IMPORTED_BY,
            "worker": os.getpid(),
        }
        Path(self.folder, f"{rank}.json").write_text(json.dumps(record))
        yield from data or ()


class UndeclaredProbeStep(ProbeStep):
    """The probe, without asking for it to be preloaded."""

    preload_modules = ()


def test_preload_modules_are_collected_in_order_without_repeats(tmp_path: Path) -> None:
    class Other(ProbeStep):
        preload_modules = ("a.b", "tests.preload_probe")

    steps = [ProbeStep(str(tmp_path)), Other(str(tmp_path)), ProbeStep(str(tmp_path))]
    assert preload_modules(steps) == ["tests.preload_probe", "a.b"]


def test_workers_share_what_the_fork_server_preloaded(tmp_path: Path) -> None:
    multiprocess.forkserver._forkserver._stop()  # a fresh fork server, as in a new run's process
    phase = Phase("probe", "probe", [ProbeStep(str(tmp_path))], tasks=4)
    LocalEngine(workers=2).run([phase], tmp_path / "logs")
    records = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in range(4)]
    assert all(r["preloaded"] and r["project"] for r in records)
    assert {r["imported_by"] for r in records} != {r["worker"] for r in records}
    assert all(r["imported_by"] != r["worker"] and r["imported_by"] != os.getpid() for r in records)


def test_prepare_starts_the_fork_server_with_the_stages_preloads_before_the_run(tmp_path: Path) -> None:
    """The runner hands the curation stages to ``prepare`` before it plans: the fork server then
    imports what they preload while the driver plans, and the run's workers start with it."""
    multiprocess.forkserver._forkserver._stop()
    engine = LocalEngine(workers=1)
    engine.prepare([ProbeStep(str(tmp_path))])
    engine.run([Phase("probe", "probe", [UndeclaredProbeStep(str(tmp_path))], tasks=1)], tmp_path / "logs")
    record = json.loads((tmp_path / "0.json").read_text())
    assert record["preloaded"] and record["imported_by"] not in (record["worker"], os.getpid())
    multiprocess.forkserver._forkserver._stop()  # the next test's runs start their own


def probe_in_a_new_driver(folder: Path, *mode: str) -> dict:
    """The probe record of ``tests/fork_server_probe.py``, run as a driver process of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.fork_server_probe", str(folder), *mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_fork_server_is_a_fork_of_a_driver_that_runs_one_thread(tmp_path: Path) -> None:
    """fsspec's event loop thread does not count: fsspec forgets it in a forked child."""
    record = probe_in_a_new_driver(tmp_path)
    assert record["driver_state"] and record["preloaded"] and record["project"]
    assert record["imported_by"] not in (record["worker"], record["driver"])


def test_a_driver_running_other_threads_gets_a_fork_server_of_its_own(tmp_path: Path) -> None:
    """A fork keeps only the forking thread, and locks the others held stay held in the child: the
    fork server is then a new interpreter, which imports the modules itself."""
    record = probe_in_a_new_driver(tmp_path, "thread")
    assert not record["driver_state"] and record["preloaded"] and record["project"]
    assert record["imported_by"] not in (record["worker"], record["driver"])


def test_heavier_tasks_start_first_and_write_what_they_would_in_rank_order(tmp_path: Path) -> None:
    weights = (1.0, 5.0, 3.0, 5.0, 0.0)
    phase = Phase("probe", "probe", [ProbeStep(str(tmp_path))], tasks=5, weights=weights)
    LocalEngine(workers=1).run([phase], tmp_path / "logs")
    started = {rank: json.loads((tmp_path / f"{rank}.json").read_text())["started"] for rank in range(5)}
    assert sorted(started, key=started.get) == [1, 3, 2, 0, 4]  # equal weights keep rank order


def test_loguru_library_folders_are_worked_out_once() -> None:
    from loguru import logger
    from loguru._better_exceptions import ExceptionFormatter

    sinks = [logger.add(lambda message: None, backtrace=True, diagnose=True) for _ in range(3)]
    for sink in sinks:
        logger.remove(sink)
    assert ExceptionFormatter._get_lib_dirs.cache_info().currsize == 1


def test_one_worker_phase_runs_outside_the_driver_and_reports_the_error(tmp_path: Path) -> None:
    from pipelines.engines.base import PhaseFailed
    from tests.engine_steps import FailingStep

    phase = Phase("probe", "probe", [ProbeStep(str(tmp_path))], tasks=2)
    LocalEngine(workers=1).run([phase], tmp_path / "logs")
    records = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in range(2)]
    assert {r["worker"] for r in records} != {os.getpid()} and len({r["worker"] for r in records}) == 1

    failing = Phase("fails", "fails", [FailingStep()], tasks=2)
    with pytest.raises(PhaseFailed, match=r"fails phase failed: RuntimeError: task 1 breaks \(task logs in "):
        LocalEngine(workers=1).run([failing], tmp_path / "logs")


def test_tasks_see_the_drivers_environment_of_the_phase_not_of_the_fork_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.engine_steps import EnvironmentProbe

    engine = LocalEngine(workers=2)
    monkeypatch.setenv("JAIF_PROBE", "first")
    engine.run([Phase("one", "one", [EnvironmentProbe(str(tmp_path))], tasks=2)], tmp_path / "logs")
    monkeypatch.setenv("JAIF_PROBE", "second-secret")  # set after the fork server started
    engine.run([Phase("two", "two", [EnvironmentProbe(str(tmp_path))], tasks=2)], tmp_path / "logs")
    assert {(tmp_path / f"{rank}.env").read_text() for rank in range(2)} == {"second-secret"}
    assert "second-secret" not in (tmp_path / "logs" / "two" / "executor.json").read_text()


def test_a_worker_killed_mid_task_fails_the_phase_instead_of_hanging(tmp_path: Path) -> None:
    from pipelines.engines.base import PhaseFailed, completed_tasks
    from tests.engine_steps import DyingStep

    phase = Phase("dies", "dies", [DyingStep()], tasks=4)
    with pytest.raises(PhaseFailed, match=r"the worker process running task 1 ended \(killed by SIGKILL\)"):
        LocalEngine(workers=2).run([phase], tmp_path / "logs")
    assert completed_tasks(tmp_path / "logs" / "dies") < 4


def test_workers_serve_every_phase_of_a_run_and_end_with_it(tmp_path: Path) -> None:
    phases = [Phase(name, name, [ProbeStep(str(tmp_path / name))], tasks=3) for name in ("one", "two")]
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    LocalEngine(workers=2).run(phases, tmp_path / "logs")
    workers = {
        name: {json.loads((tmp_path / name / f"{rank}.json").read_text())["worker"] for rank in range(3)}
        for name in ("one", "two")
    }
    assert workers["one"] == workers["two"] and len(workers["one"]) <= 2
    for pid in workers["one"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc/<pid>/status")
def test_a_worker_left_large_by_a_phase_is_replaced_before_the_next(tmp_path: Path) -> None:
    from pipelines.engines.local import RETIRE_MB
    from tests.engine_steps import HoardingStep

    sizes = {"large": RETIRE_MB + 16, "small": 1, "again": 1}
    for name in sizes:
        (tmp_path / name).mkdir()
    phases = [
        Phase(name, name, [HoardingStep(str(tmp_path / name), mb)], tasks=2) for name, mb in sizes.items()
    ]
    LocalEngine(workers=1).run(phases, tmp_path / "logs")
    workers = {name: {(tmp_path / name / f"{rank}.pid").read_text() for rank in range(2)} for name in sizes}
    assert all(len(pids) == 1 for pids in workers.values())  # a phase's tasks share their worker
    assert workers["large"] != workers["small"] == workers["again"]
