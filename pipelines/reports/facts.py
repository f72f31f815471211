"""The facts of a finished run, read in one place for every report about it.

A finished output folder holds ``manifest.json`` (the run, its counts, files and config), the
ledger (every input document and its fate) and the data shards (the kept documents and their
provenance). :meth:`RunFacts.load` reads the manifest and aggregates the ledger and the data
shards' provenance columns with pyarrow, by column and never the text: one ledger part at a time
(one write task, one input unit) joined on ``id`` with the data files its kept rows name, so memory
follows the largest part, not the run. Character volumes are the ledger's ``n_chars`` (the length
of the text as written).

Each input (a ``source_uri``) is traced to the config source it was planned from and classed by
where its content comes from (:class:`Origin`), the distinction the EU AI Act training-content
summary draws between public datasets, third-party datasets and crawled web content.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from glob import has_magic
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.core import split_protocol
from fsspec.utils import glob_translate

from connectors.files import format_from_name
from pipelines.finalize import RunSummary
from schemas.config import DspSource, FilesSource, PipelineConfig, parse_config
from schemas.document import Status
from schemas.records import DATA_SCHEMA, LEDGER_SCHEMA

MANIFEST = "manifest.json"
LEDGER_DIR = "ledger"
WEB_FORMATS = frozenset({"warc", "arc", "wet", "html"})  # web archives and pages: crawled content
OPTOUT_PREFIX = "optout:"

# Columns read by name; any other column (and the text) is left on disk.
_LEDGER_COLUMNS = ("id", "source_uri", "status", "reason", "lang", "n_chars", "shard", "dataset_id")
_DATA_COLUMNS = ("id", "url", "source", "license", "retrieved_at", "publisher")
_EVIDENCE = "evidence"  # the ledger's JSON column: what a decision rests on
_HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]/]*\]|[^:/?#]+)"  # scheme, user, host


class Origin(StrEnum):
    """Where an input's content comes from, in the terms of the AI Act summary's section 2."""

    PUBLIC_DATASET = "public_dataset"  # files and catalogue (DCAT) sources
    THIRD_PARTY = "third_party"  # data-space datasets read under a contract agreement (DSP)
    WEB_CRAWL = "web_crawl"  # web archives and pages (WARC, ARC, WET, HTML) from a files source


@dataclass
class Volume:
    """Documents and their characters."""

    documents: int = 0
    characters: int = 0

    def add(self, documents: int, characters: int) -> None:
        self.documents += documents
        self.characters += characters

    def to_json(self) -> dict[str, int]:
        return {"documents": self.documents, "characters": self.characters}


@dataclass
class InputFacts:
    """One input (a file, a catalogue resource, a data-space file): its documents and what was kept."""

    source_uri: str
    source_index: int | None  # the config source it was planned from; None when it cannot be told
    dataset_id: str | None  # the catalogue / data-space dataset it belongs to
    connector: str  # files | dcat | dsp
    format: str | None  # jsonl, parquet, warc, ... as the reader took it
    origin: Origin
    by_status: Counter[str] = field(default_factory=Counter)
    kept: Volume = field(default_factory=Volume)
    licenses: dict[str | None, Volume] = field(default_factory=dict)  # kept documents by licence
    first_retrieved_at: datetime | None = None  # of the kept documents
    last_retrieved_at: datetime | None = None

    @property
    def documents(self) -> int:
        return sum(self.by_status.values())


@dataclass
class DatasetFacts:
    """A catalogue or data-space dataset: who published it and what of it was kept."""

    dataset_id: str
    publisher: str | None
    kept: Volume = field(default_factory=Volume)


@dataclass
class RunFacts:
    """What a finished run read, kept and removed, and where its content came from."""

    out: Path
    manifest: dict[str, Any]
    config: PipelineConfig  # the config the run used (from the manifest)
    summary: RunSummary  # the manifest's counts (status, language, reason, PII, datasets)
    inputs: list[InputFacts]  # in input order
    languages: dict[str, Volume]  # kept documents by language tag (``und``: none)
    datasets: dict[str, DatasetFacts]  # kept documents by catalogue / data-space dataset id
    domains: dict[Origin, dict[str, Volume]]  # kept documents with a URL, by host (``www.`` dropped)
    optouts: dict[str, Counter[tuple[str, str]]]  # opt-out reason -> (signal, where found) -> documents

    @classmethod
    def load(cls, out: Path) -> RunFacts:
        """Read the finished run in ``out``; raises ``FileNotFoundError`` when it has no manifest."""
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        config = parse_config(manifest["config"], origin=f"{out / MANIFEST}: config")
        summary = RunSummary.from_json(manifest["counts"])
        summary.datasets = list(manifest["run"].get("datasets", []))
        scan = _LedgerScan(out)
        for part in sorted((out / LEDGER_DIR).glob("*.parquet")):
            scan.add_part(part)
        run = manifest["run"]
        inputs = scan.inputs(config, summary.datasets, run.get("inputs", []), run.get("input_sources", {}))
        return cls(
            out=out,
            manifest=manifest,
            config=config,
            summary=summary,
            inputs=inputs,
            languages=dict(sorted(scan.languages.items())),
            datasets=dict(sorted(scan.datasets.items())),
            domains=scan.domains_by_origin({i.source_uri: i.origin for i in inputs}),
            optouts=dict(sorted(scan.optouts.items())),
        )

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def started_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["run"]["started_at"])

    @property
    def files(self) -> list[dict[str, Any]]:
        """The manifest's files: ``path``, ``bytes``, ``sha256`` and, for shards, ``rows``."""
        return list(self.manifest["files"])

    @property
    def kept(self) -> Volume:
        return kept_volume(self.inputs)

    @property
    def kept_languages(self) -> list[str]:
        """Language tags with kept documents, ``und`` (no tag) left out."""
        return [lang for lang, volume in self.languages.items() if volume.documents and lang != "und"]

    @property
    def licenses(self) -> dict[str | None, Volume]:
        """Kept documents by licence (``None``: the record carried none), most documents first."""
        return licence_volumes(self.inputs)

    @property
    def latest_retrieved_at(self) -> datetime | None:
        return max((i.last_retrieved_at for i in self.inputs if i.last_retrieved_at), default=None)

    def inputs_from(self, origin: Origin) -> list[InputFacts]:
        return [i for i in self.inputs if i.origin == origin]

    def volume(self, origin: Origin) -> Volume:
        return kept_volume(self.inputs_from(origin))

    def retrieval_period(self, origin: Origin) -> tuple[datetime | None, datetime | None]:
        """Earliest and latest retrieval of the kept documents from inputs of ``origin``."""
        inputs = self.inputs_from(origin)
        first = min((i.first_retrieved_at for i in inputs if i.first_retrieved_at), default=None)
        last = max((i.last_retrieved_at for i in inputs if i.last_retrieved_at), default=None)
        return first, last

    def top_domains(self, origin: Origin, share: float = 1.0) -> list[tuple[str, Volume]]:
        """Hosts of ``origin`` by characters kept, largest first: the top ``share`` of them, at least one."""
        ranked = sorted(self.domains.get(origin, {}).items(), key=lambda kv: (-kv[1].characters, kv[0]))
        return ranked[: max(1, math.ceil(len(ranked) * share))]


