"""Finishing a run: final shard names, the ledger, the conservation check and the manifest.

:class:`RunFinalizer` is the run's last phase (one task). It reads the write tasks' parts one at a
time, so its memory does not grow with the run: shard files are renamed, ledger parts rewritten
with the final shard names and counted, and the counts checked against what the readers read.
On success it removes the run's work folder; on a failed check it leaves the reason in
``failure.txt`` in the work folder (for the driver's one-line error) and fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from schemas.config import PII_TYPES
from schemas.document import Status

FAILURE_FILE = "failure.txt"
FINAL_NAMES = {"data": ("part", 5, "parquet"), "webdataset": ("shard", 6, "tar")}
REPORTED_PACKAGES = ("jaif-datasets", "datatrove", "pyarrow", "heliport", "trafilatura", "warcio", "pydantic")


class ConservationError(RuntimeError):
    """The ledger does not account for every input document exactly once."""


@dataclass
class RunSummary:
    """What a run did, per language and in total; rendered by the CLI and written to the manifest."""

    inputs: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_lang: dict[str, Counter[str]] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    pii: Counter[str] = field(default_factory=Counter)  # redactions per type in kept documents
    data_rows: int = 0
    by_dataset: dict[str, Counter[str]] = field(default_factory=dict)  # catalogue / data-space datasets
    datasets: list[dict[str, Any]] = field(default_factory=list)  # per-dataset decisions (the manifest's run)

    def add_ledger(self, table: pa.Table) -> None:
        for row in table.group_by(["lang", "status"]).aggregate([("id", "count")]).to_pylist():
            lang = row["lang"] or "und"
            self.by_lang.setdefault(lang, Counter())[row["status"]] += row["id_count"]
            self.by_status[row["status"]] += row["id_count"]
        for row in table.group_by(["reason"]).aggregate([("id", "count")]).to_pylist():
            if row["reason"]:
                self.reasons[row["reason"]] += row["id_count"]
        datasets = table.filter(pc.is_valid(table["dataset_id"]))
        for row in datasets.group_by(["dataset_id", "status"]).aggregate([("id", "count")]).to_pylist():
            self.by_dataset.setdefault(row["dataset_id"], Counter())[row["status"]] += row["id_count"]
        kept = table.filter(pc.equal(table["status"], str(Status.KEPT)))["pii_counts"].combine_chunks()
        for pii_type in PII_TYPES:
            self.pii[pii_type] += pc.sum(pc.struct_field(kept, pii_type)).as_py() or 0

    @classmethod
    def from_json(cls, counts: dict[str, Any]) -> RunSummary:
        """The summary back from the manifest's ``counts`` (what :meth:`to_json` wrote)."""
        summary = cls(inputs=counts["inputs"])
        summary.by_status = Counter({str(s): counts.get(str(s), 0) for s in Status if counts.get(str(s))})
        summary.by_lang = {lang: Counter(c) for lang, c in counts["by_language"].items()}
        summary.reasons = Counter(counts["reasons"])
        summary.pii = Counter(counts["pii_redactions"])
        summary.data_rows = counts.get("data_rows", summary.by_status.get(str(Status.KEPT), 0))
        summary.by_dataset = {d: Counter(c) for d, c in counts.get("by_dataset", {}).items()}
        return summary

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            **{str(s): self.by_status.get(str(s), 0) for s in Status},
            "by_language": {lang: dict(sorted(c.items())) for lang, c in sorted(self.by_lang.items())},
            "reasons": dict(sorted(self.reasons.items())),
            "pii_redactions": {t: self.pii.get(t, 0) for t in PII_TYPES},
            "data_rows": self.data_rows,
            "by_dataset": {d: dict(sorted(c.items())) for d, c in sorted(self.by_dataset.items())},
        }


def _rename_parts(parts_dir: Path, out: Path, plan_file: Path) -> dict[str, str]:
    """Move ``<parts>/<kind>/<lang>/<rank>-<k>.<ext>`` to their final names; return part -> final path.

    The names are decided once and kept in ``plan_file`` before anything moves, so a finalize task
    that is run again after dying half-way moves the rest under the same names.
    """
    if plan_file.exists():
        mapping = json.loads(plan_file.read_text())
    else:
        mapping = {}
        for kind, (stem, width, ext) in FINAL_NAMES.items():
            kind_dir = parts_dir / kind
            if not kind_dir.is_dir():
                continue
            for lang_dir in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
                for n, part in enumerate(sorted(lang_dir.glob(f"*.{ext}"))):
                    final = f"{kind}/{lang_dir.name}/{stem}-{n:0{width}d}.{ext}"
                    mapping[part.relative_to(parts_dir).as_posix()] = final
        plan_file.write_text(json.dumps(mapping))
    for part, final in mapping.items():
        source, target = parts_dir / part, out / final
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        elif not target.exists():
            raise ConservationError(f"shard {part} is neither in the work folder nor at {final}")
    return mapping


