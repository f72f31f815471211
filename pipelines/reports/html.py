"""The run report: ``OUT/report.html``, one page that shows what a run did to its input, as plots.

Sections: the run's key numbers; the funnel (documents in, removed by each stage in config order,
kept); removals by reason; the language mix; text lengths of kept documents per language; duplicate
cluster sizes; documents per input file; kept documents per licence; the data-space datasets; PII
redactions; and a few removed examples per reason with their provenance.

The fates, reasons, lengths, duplicate clusters and examples are counted here from the ledger, one
record batch at a time; inputs per config source and licences come from :class:`RunFacts` (the same
figures as the dataset card and the AI Act summary). Both are checked against ``manifest.json``
before the page is written: a report that disagrees with its manifest is an error
(:class:`ReportMismatch`), not a page.

Key numbers sit in cells with stable ``data-*`` attributes (``data-count``, ``data-stage``,
``data-reason``, ``data-lang`` + ``data-status``, ``data-license``, ``data-pii``,
``data-cluster-size``, ``data-config-source`` or ``data-source`` + ``data-status``,
``data-dataset`` + ``data-status``) and carry the plain integer in ``data-value``, so that a test or
a script reads them without scraping prose.

The page is self-contained, for machines without network access: inline CSS, charts drawn here as
inline SVG, no scripts, fonts or external references. Every text that comes from the input (source
URIs, reasons, licences, dataset ids, evidence) is HTML-escaped.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.reports.facts import InputFacts, RunFacts, Volume
from schemas.config import DcatSource, DspSource, FilesSource, PipelineConfig
from schemas.document import Status

REPORT_FILE = "report.html"
STATUSES = tuple(str(s) for s in Status)  # kept, filtered, duplicate, quarantined
REMOVED_STATUSES = tuple(s for s in STATUSES if s != Status.KEPT)
READING_STAGE = "input"  # reasons of records that could not be read (input:*), before any stage
REASON_STAGES = {"lang": "language"}  # reason prefixes that differ from their stage's config kind
NO_REASON = "(no reason recorded)"
NO_LICENSE = "(none recorded)"
LEDGER_COLUMNS = ("id", "source_uri", "status", "reason", "duplicate_of", "lang", "n_chars")
PROVENANCE_COLUMNS = ("source_id", "locator", "url", "dataset_id", "agreement_id", "evidence")
BATCH_ROWS = 65_536
BINS_PER_DECADE = 8  # length histogram bins: [10^(i/8), 10^((i+1)/8)) characters
EXAMPLES_PER_REASON = 3
EXCERPT_CHARS = 300
SOURCE_ROWS = 100  # the input files with most documents; the rest are summed in one row
STATUS_COLOURS = {"kept": "#2e7d32", "filtered": "#ef6c00", "duplicate": "#1565c0", "quarantined": "#c62828"}
BAR_COLOUR = "#5c6bc0"


class ReportMismatch(RuntimeError):
    """The ledger's counts differ from manifest.json's: the output folder is not one consistent run."""


# ---------------------------------------------------------------- counting


@dataclass
class LedgerTally:
    """What the ledger says about a run, counted one record batch at a time."""

    by_status: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # every row with a reason, as the manifest counts
    removed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, status) of rows not kept
    by_language: dict[str, Counter[str]] = field(default_factory=dict)
    kept_lengths: dict[str, Counter[int]] = field(default_factory=dict)  # lang -> length bin -> documents
    # the representatives named by duplicate rows, kept as Arrow arrays (tens of bytes per duplicate)
    duplicate_of: list[pa.Array] = field(default_factory=list)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # reason -> a few removed rows

    @property
    def inputs(self) -> int:
        return sum(self.by_status.values())

    def add(self, batch: pa.RecordBatch) -> None:
        table = pa.Table.from_batches([batch]).set_column(
            batch.schema.get_field_index("lang"), "lang", pc.fill_null(batch.column("lang"), "und")
        )
        self._count(table)
        kept = table.filter(pc.equal(table["status"], str(Status.KEPT)))
        self._add_lengths(kept)
        removed = table.filter(pc.not_equal(table["status"], str(Status.KEPT)))
        self._add_duplicates(removed)
        self._add_examples(removed)

    def _count(self, table: pa.Table) -> None:
        for row in _group_count(table, ["lang", "status"]):
            self.by_language.setdefault(row["lang"], Counter())[row["status"]] += row["count"]
            self.by_status[row["status"]] += row["count"]
        for row in _group_count(table, ["reason", "status"]):
            if row["reason"] is not None:
                self.reasons[row["reason"]] += row["count"]
            if row["status"] != Status.KEPT:
                self.removed[(row["reason"] or NO_REASON, row["status"])] += row["count"]

    def _add_lengths(self, kept: pa.Table) -> None:
        if kept.num_rows == 0:
            return
        chars = pc.fill_null(kept["n_chars"], 0).to_numpy(zero_copy_only=False)
        bins = pa.array(length_bins(chars))
        lengths = pa.table({"lang": kept["lang"], "bin": bins})
        for row in _group_count(lengths, ["lang", "bin"]):
            self.kept_lengths.setdefault(row["lang"], Counter())[row["bin"]] += row["count"]

    def _add_duplicates(self, removed: pa.Table) -> None:
        self.duplicate_of.append(pc.drop_null(removed["duplicate_of"]).combine_chunks())

    def cluster_sizes(self) -> Counter[int]:
        """Clusters by size: a representative and the rows whose ``duplicate_of`` names it."""
        links = pa.chunked_array(self.duplicate_of, pa.string())
        copies = pc.value_counts(links).field("counts").to_numpy(zero_copy_only=False)
        sizes, clusters = np.unique(copies + 1, return_counts=True)
        return Counter(dict(zip(sizes.tolist(), clusters.tolist(), strict=True)))

    def _add_examples(self, removed: pa.Table) -> None:
        reasons = pc.fill_null(removed["reason"], NO_REASON)
        for reason in pc.unique(reasons).to_pylist():
            chosen = self.examples.setdefault(reason, [])
            wanted = EXAMPLES_PER_REASON - len(chosen)
            if wanted > 0:
                chosen.extend(removed.filter(pc.equal(reasons, reason)).slice(0, wanted).to_pylist())


def _group_count(table: pa.Table, keys: list[str]) -> list[dict[str, Any]]:
    rows = table.group_by(keys).aggregate([([], "count_all")]).to_pylist()
    return [{**row, "count": row.pop("count_all")} for row in rows]


def length_bins(chars: np.ndarray) -> np.ndarray:
    """The log-scale bin of each text length: ``floor(log10(n) * BINS_PER_DECADE)``, lengths below 1 as 1."""
    return np.floor(np.log10(np.maximum(chars, 1)) * BINS_PER_DECADE).astype(np.int64)


def bin_edges(index: int) -> tuple[int, int]:
    """The characters ``[low, high)`` of length bin ``index``, rounded to whole characters."""
    return math.ceil(10 ** (index / BINS_PER_DECADE)), math.ceil(10 ** ((index + 1) / BINS_PER_DECADE))


def tally_ledger(out: Path) -> LedgerTally:
    """Count ``OUT/ledger/*.parquet`` part by part, batch by batch."""
    tally = LedgerTally()
    for part in sorted((out / "ledger").glob("*.parquet")):
        ledger = pq.ParquetFile(part)
        present = set(ledger.schema_arrow.names)
        columns = [c for c in (*LEDGER_COLUMNS, *PROVENANCE_COLUMNS) if c in present]
        for batch in ledger.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            tally.add(batch)
    return tally


def check_against_manifest(tally: LedgerTally, facts: RunFacts, counts: dict[str, Any]) -> None:
    """Raise :class:`ReportMismatch` unless the ledger's numbers, and the facts', are the manifest's."""
    expected = {
        "inputs": counts["inputs"],
        **{status: counts.get(status, 0) for status in STATUSES},
        "reasons": counts["reasons"],
        "by_language": counts["by_language"],
        "documents by input": counts["inputs"],
        "kept documents by licence": counts.get(str(Status.KEPT), 0),
    }
    found = {
        "inputs": tally.inputs,
        **{status: tally.by_status.get(status, 0) for status in STATUSES},
        "reasons": dict(tally.reasons),
        "by_language": {lang: dict(c) for lang, c in tally.by_language.items()},
        "documents by input": sum(item.documents for item in facts.inputs),
        "kept documents by licence": sum(volume.documents for volume in facts.licenses.values()),
    }
    differing = [key for key in expected if expected[key] != found[key]]
    if differing:
        raise ReportMismatch(
            f"the ledger and manifest.json disagree on {', '.join(differing)}; "
            f"e.g. {differing[0]}: manifest {expected[differing[0]]}, ledger {found[differing[0]]}"
        )


# ---------------------------------------------------------------- the funnel


@dataclass(frozen=True)
class FunnelStep:
    """Documents a stage removed, by status, and the documents left after it."""

    stage: str
    removed: Counter[str]
    remaining: int


def stage_of(reason: str) -> str:
    """The stage named by a reason's prefix (``quality:gopher_stop_words`` -> ``quality``)."""
    prefix = reason.split(":", 1)[0]
    return REASON_STAGES.get(prefix, prefix)


def funnel(config: PipelineConfig, tally: LedgerTally) -> list[FunnelStep]:
    """Reading, then each active stage in config order, then any stage the config does not name."""
    removed: dict[str, Counter[str]] = {}
    for (reason, status), count in tally.removed.items():
        removed.setdefault(stage_of(reason), Counter())[status] += count
    order = [READING_STAGE, *(stage.kind for stage in config.active_stages())]
    order += sorted(set(removed) - set(order))
    steps, remaining = [], tally.inputs
    for stage in order:
        by_status = removed.get(stage, Counter())
        remaining -= sum(by_status.values())
        steps.append(FunnelStep(stage, by_status, remaining))
    return steps


# ---------------------------------------------------------------- html pieces


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def data_attrs(attrs: dict[str, object]) -> str:
    return "".join(f' data-{name.replace("_", "-")}="{esc(value)}"' for name, value in attrs.items())


def number_cell(value: int, **attrs: object) -> str:
    """A right-aligned count with its plain integer in ``data-value`` and its ``data-*`` labels."""
    return f'<td class="num"{data_attrs(attrs)} data-value="{value}">{value:,}</td>'


def share_cell(part: int, whole: int) -> str:
    return f'<td class="num">{100 * part / whole:.1f} %</td>' if whole else '<td class="num">–</td>'


def text_cell(value: object, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{esc(value)}</td>" if value is not None else "<td></td>"


def table(headers: Sequence[str], rows: Iterable[str], css: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- charts (inline SVG)


def bar_chart(items: Sequence[tuple[str, int]], chart: str, colours: Sequence[str] = ()) -> str:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    label_w, bar_w, row_h = 270, 400, 22
    top = max((value for _, value in items), default=0) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * row_h
        width = bar_w * value / top
        colour = colours[i] if i < len(colours) else BAR_COLOUR
        rows.append(
            f"<g><title>{esc(label)}: {value:,}</title>"
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(shorten(label, 38))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" fill="{colour}"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 15}">{value:,}</text></g>'
        )
    height = max(len(items), 1) * row_h
    return (
        f'<svg class="chart" data-chart="{esc(chart)}" width="{label_w + bar_w + 90}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 90} {height}" role="img">{"".join(rows)}</svg>'
    )


def funnel_chart(inputs: int, steps: Sequence[FunnelStep]) -> str:
    """Centred bars: the documents left after reading and after each stage."""
    width, row_h, label_w = 720, 26, 170
    span = width - label_w - 80
    rows = [("documents in", inputs, "#455a64")]
    rows += [(f"after {step.stage}", step.remaining, STATUS_COLOURS["kept"]) for step in steps]
    parts = []
    for i, (label, value, colour) in enumerate(rows):
        bar = span * value / inputs if inputs else 0
        x, y = label_w + (span - bar) / 2, i * row_h
        parts.append(
            f"<g><title>{esc(label)}: {value:,}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 6}" fill="{colour}"/>'
            f'<text x="{label_w + span + 8}" y="{y + 17}">{value:,}</text></g>'
        )
    height = len(rows) * row_h
    return (
        f'<svg class="chart" data-chart="funnel" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>'
    )


def histogram(lang: str, counts: Counter[int], first: int, last: int) -> str:
    """Vertical bars of documents per length bin ``first..last`` (a shared axis for every language)."""
    bins = list(range(first, last + 1))
    plot_w, plot_h, left, bottom = 560, 140, 44, 42
    bar_w = plot_w / len(bins)
    top = max(counts.values(), default=0) or 1
    parts = [f'<line x1="{left}" y1="{plot_h}" x2="{left + plot_w}" y2="{plot_h}" stroke="#999"/>']
    for i, index in enumerate(bins):
        value = counts.get(index, 0)
        low, high = bin_edges(index)
        height = plot_h * value / top
        x = left + i * bar_w
        parts.append(
            f"<g><title>{low:,}–{high - 1:,} characters: {value:,} documents</title>"
            f'<rect x="{x + 1:.1f}" y="{plot_h - height:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{height:.1f}" fill="{BAR_COLOUR}"/></g>'
        )
        if index % BINS_PER_DECADE == 0:
            parts.append(f'<text x="{x:.1f}" y="{plot_h + 16}" text-anchor="middle">{low:,}</text>')
    end = bin_edges(last)[1]
    parts.append(f'<text x="{left + plot_w:.1f}" y="{plot_h + 16}" text-anchor="middle">{end:,}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{plot_h + 36}" text-anchor="middle">characters</text>'
    )
    parts.append(f'<text x="{left - 6}" y="12" text-anchor="end">{top:,}</text>')
    width, height = left + plot_w + 24, plot_h + bottom
    return (
        f'<svg class="chart" data-chart="length-histogram" data-histogram="{esc(lang)}" '
        f'data-documents="{sum(counts.values())}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>'
    )


# ---------------------------------------------------------------- sections


@dataclass
class RunFigures:
    """Everything the page shows: the manifest, the config and what the ledger and data say."""

    manifest: dict[str, Any]
    config: PipelineConfig
    tally: LedgerTally
    facts: RunFacts

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]

    @property
    def kept(self) -> int:
        return self.tally.by_status.get(str(Status.KEPT), 0)


def overview_section(figures: RunFigures) -> str:
    run = figures.manifest.get("run", {})
    facts = [
        ("run", figures.manifest.get("name")),
        ("started", run.get("started_at")),
        ("seconds", run.get("seconds")),
        ("engine", f"{run.get('engine')} ({run.get('workers')} workers, {run.get('tasks')} tasks)"),
        ("stages", " → ".join(stage.kind for stage in figures.config.active_stages()) or "none"),
    ]
    about = "".join(f"<tr><th>{esc(k)}</th>{text_cell(v)}</tr>" for k, v in facts)
    inputs = figures.tally.inputs
    rows = [
        f"<tr><th>documents in</th>{number_cell(inputs, count='inputs')}{share_cell(inputs, inputs)}</tr>"
    ]
    for status in STATUSES:
        count = figures.tally.by_status.get(status, 0)
        rows.append(
            f"<tr><th>{status}</th>{number_cell(count, count=status)}{share_cell(count, inputs)}</tr>"
        )
    data_rows = figures.counts.get("data_rows", figures.kept)
    rows.append(f"<tr><th>rows in data/</th>{number_cell(data_rows, count='data_rows')}<td></td></tr>")
    return section(
        "overview",
        "Run",
        f'<table class="facts">{about}</table>',
        table(["", "documents", "share of input"], rows, "key-numbers"),
    )


def funnel_section(figures: RunFigures) -> str:
    inputs = figures.tally.inputs
    steps = funnel(figures.config, figures.tally)
    rows = [
        f"<tr><th>documents in</th><td></td>{'<td></td>' * len(REMOVED_STATUSES)}{number_cell(inputs)}</tr>"
    ]
    for step in steps:
        removed = sum(step.removed.values())
        cells = "".join(
            number_cell(step.removed.get(s, 0), stage=step.stage, status=s) for s in REMOVED_STATUSES
        )
        rows.append(
            f"<tr><th>{esc(step.stage)}</th>{number_cell(removed, stage=step.stage)}{cells}"
            f"{number_cell(step.remaining)}</tr>"
        )
    rows.append(
        f"<tr><th>kept</th><td></td>{'<td></td>' * len(REMOVED_STATUSES)}{number_cell(figures.kept)}</tr>"
    )
    headers = ["step", "removed", *REMOVED_STATUSES, "remaining"]
    note = (
        "<p>Each removed document is charged to the stage its reason names "
        "(<code>input:*</code> is reading, before any stage); stages in config order.</p>"
    )
    return section("funnel", "Funnel", note, funnel_chart(inputs, steps), table(headers, rows))


def reasons_section(figures: RunFigures) -> str:
    reasons = sorted(figures.tally.reasons.items(), key=lambda item: (-item[1], item[0]))
    statuses = _statuses_by_reason(figures.tally)
    rows = [
        f"<tr>{text_cell(reason, 'mono')}{text_cell(stage_of(reason))}"
        f"{text_cell(', '.join(sorted(statuses.get(reason, ()))))}"
        f"{number_cell(count, reason=reason)}{share_cell(count, figures.tally.inputs)}</tr>"
        for reason, count in reasons
    ]
    body = (
        table(["reason", "stage", "status", "documents", "share of input"], rows) if rows else "<p>None.</p>"
    )
    return section("reasons", "Removals by reason", bar_chart(reasons, "reasons"), body)


def _statuses_by_reason(tally: LedgerTally) -> dict[str, set[str]]:
    statuses: dict[str, set[str]] = {}
    for reason, status in tally.removed:
        statuses.setdefault(reason, set()).add(status)
    return statuses


def languages_section(figures: RunFigures) -> str:
    by_language = figures.tally.by_language
    kept = sorted(
        ((lang, c.get(str(Status.KEPT), 0)) for lang, c in by_language.items() if c.get(str(Status.KEPT))),
        key=lambda item: (-item[1], item[0]),
    )
    order = [lang for lang, _ in kept] + sorted(lang for lang in by_language if lang not in dict(kept))
    rows = []
    for lang in order:
        counts = by_language[lang]
        cells = "".join(number_cell(counts.get(s, 0), lang=lang, status=s) for s in STATUSES)
        total = number_cell(sum(counts.values()), lang=lang, status="all")
        share = share_cell(counts.get(str(Status.KEPT), 0), figures.kept)
        rows.append(f"<tr>{text_cell(lang, 'mono')}{cells}{total}{share}</tr>")
    headers = ["language", *STATUSES, "all", "share of kept"]
    return section(
        "languages",
        "Language mix",
        "<h3>Kept documents per language</h3>",
        bar_chart(kept, "languages"),
        "<h3>Every document per language and fate</h3>",
        table(headers, rows),
    )


def lengths_section(figures: RunFigures) -> str:
    lengths = figures.tally.kept_lengths
    used = [index for counts in lengths.values() for index in counts]
    if not used:
        return section("lengths", "Text lengths", "<p>No kept documents.</p>")
    # whole decades, so that both ends of the axis are labelled
    first = min(used) // BINS_PER_DECADE * BINS_PER_DECADE
    last = (max(used) // BINS_PER_DECADE + 1) * BINS_PER_DECADE - 1
    charts = [
        f"<figure><figcaption>{esc(lang)} — {sum(lengths[lang].values()):,} kept documents</figcaption>"
        f"{histogram(lang, lengths[lang], first, last)}</figure>"
        for lang in sorted(lengths, key=lambda lang: (-sum(lengths[lang].values()), lang))
    ]
    note = (
        f"<p>Characters per kept document (the ledger's <code>n_chars</code>), {BINS_PER_DECADE} bins per "
        "power of ten, the same axis for every language.</p>"
    )
    return section("lengths", "Text lengths of kept documents", note, *charts)


def duplicates_section(figures: RunFigures) -> str:
    sizes = figures.tally.cluster_sizes()
    rows = [
        f"<tr>{number_cell(size)}{number_cell(clusters, cluster_size=size)}"
        f"{number_cell(clusters * (size - 1))}</tr>"
        for size, clusters in sorted(sizes.items())
    ]
    summary = table(
        ["clusters", "duplicates removed", "largest cluster", "duplicates found by dedup"],
        [
            f"<tr>{number_cell(sizes.total(), count='clusters')}"
            f"{number_cell(sum(c * (s - 1) for s, c in sizes.items()), count='duplicate_links')}"
            f"{number_cell(max(sizes, default=0), count='largest_cluster')}"
            f"{number_cell(int(figures.manifest.get('run', {}).get('duplicates_found', 0)))}</tr>"
        ],
    )
    chart = bar_chart(
        [(f"{size} documents", clusters) for size, clusters in sorted(sizes.items())], "clusters"
    )
    detail = (
        table(["cluster size", "clusters", "duplicates removed"], rows) if rows else "<p>No duplicates.</p>"
    )
    note = (
        "<p>A cluster is a kept representative and the documents whose <code>duplicate_of</code> names it; "
        "its size counts the representative.</p>"
    )
    return section("duplicates", "Duplicate clusters", note, summary, chart, detail)


def sources_section(figures: RunFigures) -> str:
    inputs = figures.facts.inputs
    by_source: dict[int | None, list[InputFacts]] = {}
    for item in inputs:
        by_source.setdefault(item.source_index, []).append(item)
    source_rows = [
        _config_source_row(figures.config, index, items)
        for index, items in sorted(by_source.items(), key=lambda entry: (entry[0] is None, entry[0] or 0))
    ]
    ordered = sorted(inputs, key=lambda item: (-item.documents, item.source_uri))
    file_rows = [_input_row(item) for item in ordered[:SOURCE_ROWS]]
    rest = ordered[SOURCE_ROWS:]
    if rest:
        summed: Counter[str] = Counter()
        for item in rest:
            summed.update(item.by_status)
        cells = "".join(number_cell(summed.get(s, 0)) for s in STATUSES)
        file_rows.append(
            f"<tr><td>{len(rest):,} more inputs</td><td></td><td></td>"
            f"{number_cell(sum(summed.values()))}{cells}<td></td></tr>"
        )
    return section(
        "sources",
        "Per source",
        "<h3>Config sources</h3>",
        table(["#", "source", "kind", "inputs", "documents", *STATUSES, "kept characters"], source_rows),
        f"<h3>Inputs (files, resources, data-space files): {len(inputs):,}, the largest first</h3>",
        table(
            ["input (source_uri)", "source", "origin", "documents", *STATUSES, "kept characters"], file_rows
        ),
    )


def _config_source_row(config: PipelineConfig, index: int | None, items: list[InputFacts]) -> str:
    """One config source: what it names, and the documents of its inputs by fate."""
    source = config.sources[index] if index is not None and index < len(config.sources) else None
    label = _source_label(source) if source is not None else "(not attributed to a config source)"
    key = "" if index is None else str(index)
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(item.by_status)
    kept = Volume()
    for item in items:
        kept.add(item.kept.documents, item.kept.characters)
    cells = "".join(number_cell(counts.get(s, 0), config_source=key, status=s) for s in STATUSES)
    return (
        f"<tr>{text_cell(f'#{key}' if key else '')}{text_cell(label, 'mono')}"
        f"{text_cell(source.kind if source is not None else '')}"
        f"{number_cell(len(items))}{number_cell(sum(counts.values()), config_source=key, status='all')}"
        f"{cells}{number_cell(kept.characters)}</tr>"
    )


def _source_label(source: FilesSource | DcatSource | DspSource) -> str:
    if isinstance(source, FilesSource):
        return source.url
    if isinstance(source, DcatSource):
        return f"{source.endpoint} q={source.query}"
    return f"{source.endpoint} {source.dataset or source.datasets}"


def _input_row(item: InputFacts) -> str:
    cells = "".join(number_cell(item.by_status.get(s, 0), source=item.source_uri, status=s) for s in STATUSES)
    index = "" if item.source_index is None else f"#{item.source_index}"
    return (
        f"<tr>{text_cell(item.source_uri, 'mono')}{text_cell(index)}{text_cell(item.origin)}"
        f"{number_cell(item.documents, source=item.source_uri, status='all')}{cells}"
        f"{number_cell(item.kept.characters)}</tr>"
    )


def licenses_section(figures: RunFigures) -> str:
    licenses = [(name or NO_LICENSE, volume) for name, volume in figures.facts.licenses.items()]
    rows = [
        f"<tr>{text_cell(name, 'mono')}{number_cell(volume.documents, license=name)}"
        f"{share_cell(volume.documents, figures.kept)}{number_cell(volume.characters)}</tr>"
        for name, volume in licenses
    ]
    headers = ["licence", "kept documents", "share of kept", "characters"]
    body = table(headers, rows) if rows else "<p>No kept documents.</p>"
    note = "<p>The <code>license</code> column of the data: the record's own licence, else its source's.</p>"
    chart = bar_chart([(name, volume.documents) for name, volume in licenses], "licenses")
    return section("licenses", "Kept documents per licence", note, chart, body)


def datasets_section(figures: RunFigures) -> str:
    datasets = figures.manifest.get("run", {}).get("datasets", [])
    if not datasets:
        return ""
    rows = [
        f'<tr data-dataset="{esc(d.get("dataset_id"))}">{text_cell(d.get("dataset_id"), "mono")}'
        f"{text_cell(d.get('decision'))}{text_cell(d.get('reason'))}{text_cell(d.get('publisher'), 'mono')}"
        f"{text_cell(d.get('agreement_id'), 'mono')}{text_cell(d.get('policy_id'), 'mono')}"
        f"{number_cell(int(d.get('files', 0)))}"
        f"{number_cell(int(d.get('documents_in', 0)), dataset=d.get('dataset_id'), status='all')}"
        f"{number_cell(int(d.get('documents_kept', 0)), dataset=d.get('dataset_id'), status='kept')}</tr>"
        for d in datasets
    ]
    headers = [
        "dataset",
        "decision",
        "reason",
        "publisher",
        "agreement",
        "policy",
        "files",
        "documents",
        "kept",
    ]
    return section("datasets", "Data-space datasets", table(headers, rows))


def pii_section(figures: RunFigures) -> str:
    redactions = list(figures.counts.get("pii_redactions", {}).items())
    rows = [
        f"<tr>{text_cell(kind, 'mono')}{number_cell(int(count), pii=kind)}</tr>" for kind, count in redactions
    ]
    total = sum(int(count) for _, count in redactions)
    rows.append(f"<tr><th>all</th>{number_cell(total, pii='all')}</tr>")
    note = (
        "<p>Redactions in kept documents, per type (each became a placeholder such as "
        "<code>&lt;EMAIL&gt;</code>).</p>"
    )
    return section(
        "pii", "PII redactions", note, bar_chart(redactions, "pii"), table(["type", "redactions"], rows)
    )


def examples_section(figures: RunFigures) -> str:
    examples = figures.tally.examples
    parts = [
        "<p>Removed texts are not kept in the output (<code>data/</code> holds kept documents only), so no "
        f"excerpt is shown: up to {EXAMPLES_PER_REASON} removed documents per reason, with the ledger's "
        "provenance that leads back to the input record.</p>"
    ]
    for reason in sorted(examples):
        rows = [_example_row(reason, row) for row in examples[reason]]
        parts.append(f'<h3 class="mono">{esc(reason)}</h3>')
        parts.append(table(["id", "status", "where it came from", "details"], rows, "examples"))
    return section("examples", "Removed examples", *parts)


def _example_row(reason: str, row: dict[str, Any]) -> str:
    origin = [("source_uri", row.get("source_uri")), ("locator", row.get("locator")), ("url", row.get("url"))]
    origin += [("source_id", row.get("source_id")), ("dataset_id", row.get("dataset_id"))]
    details = [("lang", row.get("lang")), ("n_chars", row.get("n_chars"))]
    details += [("duplicate_of", row.get("duplicate_of")), ("agreement_id", row.get("agreement_id"))]
    evidence = row.get("evidence")
    if evidence:
        details.append(("evidence", shorten(_compact_json(evidence), EXCERPT_CHARS)))
    return (
        f'<tr data-example="{esc(reason)}">{text_cell(row.get("id"), "mono")}{text_cell(row.get("status"))}'
        f"<td>{_field_list(origin)}</td><td>{_field_list(details)}</td></tr>"
    )


def _field_list(fields: Sequence[tuple[str, object]]) -> str:
    return "".join(
        f'<div><span class="key">{esc(k)}</span> <span class="mono">{esc(v)}</span></div>'
        for k, v in fields
        if v is not None and v != ""
    )


def _compact_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(text)


# ---------------------------------------------------------------- the page

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#212121;padding:0 1rem;
 line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{border-bottom:2px solid #e0e0e0;padding-bottom:.2rem;margin-top:2.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
thead th{background:#f5f5f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.mono,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
.key{color:#757575;font-size:.8rem}
svg.chart{display:block;margin:.6rem 0;font-size:12px}
svg.chart text{fill:#424242}
figure{margin:.8rem 0}
figcaption{font-weight:600}
nav a{margin-right:.8rem}
table.examples td{max-width:420px}
"""

# (anchor, navigation title, builder), in page order; a builder returns "" for a section with nothing to show
SECTIONS: tuple[tuple[str, str, Callable[[RunFigures], str]], ...] = (
    ("overview", "Run", overview_section),
    ("funnel", "Funnel", funnel_section),
    ("reasons", "Reasons", reasons_section),
    ("languages", "Languages", languages_section),
    ("lengths", "Lengths", lengths_section),
    ("duplicates", "Duplicates", duplicates_section),
    ("sources", "Sources", sources_section),
    ("licenses", "Licences", licenses_section),
    ("datasets", "Datasets", datasets_section),
    ("pii", "PII", pii_section),
    ("examples", "Examples", examples_section),
)


def render_report(figures: RunFigures) -> str:
    """The whole page as one string."""
    built = [(anchor, title, build(figures)) for anchor, title, build in SECTIONS]
    shown = [(anchor, title, body) for anchor, title, body in built if body]
    nav = "".join(f'<a href="#{anchor}">{esc(title)}</a>' for anchor, title, _ in shown)
    name = esc(figures.manifest.get("name", figures.config.name))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Run report: {name}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>Run report: {name}</h1><nav>{nav}</nav></header>"
        f"<main>{''.join(body for _, _, body in shown)}</main></body></html>\n"
    )


def read_figures(out: Path, config: PipelineConfig, *, facts: RunFacts | None = None) -> RunFigures:
    """The finished run's numbers, checked against its manifest (``facts``: already loaded for ``out``)."""
    facts, tally = facts or RunFacts.load(out), tally_ledger(out)
    check_against_manifest(tally, facts, facts.manifest["counts"])
    return RunFigures(manifest=facts.manifest, config=config, tally=tally, facts=facts)


def write_report(out: Path, config: PipelineConfig, *, facts: RunFacts | None = None) -> Path:
    """Write ``OUT/report.html`` for the finished run in ``out``; its path."""
    page = render_report(read_figures(out, config, facts=facts))
    path = out / REPORT_FILE
    temporary = path.with_name(f".{REPORT_FILE}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(path)
    return path
