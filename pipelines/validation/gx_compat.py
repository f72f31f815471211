"""Where the gate meets Great Expectations' internals: one module, checked against the GX version.

The gate runs GX in memory only: an ephemeral context whose stores live in memory, analytics
off (``analytics_enabled: false``, what ``GX_ANALYTICS_ENABLED=false`` sets), no progress bars,
and at most one Data Docs site, in the run's output folder: nothing is written anywhere else. Two
things it needs are not GX's public API, and both are here:

- GX fingerprints every in-memory batch below ``HASH_THRESHOLD`` bytes by hashing every cell;
  for a batch of documents that is one more pass over all their text, about as costly as all
  the expectations together. :func:`unfingerprinted_batches` switches it off while the gate runs.
- Data Docs are built from the context's validation-results store, which ``validate()`` on a
  batch never fills; the gate merges its per-batch results into one result per suite and puts
  that into the store itself (:func:`build_data_docs`).

Both are checked against the GX 1.x layout (:data:`SUPPORTED`); on another major version the
fingerprint stays on (slower, still correct) and building Data Docs fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import great_expectations as gx
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import EphemeralDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine import pandas_execution_engine

SUPPORTED = gx.__version__.split(".")[0] == "1"
DOCS_SITE = "gate"


def ephemeral_context(docs_dir: Path | None) -> EphemeralDataContext:
    """An in-memory GX context that writes nothing, except Data Docs into ``docs_dir`` when given."""
    sites = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextmanager
def unfingerprinted_batches() -> Iterator[None]:
    """Skip GX's per-batch hash of every cell (only a marker in the result) while the block runs."""
    if not (SUPPORTED and hasattr(pandas_execution_engine, "HASH_THRESHOLD")):
        yield
        return
    threshold = pandas_execution_engine.HASH_THRESHOLD
    pandas_execution_engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        pandas_execution_engine.HASH_THRESHOLD = threshold


def build_data_docs(context: EphemeralDataContext, results: list[ExpectationSuiteValidationResult]) -> None:
    """Render the suites and their merged results (``meta["run_id"]`` naming the run) as HTML on the
    context's Data Docs site."""
    if not SUPPORTED:
        raise RuntimeError(f"Data Docs from merged results need Great Expectations 1.x, not {gx.__version__}")
    for result in results:
        run = result.meta["run_id"]
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=RunIdentifier(run_name=run["run_name"], run_time=run["run_time"]),
            batch_identifier=result.suite_name,
        )
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[DOCS_SITE])
