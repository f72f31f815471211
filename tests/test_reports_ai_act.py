"""The EU AI Act training-content summary of a real run: its numbers against the manifest and the ledger.

Runs the embedded sample once, writes ``ai_act_summary.json`` and ``.md``, and recomputes what they
state (volumes, languages, acquisition date, opt-outs, PII, sources, domains) from the manifest and
straight from the ledger and data files with pyarrow.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import sample_config_data

from pipelines.reports.ai_act import TO_BE_COMPLETED, ai_act_summary, render_markdown, write_ai_act_summary
from pipelines.reports.facts import RunFacts
from pipelines.runner import run_pipeline
from schemas.config import About, PipelineConfig, parse_config
from schemas.document import Status


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return parse_config(sample_config_data(kind="local", workers=1))


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory, config: PipelineConfig) -> Path:
    out = tmp_path_factory.mktemp("ai-act") / "out"
    run_pipeline(config, out)
    write_ai_act_summary(out, config)
    return out


@pytest.fixture(scope="module")
def summary(sample_out: Path) -> dict[str, Any]:
    return json.loads((sample_out / "ai_act_summary.json").read_text())


@pytest.fixture(scope="module")
def manifest(sample_out: Path) -> dict[str, Any]:
    return json.loads((sample_out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def kept(sample_out: Path) -> list[dict[str, Any]]:
    """Kept ledger rows joined with their data provenance (no text), computed here independently."""
    ledger = ds.dataset(sample_out / "ledger", format="parquet").to_table(
        columns=["id", "status", "n_chars", "source_uri", "lang"]
    )
    data = ds.dataset(sample_out / "data", format="parquet").to_table(columns=["id", "url", "retrieved_at"])
    kept = ledger.filter(pc.equal(ledger["status"], str(Status.KEPT)))
    return kept.join(data, "id").to_pylist()


def _optout_evidence(out: Path) -> Counter[tuple[str, str, str]]:
    ledger = ds.dataset(out / "ledger", format="parquet").to_table(columns=["reason", "evidence"])
    found: Counter[tuple[str, str, str]] = Counter()
    for row in ledger.to_pylist():
        if row["reason"] and row["reason"].startswith("optout:"):
            evidence = json.loads(row["evidence"])
            found[(row["reason"], evidence["signal"], evidence["source"])] += 1
    return found


def test_size_languages_and_date_equal_the_ledger_and_data(
    summary: dict[str, Any], manifest: dict[str, Any], kept: list[dict[str, Any]]
) -> None:
    size = summary["general_information"]["modalities_and_size"]
    characters = sum(row["n_chars"] for row in kept)
    assert size["modalities"] == ["text"]
    assert size["text"]["documents"] == manifest["counts"][Status.KEPT] == len(kept)
    assert size["text"]["characters"] == characters
    assert size["text"]["tokens_estimate"] == characters // 4
    assert size["text"]["size_band"] == "Less than 1 billion tokens"
    by_lang = {
        lang: c[Status.KEPT] for lang, c in manifest["counts"]["by_language"].items() if c.get(Status.KEPT)
    }
    assert {lang["language"]: lang["documents"] for lang in size["languages"]} == by_lang
    latest = summary["general_information"]["latest_acquisition"]
    assert latest["date"] == max(row["retrieved_at"] for row in kept).date().isoformat()


def test_sources_partition_the_kept_documents(
    summary: dict[str, Any], config: PipelineConfig, kept: list[dict[str, Any]]
) -> None:
    sources = summary["data_sources"]
    public, web = sources["public_datasets"], sources["web_crawled"]
    web_rows = [row for row in kept if row["source_uri"].endswith(".warc.gz")]
    assert [d["location"] for d in public["datasets"]] == [config.sources[0].url, config.sources[1].url]
    assert web["used"] and web["kept"] == {
        "documents": len(web_rows),
        "characters": sum(row["n_chars"] for row in web_rows),
    }
    in_public = sum(d["kept"]["documents"] for d in public["datasets"])
    assert in_public + web["kept"]["documents"] == len(kept)
    assert not sources["third_party_datasets"]["used"] and not sources["other_sources"]["used"]
    assert sources["user_data"]["used"] is False and sources["synthetic_data"]["used"] is False
    licences = {lic["licence"] for d in public["datasets"] for lic in d["licences"]}
    assert licences == {"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0"}


def test_top_domains_are_the_largest_tenth_of_crawled_hosts(
    summary: dict[str, Any], kept: list[dict[str, Any]]
) -> None:
    web = summary["data_sources"]["web_crawled"]
    characters: Counter[str] = Counter()
    for row in kept:
        if row["source_uri"].endswith(".warc.gz"):
            characters[urlsplit(row["url"]).hostname.removeprefix("www.")] += row["n_chars"]
    assert web["domains_total"] == len(characters)
    top = web["top_domains"]
    assert len(top) == math.ceil(len(characters) * 0.1)
    assert [d["characters"] for d in top] == sorted(characters.values(), reverse=True)[: len(top)]
    assert all(characters[d["domain"]] == d["characters"] for d in top)
    period = web["collection_period"]
    web_times = [row["retrieved_at"] for row in kept if row["source_uri"].endswith(".warc.gz")]
    assert (period["from"], period["to"]) == (min(web_times).isoformat(), max(web_times).isoformat())
    assert web["crawler"]["operated_by_this_pipeline"] is False and web["crawler"]["name"] is None


def test_opt_outs_equal_the_ledger_reasons_and_evidence(
    sample_out: Path, summary: dict[str, Any], manifest: dict[str, Any]
) -> None:
    web = summary["data_processing"]["tdm_reservations"]["web_opt_outs"]
    reasons = manifest["counts"]["reasons"]
    assert web["applied"] is True
    assert web["documents_removed"] == sum(n for r, n in reasons.items() if r.startswith("optout:")) == 4
    evidence = _optout_evidence(sample_out)
    for measure in web["measures"]:
        assert measure["documents_removed"] == reasons.get(measure["reason"], 0)
        found = {
            (measure["reason"], e["signal"], e["found_in"]): e["documents"] for e in measure["by_evidence"]
        }
        assert found == {key: n for key, n in evidence.items() if key[0] == measure["reason"]}
    assert web["robots_txt_checked"] is False and web["tdmrep_well_known_checked"] is False


def test_personal_data_and_curation_counts_equal_the_manifest(
    summary: dict[str, Any], manifest: dict[str, Any]
) -> None:
    processing = summary["data_processing"]
    personal = processing["illegal_content_and_personal_data"]["personal_data"]
    assert personal["redactions"] == manifest["counts"]["pii_redactions"]
    assert personal["types"] == ["email", "ip", "phone", "iban", "national_id"]
    assert processing["illegal_content_and_personal_data"]["illegal_content_measures"] is None
    curation = processing["other_curation"]
    assert curation["by_status"] == {str(s): manifest["counts"][s] for s in Status}
    removed = {r["step"]: r["documents"] for r in curation["removed"]}
    reasons = manifest["counts"]["reasons"]
    for step in ("quality", "lang", "exact_dedup", "near_dedup"):
        assert removed[step] == sum(n for r, n in reasons.items() if r.startswith(f"{step}:"))


def test_unknown_facts_are_null_and_marked(sample_out: Path, summary: dict[str, Any]) -> None:
    who = summary["general_information"]["provider_and_model"]
    assert who == {
        "section": "1.1",
        "provider": None,
        "contact": None,
        "authorised_representative": None,
        "model": None,
        "model_dependencies": None,
        "placement_on_market": None,
    }
    text = (sample_out / "ai_act_summary.md").read_text()
    for label in ("Provider", "Contact", "Model (name and version)", "Authorised representative"):
        assert f"- {label}: *{TO_BE_COMPLETED}*" in text


def test_markdown_follows_the_template_sections(sample_out: Path, summary: dict[str, Any]) -> None:
    text = (sample_out / "ai_act_summary.md").read_text()
    headings = [line.split(" ", 2)[1] for line in text.splitlines() if line.startswith("##")]
    sections = "1. 1.1 1.2 1.3 2. 2.1 2.2 2.3 2.4 2.5 2.6 3. 3.1 3.2 3.3"
    assert headings == sections.split()
    size = summary["general_information"]["modalities_and_size"]["text"]
    assert f"{size['documents']:,} documents, {size['characters']:,} characters" in text
    for domain in summary["data_sources"]["web_crawled"]["top_domains"]:
        assert f"| {domain['domain']} | {domain['documents']:,} | {domain['characters']:,} |" in text


def test_about_facts_are_used_when_given(sample_out: Path, config: PipelineConfig) -> None:
    about = About(
        provider="ELLIS NRW", model="JAIF-7B v1.0", contact="data@jaif.example.eu", title="JAIF web"
    )
    summary = ai_act_summary(RunFacts.load(sample_out), config.model_copy(update={"about": about}))
    who = summary["general_information"]["provider_and_model"]
    assert (who["provider"], who["model"], who["contact"]) == (about.provider, about.model, about.contact)
    text = render_markdown(summary)
    assert "- Provider: ELLIS NRW" in text and "- Model (name and version): JAIF-7B v1.0" in text
    assert text.startswith("# Public summary of training content: JAIF web\n")


def test_data_space_datasets_and_refusals_are_listed(
    sample_out: Path, config: PipelineConfig, tmp_path: Path
) -> None:
    copy = tmp_path / "out"
    shutil.copytree(sample_out, copy, ignore=shutil.ignore_patterns("logs"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["run"]["datasets"] = [
        {
            "source_index": 3,
            "dataset_id": "urn:jaif:news",
            "decision": "allow",
            "reason": "permitted",
            "publisher": "did:web:provider.example.eu",
            "agreement_id": "urn:uuid:agreement-1",
            "policy_id": "urn:uuid:offer-1",
            "documents_in": 0,
            "documents_kept": 0,
        },
        {
            "source_index": 3,
            "dataset_id": "urn:jaif:crawl",
            "decision": "deny",
            "reason": "prohibited: tdm:mine",
        },
    ]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    summary = ai_act_summary(RunFacts.load(copy), config)
    third = summary["data_sources"]["third_party_datasets"]
    assert third["used"] and [d["agreement_id"] for d in third["datasets"]] == ["urn:uuid:agreement-1"]
    assert third["datasets"][0]["provider"] == "did:web:provider.example.eu"
    policies = summary["data_processing"]["tdm_reservations"]["data_space_usage_policies"]
    assert policies["datasets_judged"] == 2 and policies["datasets_read"] == 1
    assert policies["not_read"] == [
        {"dataset_id": "urn:jaif:crawl", "decision": "deny", "reason": "prohibited: tdm:mine"}
    ]
    text = render_markdown(summary)
    assert "urn:uuid:agreement-1" in text and "urn:jaif:crawl: deny (prohibited: tdm:mine)" in text