def kept_volume(inputs: Iterable[InputFacts]) -> Volume:
    """What was kept of these inputs, together."""
    total = Volume()
    for item in inputs:
        total.add(item.kept.documents, item.kept.characters)
    return total


def licence_volumes(inputs: Iterable[InputFacts]) -> dict[str | None, Volume]:
    """Kept documents of these inputs by licence (``None``: the record carried none), most first."""
    totals: dict[str | None, Volume] = {}
    for item in inputs:
        for license_id, volume in item.licenses.items():
            totals.setdefault(license_id, Volume()).add(volume.documents, volume.characters)
    return _most_first(totals)


def _most_first(volumes: dict[str | None, Volume]) -> dict[str | None, Volume]:
    return dict(sorted(volumes.items(), key=lambda kv: (-kv[1].documents, kv[0] or "")))


@dataclass
class _InputScan:
    by_status: Counter[str] = field(default_factory=Counter)
    kept: Volume = field(default_factory=Volume)
    licenses: dict[str | None, Volume] = field(default_factory=dict)
    connector: str | None = None  # the data rows' ``source``
    dataset_id: str | None = None
    first_retrieved_at: datetime | None = None
    last_retrieved_at: datetime | None = None


class _LedgerScan:
    """Aggregates ledger parts (joined with their kept rows' data) into per-input and run-wide counts."""

    def __init__(self, out: Path):
        self.out = out
        self.by_input: dict[str, _InputScan] = {}
        self.languages: dict[str, Volume] = {}
        self.datasets: dict[str, DatasetFacts] = {}
        self.domains: dict[tuple[str, str], Volume] = {}  # (source_uri, host)
        self.optouts: dict[str, Counter[tuple[str, str]]] = {}

    def _input(self, source_uri: str | None) -> _InputScan:
        return self.by_input.setdefault(source_uri or "", _InputScan())

    def add_part(self, path: Path) -> None:
        ledger = _read_columns(path, LEDGER_SCHEMA, (*_LEDGER_COLUMNS, _EVIDENCE))
        for row in _counts(ledger, ["source_uri", "status", "dataset_id"]):
            scan = self._input(row["source_uri"])
            scan.by_status[row["status"]] += row["documents"]
            scan.dataset_id = scan.dataset_id or row["dataset_id"]
        self._add_optouts(ledger)
        kept = ledger.filter(pc.equal(ledger["status"], str(Status.KEPT)))
        if kept.num_rows:
            self._add_kept(kept.join(self._data_rows(kept["shard"]), "id", join_type="left outer"))

    def _data_rows(self, shards: pa.ChunkedArray) -> pa.Table:
        tables = [
            _read_columns(self.out / shard, DATA_SCHEMA, _DATA_COLUMNS)
            for shard in pc.unique(shards.drop_null()).to_pylist()
        ]
        empty = pa.schema([DATA_SCHEMA.field(c) for c in _DATA_COLUMNS]).empty_table()
        return pa.concat_tables([empty, *tables], promote_options="permissive")

    def _add_optouts(self, ledger: pa.Table) -> None:
        optouts = ledger.filter(pc.fill_null(pc.starts_with(ledger["reason"], OPTOUT_PREFIX), False))
        for reason, found in zip(optouts["reason"].to_pylist(), optouts[_EVIDENCE].to_pylist(), strict=True):
            self.optouts.setdefault(reason, Counter())[_signal(found)] += 1

    def _add_kept(self, kept: pa.Table) -> None:
        for row in _volumes(kept, ["lang"]):
            self.languages.setdefault(row["lang"] or "und", Volume()).add(row["documents"], row["characters"])
        for row in _volumes(
            kept, ["source_uri", "source"], [("retrieved_at", "min"), ("retrieved_at", "max")]
        ):
            scan = self._input(row["source_uri"])
            scan.kept.add(row["documents"], row["characters"])
            scan.connector = scan.connector or row["source"]
            scan.first_retrieved_at = _earliest(scan.first_retrieved_at, row["retrieved_at_min"])
            scan.last_retrieved_at = _latest(scan.last_retrieved_at, row["retrieved_at_max"])
        for row in _volumes(kept, ["source_uri", "license"]):
            licenses = self._input(row["source_uri"]).licenses
            licenses.setdefault(row["license"], Volume()).add(row["documents"], row["characters"])
        datasets = kept.filter(pc.is_valid(kept["dataset_id"]))
        for row in _volumes(datasets, ["dataset_id", "publisher"]):
            dataset = self.datasets.setdefault(
                row["dataset_id"], DatasetFacts(row["dataset_id"], row["publisher"])
            )
            dataset.kept.add(row["documents"], row["characters"])
        hosts = kept.append_column("host", _hosts(kept["url"]))
        for row in _volumes(hosts.filter(pc.is_valid(hosts["host"])), ["source_uri", "host"]):
            self.domains.setdefault((row["source_uri"] or "", row["host"]), Volume()).add(
                row["documents"], row["characters"]
            )

    def inputs(
        self,
        config: PipelineConfig,
        datasets: list[dict[str, Any]],
        planned: list[str],
        planned_by: dict[str, int],
    ) -> list[InputFacts]:
        """Every input seen in the ledger, planned ones in plan order, traced to its config source."""
        source_of = _SourceAttribution(config, datasets, planned_by)
        order = {uri: n for n, uri in enumerate(planned)}
        inputs = []
        for uri in sorted(self.by_input, key=lambda u: (order.get(u, len(order)), u)):
            scan = self.by_input[uri]
            index = source_of(uri, scan.dataset_id)
            source = config.sources[index] if index is not None else None
            connector = scan.connector or (source.kind if source else "files")
            fmt = (getattr(source, "format", None) if source else None) or format_from_name(uri)
            item = InputFacts(
                source_uri=uri,
                source_index=index,
                dataset_id=scan.dataset_id,
                connector=connector,
                format=fmt,
                origin=_origin(connector, fmt),
                by_status=scan.by_status,
                kept=scan.kept,
                licenses=_most_first(scan.licenses),
                first_retrieved_at=scan.first_retrieved_at,
                last_retrieved_at=scan.last_retrieved_at,
            )
            inputs.append(item)
        return inputs

    def domains_by_origin(self, origin_of: dict[str, Origin]) -> dict[Origin, dict[str, Volume]]:
        domains: dict[Origin, dict[str, Volume]] = {}
        for (uri, host), volume in sorted(self.domains.items()):
            by_host = domains.setdefault(origin_of[uri], {})
            by_host.setdefault(host, Volume()).add(volume.documents, volume.characters)
        return domains


