"""The run report (``OUT/report.html``): self-contained, its numbers equal the manifest's, untrusted text
escaped, and it renders in a real headless browser (Debian's Chromium) with the same numbers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.finalize import RunSummary
from pipelines.reports.html import ReportMismatch, write_report
from pipelines.runner import run_pipeline
from schemas.config import PII_TYPES, parse_config
from schemas.records import DATA_SCHEMA, LEDGER_SCHEMA
from tests.conftest import sample_config_data

STATUSES = ("kept", "filtered", "duplicate", "quarantined")
SECTIONS = (
    "overview",
    "funnel",
    "reasons",
    "languages",
    "lengths",
    "duplicates",
    "sources",
    "licenses",
    "pii",
    "examples",
)
CHARTS = ("funnel", "reasons", "languages", "clusters", "licenses", "pii")
HOSTILE = '<script>alert("x")</script>'


class NumberCells(HTMLParser):
    """Every element with a ``data-value``: its ``data-*`` labels, integer value and text; and the SVGs."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str], int, str]] = []
        self.svgs: list[dict[str, str]] = []
        self.scripts = 0
        self._open: list[tuple[dict[str, str], int]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        labels = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self.svgs.append(labels)
        if tag == "script":
            self.scripts += 1
        if "data-value" in labels:
            self._open.append((labels, len(self._text)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._open:
            labels, start = self._open.pop()
            value = int(labels.pop("data-value"))
            self.cells.append((labels, value, "".join(self._text[start:]).strip()))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def value(self, **labels: str) -> int:
        """The one cell whose ``data-*`` labels are exactly ``labels``; its shown text must match."""
        wanted = {f"data-{k.replace('_', '-')}": v for k, v in labels.items()}
        found = [
            (value, text)
            for attrs, value, text in self.cells
            if attrs.get("class") == "num" and _data(attrs) == wanted
        ]
        assert len(found) == 1, f"{len(found)} cells labelled {wanted}"
        value, text = found[0]
        assert int(text.replace(",", "")) == value
        return value

    def values(self, label: str) -> dict[str, int]:
        """Cells labelled only ``data-<label>``, by its value."""
        key = f"data-{label}"
        return {attrs[key]: value for attrs, value, _ in self.cells if set(_data(attrs)) == {key}}


def _data(attrs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if k.startswith("data-")}


def parse_page(text: str) -> NumberCells:
    parser = NumberCells()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory) -> Path:
    """The embedded sample, curated once for this module, with its report."""
    out = tmp_path_factory.mktemp("report-sample")
    config = parse_config(sample_config_data(kind="local", workers=1))
    run_pipeline(config, out)
    write_report(out, config)
    return out


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def assert_numbers_equal_manifest(page: NumberCells, manifest: dict) -> None:
    counts = manifest["counts"]
    assert page.value(count="inputs") == counts["inputs"]
    for status in STATUSES:
        assert page.value(count=status) == counts[status]
    assert page.value(count="data_rows") == counts["data_rows"]
    assert page.values("reason") == counts["reasons"]
    for lang, by_status in counts["by_language"].items():
        for status in STATUSES:
            assert page.value(lang=lang, status=status) == by_status.get(status, 0)
    assert page.values("pii") == {**counts["pii_redactions"], "all": sum(counts["pii_redactions"].values())}
    assert sum(page.values("license").values()) == counts["kept"]
    removed = sum(page.values("stage").values())
    assert removed == counts["inputs"] - counts["kept"]
    histograms = {
        svg["data-histogram"]: int(svg["data-documents"]) for svg in page.svgs if "data-histogram" in svg
    }
    kept_by_language = {lang: c["kept"] for lang, c in counts["by_language"].items() if c.get("kept")}
    assert histograms == kept_by_language


def test_report_numbers_equal_the_manifest(sample_out):
    page = parse_page((sample_out / "report.html").read_text(encoding="utf-8"))
    assert_numbers_equal_manifest(page, manifest_of(sample_out))


def test_funnel_charges_each_stage_in_config_order(sample_out):
    text = (sample_out / "report.html").read_text(encoding="utf-8")
    page = parse_page(text)
    reasons = manifest_of(sample_out)["counts"]["reasons"]
    assert page.value(stage="input") == sum(n for r, n in reasons.items() if r.startswith("input:"))
    assert page.value(stage="language") == sum(n for r, n in reasons.items() if r.startswith("lang:"))
    assert page.value(stage="near_dedup", status="duplicate") == reasons["near_dedup:minhash"]
    funnel = text[text.index('<section id="funnel">') : text.index("</section>", text.index('id="funnel"'))]
    stages = re.findall(r'data-stage="([^"]+)" data-value', funnel)
    assert stages == ["input", *(stage["kind"] for stage in sample_config_data()["stages"])]


def test_report_has_every_section_and_its_plots(sample_out):
    text = (sample_out / "report.html").read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in text
    assert 'id="datasets"' not in text  # no data-space source in the sample
    charts = {svg.get("data-chart") for svg in parse_page(text).svgs}
    assert charts == {*CHARTS, "length-histogram"}


def test_duplicate_clusters_come_from_the_ledger(sample_out):
    ledger = pq.read_table(sample_out / "ledger", columns=["duplicate_of"]).column("duplicate_of").to_pylist()
    sizes = Counter(n + 1 for n in Counter(d for d in ledger if d).values())
    page = parse_page((sample_out / "report.html").read_text(encoding="utf-8"))
    assert page.values("cluster-size") == {str(size): clusters for size, clusters in sizes.items()}
    assert page.value(count="duplicate_links") == manifest_of(sample_out)["counts"]["duplicate"]


def test_sources_and_examples_come_from_the_ledger(sample_out):
    ledger = pq.read_table(sample_out / "ledger", columns=["source_uri", "status"]).to_pylist()
    page = parse_page((sample_out / "report.html").read_text(encoding="utf-8"))
    for uri, documents in Counter(row["source_uri"] for row in ledger).items():
        assert page.value(source=uri, status="all") == documents
    for status, documents in Counter(row["status"] for row in ledger).items():
        assert sum(page.value(config_source=str(n), status=status) for n in range(3)) == documents
    text = (sample_out / "report.html").read_text(encoding="utf-8")
    for reason in manifest_of(sample_out)["counts"]["reasons"]:
        assert 1 <= text.count(f'data-example="{reason}"') <= 3


def test_report_is_self_contained(sample_out):
    text = (sample_out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and "<iframe" not in text and "<img" not in text
    assert not re.search(r"""(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert not re.search(r"@import|url\(", text, re.I)
    links = re.findall(r'href="([^"]*)"', text)
    assert links and all(link.startswith("#") for link in links)  # in-page navigation only


def tiny_out(out: Path, reason: str, source_uri: str, license_: str, dataset_id: str) -> None:
    """A consistent finished run of three documents (kept, filtered, duplicate) carrying the given texts."""
    no_pii = {t: 0 for t in PII_TYPES}
    rows = [
        {
            "id": "a",
            "source_uri": source_uri,
            "status": "kept",
            "lang": "de",
            "n_chars": 120,
            "shard": "data/de/part-00000.parquet",
            "pii_counts": no_pii,
            "dataset_id": dataset_id,
        },
        {
            "id": "b",
            "source_uri": source_uri,
            "status": "filtered",
            "reason": reason,
            "lang": "de",
            "n_chars": 5,
            "dataset_id": dataset_id,
        },
        {
            "id": "c",
            "source_uri": source_uri,
            "status": "duplicate",
            "reason": "exact_dedup:content_hash",
            "duplicate_of": "a",
            "lang": "de",
            "n_chars": 120,
            "dataset_id": dataset_id,
        },
    ]
    ledger = pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA)
    (out / "ledger").mkdir(parents=True)
    pq.write_table(ledger, out / "ledger" / "part-00000.parquet")
    data = pa.Table.from_pylist(
        [
            {
                "id": "a",
                "text": "x" * 120,
                "lang": "de",
                "source_uri": source_uri,
                "license": license_,
                "pii_counts": no_pii,
            }
        ],
        schema=DATA_SCHEMA,
    )
    (out / "data" / "de").mkdir(parents=True)
    pq.write_table(data, out / "data" / "de" / "part-00000.parquet")
    summary = RunSummary(inputs=len(rows))
    summary.add_ledger(ledger)
    summary.data_rows = 1
    dataset = {
        "source_index": 0,
        "dataset_id": dataset_id,
        "decision": "allow",
        "reason": HOSTILE,
        "files": 1,
        "documents_in": 3,
        "documents_kept": 1,
    }
    manifest = {
        "name": "tiny",
        "run": {"started_at": "2025-01-01T00:00:00+00:00", "datasets": [dataset], "inputs": [source_uri]},
        "counts": summary.to_json(),
        "files": [],
        "config": sample_config_data(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_untrusted_text_is_escaped(tmp_path):
    reason = f"quality:{HOSTILE}"
    source_uri = f"file:///corpus/{HOSTILE}.jsonl"
    dataset_id = '"><img src=x onerror=alert(1)>'
    tiny_out(tmp_path, reason, source_uri, license_="<b>MIT</b>", dataset_id=dataset_id)
    config = parse_config(sample_config_data())
    text = write_report(tmp_path, config).read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "<b>MIT" not in text
    assert "&lt;script&gt;" in text
    page = parse_page(text)
    assert page.values("reason") == {reason: 1, "exact_dedup:content_hash": 1}  # the attribute round-trips
    assert page.value(source=source_uri, status="all") == 3
    assert page.values("license") == {"<b>MIT</b>": 1}
    assert page.value(dataset=dataset_id, status="kept") == 1


def test_a_report_that_disagrees_with_its_manifest_is_refused(tmp_path):
    tiny_out(tmp_path, "quality:gopher_min_words", "file:///corpus/a.jsonl", "MIT", "d1")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["counts"]["kept"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportMismatch, match="kept"):
        write_report(tmp_path, parse_config(sample_config_data()))
    assert not (tmp_path / "report.html").exists()


def chromium() -> str:
    """The headless browser; CI sets ``JAIF_REQUIRE_CHROMIUM=1`` so that a missing one fails there."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("JAIF_REQUIRE_CHROMIUM"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_report_renders_in_headless_chromium(sample_out, tmp_path):
    browser = chromium()
    command = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        (sample_out / "report.html").as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    page = parse_page(result.stdout)
    assert page.scripts == 0
    charts = Counter(svg.get("data-chart") for svg in page.svgs)
    assert charts == {**{chart: 1 for chart in CHARTS}, "length-histogram": 4}  # one per kept language
    assert sum("data-histogram" in svg for svg in page.svgs) == 4
    assert_numbers_equal_manifest(page, manifest_of(sample_out))
