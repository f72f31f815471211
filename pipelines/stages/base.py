"""The base of every curation stage: a datatrove ``PipelineStep`` that never drops a document."""

from __future__ import annotations

import time
from abc import abstractmethod

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import MetricStats

from schemas.document import Status, is_kept, set_fate


class CurationStage(PipelineStep):
    """A stage looks at kept documents only and passes every document on.

    Subclasses implement :meth:`process`, which may change ``doc.text`` and
    ``doc.metadata`` in place, or call :meth:`filter` / :meth:`quarantine`.
    ``name`` is the stage kind from the config and the prefix of every reason.
    """

    type = "curate"
    name = "stage"
    # Modules that an engine may import once in a parent of its worker processes (models, big tables),
    # so that the workers share what they load instead of loading it each.
    preload_modules: tuple[str, ...] = ()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        # The same statistics as track_time() and stat_update() per document, for less: the time is
        # added directly and the documents kept are counted here and added once at the end.
        timing, clock, kept = self.stats.time_stats, time.perf_counter, 0
        try:
            for doc in data:
                if is_kept(doc):
                    start = clock()
                    self.process(doc)
                    timing.update(clock() - start)
                    if is_kept(doc):
                        kept += 1
                    else:
                        self.stat_update(doc.metadata["reason"])
                yield doc
        finally:
            if kept:
                self.stats["kept"] += MetricStats(total=kept, n=kept, mean=1.0, min=1, max=1)

    @abstractmethod
    def process(self, doc: Document) -> None:
        """Curate one kept document in place."""

    def filter(self, doc: Document, rule: str) -> None:
        set_fate(doc, Status.FILTERED, f"{self.name}:{rule}")

    def quarantine(self, doc: Document, rule: str) -> None:
        set_fate(doc, Status.QUARANTINED, f"{self.name}:{rule}")
