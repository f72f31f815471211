"""Steps for the engines' tests, importable by a job or worker (``tests.engine_steps``)."""

from __future__ import annotations

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class FailingStep(PipelineStep):
    """Task 1 raises; every other task completes."""

    name = "fails"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == 1:
            raise RuntimeError("task 1 breaks")
        return iter(())


class EnvironmentProbe(PipelineStep):
    """Writes, per task, the value of ``JAIF_PROBE`` in the process that runs the task."""

    name = "environment"

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os
        from pathlib import Path

        Path(self.folder, f"{rank}.env").write_text(os.environ.get("JAIF_PROBE", "<unset>"))
        return iter(())


class DyingStep(PipelineStep):
    """Task 1's process is killed (SIGKILL, as the kernel's out-of-memory killer does); the other
    tasks wait a moment and complete."""

    name = "dies"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os
        import signal
        import time

        if rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.2)
        return iter(())


KEPT: list[bytearray] = []


class HoardingStep(PipelineStep):
    """Each task keeps ``megabytes`` of memory after it ends (in a module global) and writes the id
    of the process that ran it."""

    name = "hoards"

    def __init__(self, folder: str, megabytes: int) -> None:
        super().__init__()
        self.folder = folder
        self.megabytes = megabytes

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os
        from pathlib import Path

        KEPT.append(bytearray(os.urandom(1024)) * (self.megabytes * 1024))
        Path(self.folder, f"{rank}.pid").write_text(str(os.getpid()))
        return iter(())
