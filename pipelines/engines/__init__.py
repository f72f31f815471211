"""Engines run a run's phases as tasks; they never know what a stage does.

An engine is any object with the :class:`~pipelines.engines.base.Engine` protocol. ``ENGINES``
maps the config's ``engine.kind`` (and ``--engine``) to the class, as ``module:Class``, imported
only when that engine is used (Beam's import alone takes seconds); the class is built with the
worker count and the config's ``engine`` section.
"""

from __future__ import annotations

from importlib import import_module

from pipelines.engines.base import Engine
from schemas.config import EngineConfig

ENGINES: dict[str, str] = {
    "local": "pipelines.engines.local:LocalEngine",
    "slurm": "pipelines.engines.slurm:SlurmEngine",
    "beam": "pipelines.engines.beam:BeamEngine",
}


def make_engine(kind: str, workers: int, settings: EngineConfig | None = None) -> Engine:
    module, name = ENGINES[kind].split(":")
    return getattr(import_module(module), name)(workers, settings or EngineConfig())
