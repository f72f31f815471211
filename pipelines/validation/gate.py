"""The validation gate: Great Expectations suites over a finished run's data shards and ledger.

:func:`run_gate` checks an output folder after the run has written it and says whether it may
be published. It writes ``OUT/validation/``: GX's validation result JSON per suite
(``data.json``, ``ledger.json``), ``summary.json`` (passed, per-suite outcome, failure lines,
rows checked, seconds) and, when ``validation.data_docs`` is set, GX's HTML Data Docs in
``data_docs/``. It only reports; what a failure means for the run (``validation.fail_run``) is
for the caller to decide.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.config import PipelineConfig

if TYPE_CHECKING:
    from pipelines.validation.passes import SuiteOutcome

VALIDATION_DIR = "validation"
DATA_DOCS_DIR = "data_docs"
SUMMARY = "summary.json"


@dataclass
class GateResult:
    """What the gate found: the verdict, the verdict per suite, and one line per failed expectation."""

    passed: bool
    suites: dict[str, bool]  # suite name -> passed
    failures: list[str]  # one line per failed expectation: suite, expectation and column, observation
    seconds: float

    @property
    def first_failure(self) -> str | None:
        return self.failures[0] if self.failures else None


def run_gate(out: Path, config: PipelineConfig) -> GateResult:
    """Validate the output folder ``out`` of a run of ``config``; write ``out/validation/``."""
    # Great Expectations takes seconds to import: only a run that is validated pays for it.
    from pipelines.validation.passes import validate_output

    started = time.perf_counter()
    folder = Path(out) / VALIDATION_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    docs = folder / DATA_DOCS_DIR if config.validation.data_docs else None
    outcomes = validate_output(Path(out), config, docs)
    for outcome in outcomes:
        _write_json(folder / f"{outcome.name}.json", outcome.result)
    result = GateResult(
        passed=all(o.passed for o in outcomes),
        suites={o.name: o.passed for o in outcomes},
        failures=[line for o in outcomes for line in o.failures],
        seconds=time.perf_counter() - started,
    )
    _write_json(folder / SUMMARY, _summary(result, outcomes))
    return result


def _summary(result: GateResult, outcomes: list[SuiteOutcome]) -> dict:
    return {**asdict(result), "seconds": round(result.seconds, 3), "rows": {o.name: o.rows for o in outcomes}}


def _write_json(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
