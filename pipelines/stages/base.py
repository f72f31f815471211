"""The base of every curation stage: a datatrove ``PipelineStep`` that never drops a document."""

from __future__ import annotations

from abc import abstractmethod

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

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
        for doc in data:
            if is_kept(doc):
                with self.track_time():
                    self.process(doc)
                self.stat_update("kept" if is_kept(doc) else doc.metadata["reason"])
            yield doc

    @abstractmethod
    def process(self, doc: Document) -> None:
        """Curate one kept document in place."""

    def filter(self, doc: Document, rule: str) -> None:
        set_fate(doc, Status.FILTERED, f"{self.name}:{rule}")

    def quarantine(self, doc: Document, rule: str) -> None:
        set_fate(doc, Status.QUARANTINED, f"{self.name}:{rule}")
