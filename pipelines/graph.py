"""The phases of a run: what each task of each phase does, and what waits for what.

```
 curate (one task per input unit: read ─► stages ─► dedup keys ─► staging)
   ├─► dedup-exact (P tasks) ──────────────────────────────────────────────────────────────┐
   └─► dedup-lines (P) ─► dedup-sign (one per unit) ─► dedup-buckets (P)                     │
       ─► dedup-signatures (one per unit) ─► dedup-verify (P) ─► dedup-components-0 (P) ◄───┘
 dedup-components-1 … -R (P each) ─► dedup-settle (P) ─► dedup-residual (1) ─► dedup-decisions (P)
 write (one task per input unit: staging ─► duplicates ─► Parquet / WebDataset shards ─► ledger)
 finalize (1: decisions summary, shard names, ledger check, manifest)
   ├─► document (1: dataset card, AI Act summary, report)
   └─► validate (1: the Great Expectations gate, when enabled)
```
Publishing and closing the run happen in the driver afterwards (:func:`pipelines.runner.complete_run`).
Only configured dedup kinds get their phases; without dedup, write follows curate. dedup-lines
(the site boilerplate statistics) and dedup-sign (signatures of the texts without boilerplate)
run when the near_dedup stage's ``boilerplate`` is on; otherwise curate signs the documents and
dedup-buckets follows curate. The dedup-components rounds (``R`` =
:data:`pipelines.dedup.components.COMPONENT_ROUNDS`), dedup-settle, dedup-residual and
dedup-decisions find the connected components of all links (:mod:`pipelines.dedup.components`).
``P`` is :func:`pipelines.dedup.tasks.dedup_partitions` of the number of input units. Every count here
depends on the input and the config only, never on the workers, so every engine and worker
count runs the same tasks and writes the same bytes. The phases of one task per input unit carry
the units' sizes in bytes as task weights (when the listing gave every size), so that an engine
that hands out tasks one at a time starts the larger units first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.files import InputUnit
from connectors.reader import SourceReader
from pipelines.dedup.components import DECISIONS_PHASE, DecisionsIndex, component_phases, component_titles
from pipelines.dedup.tasks import (
    BoilerplateFreeSignatures,
    BoilerplateLines,
    BucketVerifier,
    CandidateSignatures,
    DedupKeyWriter,
    DedupLayout,
    DuplicateMarker,
    ExactKeyLinks,
    LshBuckets,
    dedup_partitions,
)
from pipelines.engines.base import Phase
from pipelines.finalize import RunFinalizer
from pipelines.outputs import WORK, staged_tree
from pipelines.sinks.ledger import LedgerWriter
from pipelines.sinks.shards import ParquetShardWriter, WebDatasetShardWriter
from pipelines.sinks.staging import StagedReader, StagedWriter
from pipelines.stages import (
    boilerplate_params,
    build_dedup_signatures,
    curation_stages,
    near_dedup_params,
)
from pipelines.wrapup import RunDocumenter, RunValidator
from schemas.config import PipelineConfig

TITLES = {  # what progress bars say about each phase
    "curate": "curate (read, stages, dedup keys)",
    "dedup-exact": "dedup: exact keys",
    "dedup-lines": "dedup: boilerplate lines",
    "dedup-sign": "dedup: signatures without boilerplate",
    "dedup-buckets": "dedup: LSH buckets",
    "dedup-signatures": "dedup: candidate signatures",
    "dedup-verify": "dedup: verify buckets",
    **component_titles(),
    "write": "write shards + ledger",
    "finalize": "finalize (ledger check, manifest)",
    "document": "document (card, AI Act summary, report)",
    "validate": "validate (Great Expectations gate)",
}


def split_limit(limit: int | None, tasks: int) -> list[int | None]:
    """``--limit N``: at most N documents in all, spread evenly over the input units."""
    if limit is None:
        return [None] * tasks
    return [limit // tasks + (1 if i < limit % tasks else 0) for i in range(tasks)]


def plan_phases(
    config: PipelineConfig,
    units: list[InputUnit],
    output: Path,
    limit: int | None,
    run_info: dict[str, Any],
    started_unix: float,
) -> list[Phase]:
    """The run's phases in dependency order (see the module docstring)."""
    tasks = len(units)
    work = output / WORK
    staged = str(work / "staged")
    layout = DedupLayout(work / "dedup", tasks, dedup_partitions(tasks))
    exact = config.stage("exact_dedup") is not None
    near = near_dedup_params(config)
    boilerplate = boilerplate_params(config)
    signatures = build_dedup_signatures(config)
    dedup = exact or near is not None

    phases: list[Phase] = []

    # the input bytes of each unit, for the phases of one task per unit, when every size is known
    sizes = [unit.size for unit in units]
    unit_weights = tuple(float(size) for size in sizes) if None not in sizes else ()

    def add(name: str, steps: list, count: int, *depends: str, weights: tuple[float, ...] = ()) -> None:
        phases.append(Phase(name, TITLES[name], steps, count, depends, weights))

    curate = [SourceReader(units, split_limit(limit, tasks), str(work / "counts")), *curation_stages(config)]
    if dedup:
        if signatures is not None:
            curate.append(signatures)
        signed_in_curate = near if boilerplate is None else None
        curate.append(DedupKeyWriter(layout, exact, signed_in_curate, lines=boilerplate is not None))
    add("curate", [*curate, StagedWriter(staged)], tasks, weights=unit_weights)

    marker = []
    write_after = "curate"
    if dedup:
        ends = []
        if exact:
            add("dedup-exact", [ExactKeyLinks(layout)], layout.partitions, "curate")
            ends.append("dedup-exact")
        if near is not None:
            bands_after, signatures_dir = "curate", staged
            if boilerplate is not None:
                add("dedup-lines", [BoilerplateLines(layout, boilerplate)], layout.partitions, "curate")
                sign = BoilerplateFreeSignatures(layout, staged, near, boilerplate)
                add("dedup-sign", [sign], tasks, "dedup-lines", weights=unit_weights)
                bands_after, signatures_dir = "dedup-sign", str(layout.signed)
            add("dedup-buckets", [LshBuckets(layout)], layout.partitions, bands_after)
            candidates = CandidateSignatures(layout, signatures_dir)
            add("dedup-signatures", [candidates], tasks, "dedup-buckets", weights=unit_weights)
            add("dedup-verify", [BucketVerifier(layout, near)], layout.partitions, "dedup-signatures")
            ends.append("dedup-verify")
        kinds = tuple(kind for kind, on in (("exact", exact), ("near", near is not None)) if on)
        phases.extend(component_phases(layout, kinds, tuple(ends)))
        marker = [DuplicateMarker(layout)]
        write_after = DECISIONS_PHASE

    writers = [ParquetShardWriter(str(work / "parts"), config.outputs.parquet.shard_max_mb)]
    if config.outputs.webdataset:
        writers.append(WebDatasetShardWriter(str(work / "parts"), config.outputs.webdataset.shard_max_mb))
    add(
        "write",
        [StagedReader(staged), *marker, *writers, LedgerWriter(str(work / "ledger"))],
        tasks,
        write_after,
        weights=unit_weights,
    )
    config_json = config.model_dump(mode="json")
    decisions = str(layout.decisions)
    tree = str(staged_tree(output))  # what becomes the output folder once the run has succeeded
    finalizer = RunFinalizer(tree, str(work), decisions, config_json, run_info, started_unix)
    add("finalize", [*([DecisionsIndex(layout)] if dedup else []), finalizer], 1, "write")
    add("document", [RunDocumenter(tree, str(work), config_json)], 1, "finalize")
    if config.validation.enabled:
        add("validate", [RunValidator(tree, str(work), config_json)], 1, "finalize")
    return phases
