"""The phases after the manifest: document the run and validate it.

```
 finalize ─► document (dataset card, EU AI Act summary, report.html)
          └► validate (Great Expectations gate over data and ledger)
```
Each is a one-task phase of the run's graph, so every engine runs it the same way and a
relaunch skips what completed. A failing gate with ``validation.fail_run`` fails its phase with
one line naming the expectation, so the run fails and is never published (publishing and
closing happen in the driver afterwards, see :func:`pipelines.runner.complete_run`: they need
the network and credentials that batch nodes may not have).

The steps import their modules when they run, so planning a run does not pay for importing
Great Expectations.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.finalize import FAILURE_FILE
from schemas.config import PipelineConfig, parse_config

PUBLISH_RECORD = Path("logs") / "publish.json"  # where the driver says what it published


class _WrapUpStep(PipelineStep):
    """A one-task step over a finished run's output folder."""

    type = "wrap-up"

    def __init__(self, out: str, work: str, config: dict[str, Any]):
        super().__init__()
        self.out = out
        self.work = work
        self.config = config  # the run's config as JSON (pickled into task files; no secrets in it)

    def fail(self, message: str) -> RuntimeError:
        """Leave ``message`` for the driver's one-line error and return the exception to raise."""
        (Path(self.work) / FAILURE_FILE).write_text(message + "\n")
        return RuntimeError(message)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.wrap_up(Path(self.out), parse_config(self.config, origin="run config"))
        return iter(())

    @abstractmethod
    def wrap_up(self, out: Path, config: PipelineConfig) -> None:
        """This phase's work on the finished run in ``out``."""


class RunDocumenter(_WrapUpStep):
    """Writes what people read: the dataset card, the EU AI Act training-content summary, the report."""

    name = "document"

    def wrap_up(self, out: Path, config: PipelineConfig) -> None:
        from pipelines.reports.ai_act import write_ai_act_summary
        from pipelines.reports.card import write_dataset_card
        from pipelines.reports.facts import RunFacts
        from pipelines.reports.html import ReportMismatch, write_report

        facts = RunFacts.load(out)
        write_dataset_card(out, config, facts=facts)
        write_ai_act_summary(out, config, facts=facts)
        try:
            write_report(out, config, facts=facts)
        except ReportMismatch as exc:
            raise self.fail(f"report: {exc}") from exc


class RunValidator(_WrapUpStep):
    """The Great Expectations gate; with ``validation.fail_run`` a failing suite fails the run."""

    name = "validate"

    def wrap_up(self, out: Path, config: PipelineConfig) -> None:
        from pipelines.validation.gate import run_gate

        result = run_gate(out, config)
        if not result.passed and config.validation.fail_run:
            raise self.fail(f"validation failed: {result.first_failure}")


def read_publish_record(out: Path) -> dict[str, Any] | None:
    """What the run's publishing sent where, when it was published."""
    record = out / PUBLISH_RECORD
    return json.loads(record.read_text()) if record.is_file() else None
