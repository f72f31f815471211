"""The validation gate over a finished run's output (see :mod:`pipelines.validation.gate`)."""

from pipelines.validation.gate import GateResult, run_gate

__all__ = ["GateResult", "run_gate"]
