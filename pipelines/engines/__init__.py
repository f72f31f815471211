"""Engines run a run's phases as tasks; they never know what a stage does.

An engine is any object with the :class:`~pipelines.engines.base.Engine` protocol; ``ENGINES`` maps
the config's ``engine.kind`` (and ``--engine``) to a factory taking the worker count.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.engines.base import Engine
from pipelines.engines.local import LocalEngine

ENGINES: dict[str, Callable[[int], Engine]] = {"local": LocalEngine}


def make_engine(kind: str, workers: int) -> Engine:
    return ENGINES[kind](workers)
