"""Engines run a run's phases as tasks; they never know what a stage does.

An engine is any object with the :class:`~pipelines.engines.base.Engine` protocol; ``ENGINES`` maps
the config's ``engine.kind`` (and ``--engine``) to a factory taking the worker count and the
config's ``engine`` section.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.engines.base import Engine
from pipelines.engines.local import LocalEngine
from pipelines.engines.slurm import SlurmEngine
from schemas.config import EngineConfig

ENGINES: dict[str, Callable[[int, EngineConfig], Engine]] = {"local": LocalEngine, "slurm": SlurmEngine}


def make_engine(kind: str, workers: int, settings: EngineConfig | None = None) -> Engine:
    return ENGINES[kind](workers, settings or EngineConfig())
