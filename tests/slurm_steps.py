"""A step for the Slurm engine's tests, importable by a job (``tests.slurm_steps``)."""

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