def _finalize_ledger(ledger_parts: Path, out: Path, shard_names: dict[str, str], summary: RunSummary) -> None:
    """Write ``OUT/ledger/part-XXXXX.parquet`` with final shard names, one write task's part at a time.

    Ids are unique within each part (checked by the write task, :mod:`pipelines.sinks.ledger`), and
    the parts come from disjoint inputs (one input unit each), so they are unique in the run.
    """
    target = out / "ledger"
    target.mkdir(parents=True, exist_ok=True)
    placed: set[str] = set()
    for part in sorted(ledger_parts.glob("*.parquet")):
        checks = json.loads(part.with_suffix(".checks.json").read_text())
        if checks["repeated_ids"]:
            raise ConservationError(
                f"document id {checks['first_repeated_id']} appears more than once in the ledger"
            )
        table = pq.read_table(part)
        shard_col = table["shard"].to_pylist()
        final = [shard_names.get(s) if s is not None else None for s in shard_col]
        missing = [s for s, f in zip(shard_col, final, strict=True) if s is not None and f is None]
        if missing:
            raise ConservationError(f"ledger names a shard that was never written: {missing[0]}")
        table = table.set_column(table.schema.get_field_index("shard"), "shard", pa.array(final, pa.string()))
        _check_kept_in_shards(out, table, placed)
        pq.write_table(table, target / f"part-{part.stem}.parquet", compression="zstd")
        summary.add_ledger(table)
    written = {p.relative_to(out).as_posix() for p in (out / "data").rglob("*.parquet")}
    if written - placed:
        unplaced = sorted(written - placed)[0]
        raise ConservationError(f"data shard {unplaced} holds rows that the ledger does not place")


def _check_kept_in_shards(out: Path, table: pa.Table, placed: set[str]) -> None:
    """Every kept row of one write task's ledger part is in the data shard its ``shard`` names, and
    those shards hold exactly these documents (a shard is written by one write task, so it is
    checked once, against one part; ``placed`` collects the shards checked so far)."""
    kept = table.filter(pc.equal(table["status"], str(Status.KEPT)))
    if kept["shard"].null_count:
        raise ConservationError("a kept document is in no data shard")
    for shard in sorted(pc.unique(kept["shard"]).to_pylist()):
        if shard in placed:
            raise ConservationError(f"ledger parts of two write tasks place documents in {shard}")
        placed.add(shard)
        expected = pc.sort_indices(ids := kept.filter(pc.equal(kept["shard"], shard))["id"])
        held = pq.read_table(out / shard, columns=["id"])["id"]
        if len(held) != len(ids) or not pc.take(ids, expected).equals(pc.take(held, pc.sort_indices(held))):
            raise ConservationError(f"{shard} does not hold exactly the kept documents placed there")


def _file_entry(out: Path, path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    entry: dict[str, Any] = {"path": path.relative_to(out).as_posix(), "bytes": path.stat().st_size}
    entry["sha256"] = digest.hexdigest()
    rows = file_rows(path)
    if rows is not None:
        entry["rows"] = rows
    return entry


def file_rows(path: Path) -> int | None:
    """The documents a shard holds (rows of a Parquet file, samples of a WebDataset tar), or None."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if path.suffix == ".tar":
        with tarfile.open(path) as tar:
            return sum(1 for m in tar.getmembers() if m.name.endswith(".txt"))
    return None


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def finalize_run(
    out: Path,
    work: Path,
    inputs: int,
    config: dict[str, Any],
    run_info: dict[str, Any],
) -> RunSummary:
    """Name the shards, write the ledger and manifest, and check that every document is accounted for."""
    summary = RunSummary(inputs=inputs)
    shard_names = _rename_parts(work / "parts", out, work / "shard_names.json")
    _finalize_ledger(work / "ledger", out, shard_names, summary)

    accounted = sum(summary.by_status.values())
    if accounted != inputs:
        raise ConservationError(f"{inputs} documents were read but the ledger accounts for {accounted}")
    from pipelines.reports.card import write_webdataset_card  # reports.facts reads RunSummary from here

    write_webdataset_card(out)  # the WebDataset folder's own card, typed as the Parquet: listed below
    files = [
        _file_entry(out, p)
        for kind in ("data", "webdataset", "ledger")
        for p in sorted((out / kind).rglob("*.*"))
    ]
    summary.data_rows = sum(f["rows"] for f in files if f["path"].startswith("data/"))
    kept = summary.by_status.get(Status.KEPT, 0)
    if summary.data_rows != kept:
        raise ConservationError(
            f"the ledger has {kept} kept documents but data/ holds {summary.data_rows} rows"
        )

    run_info = {**run_info, "datasets": [_dataset_entry(d, summary) for d in run_info.get("datasets", [])]}
    manifest = {
        "name": config["name"],
        "run": run_info,
        "counts": summary.to_json(),
        "files": files,
        "config": config,
        "packages": _package_versions(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n")
    return summary


def _dataset_entry(report: dict[str, Any], summary: RunSummary) -> dict[str, Any]:
    """A dataset's planning report with the documents read from it and kept."""
    counts = summary.by_dataset.get(report["dataset_id"], Counter())
    return {**report, "documents_in": sum(counts.values()), "documents_kept": counts.get(str(Status.KEPT), 0)}


class RunFinalizer(PipelineStep):
    """The finalize phase's one task: :func:`finalize_run` (the work folder stays for the phases after it)."""

    type = "finalize"
    name = "finalize"

    def __init__(
        self,
        out: str,
        work: str,
        decisions: str,
        config: dict[str, Any],
        run_info: dict[str, Any],
        started_unix: float,
    ):
        super().__init__()
        self.out = out
        self.work = work  # the run's work folder
        self.decisions = decisions  # the dedup decisions file (absent when the run has no dedup)
        self.config = config
        self.run_info = run_info
        self.started_unix = started_unix

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        out, work, decisions = Path(self.out), Path(self.work), Path(self.decisions)
        inputs = sum(json.loads(p.read_text())["documents"] for p in (work / "counts").glob("*.json"))
        run_info = {
            **self.run_info,
            "seconds": round(time.time() - self.started_unix, 3),
            "duplicates_found": pq.ParquetFile(decisions).metadata.num_rows if decisions.exists() else 0,
        }
        try:
            finalize_run(out, work, inputs, self.config, run_info)
        except ConservationError as exc:
            (work / FAILURE_FILE).write_text(f"ledger check failed: {exc}\n")
            raise
        return iter(())
