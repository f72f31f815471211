"""Engines run a phase's pipeline as tasks; they never know what a stage does."""

from __future__ import annotations

from pipelines.engines.local import LocalEngine

ENGINES = {"local": LocalEngine}


def make_engine(kind: str, workers: int) -> LocalEngine:
    return ENGINES[kind](workers)