class _SourceAttribution:
    """Which config source planned an input: as the manifest records it (``run.input_sources``), else
    its data-space dataset's report, else the first ``files`` source whose URL or glob matches it (as
    the runner gives a file to the first source that lists it), else the one catalogue source."""

    def __init__(self, config: PipelineConfig, datasets: list[dict[str, Any]], planned_by: dict[str, int]):
        known = range(len(config.sources))
        self.planned_by = {uri: index for uri, index in planned_by.items() if index in known}
        self.by_dataset = {
            d["dataset_id"]: d["source_index"]
            for d in datasets
            if 0 <= d.get("source_index", -1) < len(config.sources)
        }
        self.locations = [
            (index, _location_matcher(source.url))
            for index, source in enumerate(config.sources)
            if isinstance(source, FilesSource)
        ]
        catalogues = [n for n, s in enumerate(config.sources) if not isinstance(s, FilesSource | DspSource)]
        self.catalogue = catalogues[0] if len(catalogues) == 1 else None

    def __call__(self, source_uri: str, dataset_id: str | None) -> int | None:
        if source_uri in self.planned_by:
            return self.planned_by[source_uri]
        if dataset_id in self.by_dataset:
            return self.by_dataset[dataset_id]
        match = next((index for index, matches in self.locations if matches(source_uri)), None)
        if match is None and dataset_id is not None:
            return self.catalogue
        return match


def _location_matcher(url: str) -> Callable[[str], bool]:
    """Whether a ``source_uri`` lies under a files source's URL: the glob, the file, or the folder."""
    protocol, path = split_protocol(url)
    if protocol in (None, "file", "local"):  # relative to the working directory, as the runner resolves it
        protocol, path = "file", os.path.abspath(os.path.expanduser(path))
    prefix = f"{protocol}://"
    if has_magic(path):
        pattern = re.compile(glob_translate(path))
        return lambda uri: uri.startswith(prefix) and pattern.match(uri[len(prefix) :]) is not None
    base = path.rstrip("/")
    return lambda uri: uri.startswith(prefix) and (uri[len(prefix) :] + "/").startswith(base + "/")


def _read_columns(path: Path, schema: pa.Schema, columns: tuple[str, ...]) -> pa.Table:
    """``columns`` of a Parquet file by name; one the file does not have (yet) reads as nulls."""
    present = set(pq.read_schema(path).names)
    table = pq.read_table(path, columns=[c for c in columns if c in present])
    for column in columns:
        if column not in present:
            kind = schema.field(column).type if column in schema.names else pa.string()
            table = table.append_column(column, pa.nulls(table.num_rows, kind))
    return table


def _origin(connector: str, fmt: str | None) -> Origin:
    if connector == "dsp":
        return Origin.THIRD_PARTY
    if connector == "files" and fmt in WEB_FORMATS:
        return Origin.WEB_CRAWL
    return Origin.PUBLIC_DATASET


def _signal(evidence: str | None) -> tuple[str, str]:
    """(signal, where it was found) of an opt-out's evidence JSON; ``unrecorded`` where it has none."""
    try:
        found = json.loads(evidence) if evidence else {}
    except json.JSONDecodeError:
        found = {}
    if not isinstance(found, dict):
        found = {}
    return str(found.get("signal") or "unrecorded"), str(found.get("source") or "unrecorded")


def _counts(table: pa.Table, keys: list[str]) -> list[dict[str, Any]]:
    rows = table.group_by(keys, use_threads=False).aggregate([("id", "count")]).to_pylist()
    return [{**row, "documents": row.pop("id_count")} for row in rows]


def _volumes(
    table: pa.Table, keys: list[str], extra: list[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Documents and characters per group of ``keys`` (plus ``extra`` aggregations, named ``col_fn``)."""
    aggregations = [("id", "count"), ("n_chars", "sum"), *(extra or [])]
    rows = table.group_by(keys, use_threads=False).aggregate(aggregations).to_pylist()
    return [
        {**row, "documents": row.pop("id_count"), "characters": row.pop("n_chars_sum") or 0} for row in rows
    ]


def _hosts(urls: pa.ChunkedArray) -> pa.ChunkedArray:
    """The lower-cased host of each URL, ``www.`` dropped; null where there is no URL."""
    host = pc.struct_field(pc.extract_regex(urls, _HOST), "host")
    return pc.replace_substring_regex(pc.utf8_lower(host), r"^www\.", "")


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)
