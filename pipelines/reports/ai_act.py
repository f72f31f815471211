"""The EU AI Act public summary of training content for a finished run: ``ai_act_summary.json`` and ``.md``.

Article 53(1)(d) of the AI Act (Regulation (EU) 2024/1689) has providers of general-purpose AI
models publish a summary of their training content, following the AI Office's "Template for the
Public Summary of Training Content for general-purpose AI models" (July 2025). This module fills the
template's sections for the content of one curated dataset, from the run's facts
(:class:`~pipelines.reports.facts.RunFacts`): 1 general information (provider and model, modality
and size, latest acquisition), 2 the list of data sources (public datasets, third-party datasets,
crawled web content, user data, synthetic data, other), 3 data processing (respect of TDM
reservations, removal of illegal content and personal data, other curation).

The summary is built once as data (:func:`ai_act_summary`, the JSON file, one key per template
section) and the Markdown is rendered from that data, so the two always say the same. What the
pipeline cannot know (the provider, the model, an authorised representative, ...) is ``null`` in the
JSON and "to be completed by the provider" in the text; the config's ``about`` section supplies it.
Token counts are estimates: characters divided by four.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.reports.card import CHARS_PER_TOKEN, estimated_tokens, markdown_table, percent
from pipelines.reports.facts import (
    OPTOUT_PREFIX,
    InputFacts,
    Origin,
    RunFacts,
    Volume,
    kept_volume,
    licence_volumes,
)
from schemas.config import OPTOUT_AGENTS, PipelineConfig
from schemas.document import Status

SUMMARY_JSON = "ai_act_summary.json"
SUMMARY_MD = "ai_act_summary.md"
TEMPLATE = "Template for the Public Summary of Training Content for general-purpose AI models"
TEMPLATE_ISSUER = "European Commission, AI Office"
TEMPLATE_VERSION = "July 2025"
LEGAL_BASIS = "Article 53(1)(d) of Regulation (EU) 2024/1689 (AI Act)"
TO_BE_COMPLETED = "to be completed by the provider"
LARGE_DATASET_SHARE = 0.03  # the template lists by name the public datasets above 3 % of a modality's data
TOP_DOMAIN_SHARE = 0.10  # ... and the top 10 % of crawled domains by content size
# Text size bands of the template, by tokens: (upper bound, label).
TEXT_SIZE_BANDS = (
    (1_000_000_000, "Less than 1 billion tokens"),
    (10_000_000_000_000, "1 billion to 10 trillion tokens"),
)
LARGEST_TEXT_SIZE_BAND = "More than 10 trillion tokens"
THIRD_PARTY_CRAWL = "collected by a third party (Common Crawl-style archives); this pipeline did not crawl"
OPTOUT_SIGNALS = {
    "optout:tdmrep": "W3C TDMRep `tdm-reservation` (HTTP header, HTML meta tag, `/.well-known/tdmrep.json`)",
    "optout:robots": "robots.txt rules for AI crawlers (RFC 9309), `noai` / `noimageai` in X-Robots-Tag "
    "or meta robots",
}
# Ledger reason prefixes (the stage) -> what the curation step is called in section 3.3.
CURATION_STEPS = {
    "input": "unreadable or unusable input (quarantined or filtered)",
    "extract": "no main text in the web page",
    "normalize": "empty after normalisation",
    "lang": "language not among the configured ones, or not identified with confidence",
    "quality": "quality heuristics (spam, boilerplate, gibberish)",
    "exact_dedup": "exact duplicates",
    "near_dedup": "near duplicates",
}


# ---------------------------------------------------------------- the summary as data


def ai_act_summary(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    """The template's sections for this run's content, as JSON-ready data (unknown facts are None)."""
    return {
        "template": {"title": TEMPLATE, "issuer": TEMPLATE_ISSUER, "version": TEMPLATE_VERSION},
        "legal_basis": LEGAL_BASIS,
        "scope": (
            f"the training content curated into the dataset `{facts.name}` by the JAIF dataset layer; a "
            "model trained on further data needs that data in its summary too"
        ),
        "dataset": {
            "name": facts.name,
            "title": config.about.title,
            "run_started_at": facts.manifest["run"]["started_at"],
            "documents_read": facts.summary.inputs,
        },
        "general_information": _general_information(facts, config),
        "data_sources": _data_sources(facts, config),
        "data_processing": _data_processing(facts, config),
    }


def _general_information(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    about, kept = config.about, facts.kept
    latest = facts.latest_retrieved_at
    return {
        "section": "1",
        "provider_and_model": {
            "section": "1.1",
            "provider": about.provider,
            "contact": about.contact,
            "authorised_representative": None,
            "model": about.model,
            "model_dependencies": None,
            "placement_on_market": None,
        },
        "modalities_and_size": {
            "section": "1.2",
            "modalities": ["text"],
            "text": {
                **kept.to_json(),
                "tokens_estimate": estimated_tokens(kept.characters),
                "token_estimate_method": f"characters / {CHARS_PER_TOKEN}",
                "size_band": text_size_band(estimated_tokens(kept.characters)),
            },
            "languages": [
                {"language": lang, **volume.to_json()}
                for lang, volume in facts.languages.items()
                if volume.documents
            ],
        },
        "latest_acquisition": {
            "section": "1.3",
            "date": (latest or facts.started_at).date().isoformat(),
            "basis": "the latest retrieval date (`retrieved_at`) of a kept document"
            if latest
            else "the run's start: no retrieval dates were recorded",
            "continuous_acquisition": None,
        },
    }


def text_size_band(tokens: int) -> str:
    return next((label for bound, label in TEXT_SIZE_BANDS if tokens < bound), LARGEST_TEXT_SIZE_BAND)


def _data_sources(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    unattributed = [i for i in facts.inputs if i.source_index is None and i.origin != Origin.WEB_CRAWL]
    return {
        "section": "2",
        "public_datasets": _public_datasets(facts, config),
        "third_party_datasets": _third_party_datasets(facts),
        "web_crawled": _web_crawled(facts, config),
        "user_data": {
            "section": "2.4",
            "used": False,
            "description": "none: the dataset holds no data from users' interactions with a model or service",
        },
        "synthetic_data": {
            "section": "2.5",
            "used": False,
            "description": "none generated by this pipeline",
        },
        "other_sources": {
            "section": "2.6",
            "used": bool(unattributed),
            "inputs": [_input_entry(i, facts.kept.characters) for i in unattributed],
        },
    }


def _input_entry(item: InputFacts, total_characters: int) -> dict[str, Any]:
    return {
        "source_uri": item.source_uri,
        "format": item.format,
        "documents_read": item.documents,
        "kept": item.kept.to_json(),
        "share_of_text": _share(item.kept.characters, total_characters),
        "licences": _licences(item.licenses),
    }


def _licences(licenses: dict[str | None, Volume]) -> list[dict[str, Any]]:
    return [{"licence": lic, **volume.to_json()} for lic, volume in licenses.items()]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _public_datasets(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    total = facts.kept.characters
    datasets = []
    for index, source in enumerate(config.sources):
        inputs = [i for i in facts.inputs if i.source_index == index and i.origin == Origin.PUBLIC_DATASET]
        if not inputs:
            continue
        kept = kept_volume(inputs)
        datasets.append(
            {
                "source": index,
                "kind": source.kind,
                "location": source.url if source.kind == "files" else source.endpoint,
                "documents_read": sum(i.documents for i in inputs),
                "kept": kept.to_json(),
                "share_of_text": _share(kept.characters, total),
                "large": kept.characters >= LARGE_DATASET_SHARE * total > 0,
                "licences": _licences(licence_volumes(inputs)),
                "catalogue_datasets": _catalogue_datasets(facts, inputs),
                "inputs": [i.source_uri for i in inputs],
            }
        )
    return {"section": "2.1", "used": bool(datasets), "datasets": datasets}


def _catalogue_datasets(facts: RunFacts, inputs: list[InputFacts]) -> list[dict[str, Any]]:
    """The catalogue datasets that ``inputs`` belong to: id, publisher, kept volume."""
    ids = sorted({i.dataset_id for i in inputs if i.dataset_id})
    found = [facts.datasets.get(dataset_id) for dataset_id in ids]
    return [
        {
            "dataset_id": dataset_id,
            "publisher": dataset.publisher if dataset else None,
            "kept": (dataset.kept if dataset else Volume()).to_json(),
        }
        for dataset_id, dataset in zip(ids, found, strict=True)
    ]


def _third_party_datasets(facts: RunFacts) -> dict[str, Any]:
    total = facts.kept.characters
    datasets = []
    for report in facts.summary.datasets:
        if report.get("decision") != "allow":
            continue
        kept = facts.datasets.get(report["dataset_id"])
        volume = kept.kept if kept else Volume()
        datasets.append(
            {
                "dataset_id": report["dataset_id"],
                "provider": report.get("publisher"),
                "agreement_id": report.get("agreement_id"),
                "policy_id": report.get("policy_id"),
                "documents_read": report.get("documents_in", 0),
                "kept": volume.to_json(),
                "share_of_text": _share(volume.characters, total),
            }
        )
    return {
        "section": "2.2",
        "used": bool(datasets),
        "how_obtained": "read from data-space providers under Dataspace Protocol contract agreements",
        "datasets": datasets,
    }


def _web_crawled(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    inputs = facts.inputs_from(Origin.WEB_CRAWL)
    first, last = facts.retrieval_period(Origin.WEB_CRAWL)
    domains = facts.domains.get(Origin.WEB_CRAWL, {})
    top = facts.top_domains(Origin.WEB_CRAWL, TOP_DOMAIN_SHARE) if domains else []
    optout = config.stage("optout")
    return {
        "section": "2.3",
        "used": bool(inputs),
        "crawler": {
            "operated_by_this_pipeline": False,
            "name": None,
            "description": THIRD_PARTY_CRAWL,
            "opt_out_checks_after_collection": optout is not None,
        },
        "collection_period": {
            "from": first.isoformat() if first else None,
            "to": last.isoformat() if last else None,
        },
        "content": "web pages from web archives (WARC, ARC, WET) and HTML files; main text extracted"
        if inputs
        else None,
        "kept": facts.volume(Origin.WEB_CRAWL).to_json(),
        "share_of_text": _share(facts.volume(Origin.WEB_CRAWL).characters, facts.kept.characters),
        "inputs": [_input_entry(i, facts.kept.characters) for i in inputs],
        "domains_total": len(domains),
        "top_domains_rule": f"the top {TOP_DOMAIN_SHARE:.0%} of domains by characters of kept content",
        "top_domains": [{"domain": domain, **volume.to_json()} for domain, volume in top],
    }


def _data_processing(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    return {
        "section": "3",
        "tdm_reservations": _tdm_reservations(facts, config),
        "illegal_content_and_personal_data": _personal_data(facts, config),
        "other_curation": _other_curation(facts, config),
    }


def _tdm_reservations(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    optout = config.stage("optout")
    reasons = facts.summary.reasons
    measures = []
    for reason, signals in OPTOUT_SIGNALS.items():
        evidence = facts.optouts.get(reason, Counter())
        measures.append(
            {
                "reason": reason,
                "signals": signals,
                "documents_removed": reasons.get(reason, 0),
                "by_evidence": [
                    {"signal": signal, "found_in": found_in, "documents": n}
                    for (signal, found_in), n in sorted(evidence.items())
                ],
            }
        )
    reports = facts.summary.datasets
    return {
        "section": "3.1",
        "web_opt_outs": {
            "applied": optout is not None,
            "x_robots_directives": list(optout.x_robots_directives) if optout else [],
            "robots_agents": list(optout.agents or OPTOUT_AGENTS) if optout else [],
            "robots_txt_checked": bool(optout and optout.robots_dir),
            "tdmrep_well_known_checked": bool(optout and optout.tdmrep_dir),
            "documents_removed": sum(reasons.get(r, 0) for r in reasons if r.startswith(OPTOUT_PREFIX)),
            "measures": measures,
        },
        "data_space_usage_policies": {
            "datasets_judged": len(reports),
            "datasets_read": sum(1 for r in reports if r.get("decision") == "allow"),
            "not_read": [
                {"dataset_id": r["dataset_id"], "decision": r.get("decision"), "reason": r.get("reason")}
                for r in reports
                if r.get("decision") != "allow"
            ],
        },
        "code_of_practice_signatory": None,
    }


def _personal_data(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    pii = config.stage("pii")
    return {
        "section": "3.2",
        "illegal_content_measures": None,
        "personal_data": {
            "applied": pii is not None,
            "method": "pattern-based detection, replaced by typed placeholders" if pii else None,
            "types": list(pii.types) if pii else [],
            "redactions": dict(facts.summary.pii),
        },
    }


def _other_curation(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    by_step: dict[str, dict[str, int]] = {step: {} for step in CURATION_STEPS}
    for reason, n in sorted(facts.summary.reasons.items()):
        step = reason.split(":", 1)[0]
        if step in by_step:
            by_step[step][reason] = n
    return {
        "section": "3.3",
        "stages": [stage.kind for stage in config.active_stages()],
        "removed": [
            {"step": step, "description": CURATION_STEPS[step], "documents": sum(r.values()), "by_reason": r}
            for step, r in by_step.items()
            if r
        ],
        "by_status": {str(s): facts.summary.by_status.get(s, 0) for s in Status},
        "duplicates_found": facts.manifest["run"].get("duplicates_found", 0),
    }


# ---------------------------------------------------------------- Markdown from the data


def _known(value: Any) -> str:
    return str(value) if value not in (None, "", []) else f"*{TO_BE_COMPLETED}*"


def _date(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC") if value else f"*{TO_BE_COMPLETED}*"


def _volume_text(volume: dict[str, int]) -> str:
    return f"{volume['documents']:,} documents, {volume['characters']:,} characters"


def render_markdown(summary: dict[str, Any]) -> str:
    """The summary's Markdown, in the template's section order."""
    sections = [
        _md_heading(summary),
        _md_general(summary["general_information"]),
        _md_sources(summary["data_sources"]),
        _md_processing(summary["data_processing"]),
    ]
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"


def _md_heading(summary: dict[str, Any]) -> list[str]:
    template = summary["template"]
    return [
        f"# Public summary of training content: {summary['dataset']['title'] or summary['dataset']['name']}",
        "",
        f"Following the {template['issuer']}'s *{template['title']}* ({template['version']}), under "
        f"{summary['legal_basis']}. It covers {summary['scope']}. Facts this pipeline cannot know are marked "
        f"*{TO_BE_COMPLETED}*; `ai_act_summary.json` holds the same content as data.",
        "",
    ]


def _md_general(general: dict[str, Any]) -> list[str]:
    who, size, latest = (
        general["provider_and_model"],
        general["modalities_and_size"],
        general["latest_acquisition"],
    )
    text = size["text"]
    languages = ", ".join(
        f"{lang['language']} ({lang['documents']:,} documents)" for lang in size["languages"]
    )
    return [
        "## 1. General information",
        "",
        "### 1.1 Provider and model identification",
        "",
        f"- Provider: {_known(who['provider'])}",
        f"- Contact: {_known(who['contact'])}",
        f"- Authorised representative: {_known(who['authorised_representative'])}",
        f"- Model (name and version): {_known(who['model'])}",
        f"- Model dependencies: {_known(who['model_dependencies'])}",
        f"- Date of placement on the Union market: {_known(who['placement_on_market'])}",
        "",
        "### 1.2 Modalities and overall training data size",
        "",
        f"- Modality: {', '.join(size['modalities'])}",
        f"- Size: {text['size_band']} ({_volume_text(text)}; about {text['tokens_estimate']:,} tokens, "
        f"estimated as {text['token_estimate_method']})",
        f"- Languages: {languages or 'none tagged'}",
        "",
        "### 1.3 Latest date of data acquisition",
        "",
        f"- {latest['date']} ({latest['basis']})",
        f"- Continuous acquisition: {_known(latest['continuous_acquisition'])}",
        "",
    ]


def _md_sources(sources: dict[str, Any]) -> list[str]:
    return [
        "## 2. List of data sources",
        "",
        *_md_public(sources["public_datasets"]),
        *_md_third_party(sources["third_party_datasets"]),
        *_md_web(sources["web_crawled"]),
        "### 2.4 User data",
        "",
        sources["user_data"]["description"].capitalize() + ".",
        "",
        "### 2.5 Synthetic data",
        "",
        sources["synthetic_data"]["description"].capitalize() + ".",
        "",
        *_md_other(sources["other_sources"]),
    ]


def _licence_text(licences: list[dict[str, Any]]) -> str:
    return ", ".join(f"{lic['licence'] or 'none recorded'} ({lic['documents']:,})" for lic in licences) or "—"


def _md_public(public: dict[str, Any]) -> list[str]:
    lines = ["### 2.1 Publicly available datasets", ""]
    if not public["used"]:
        return [*lines, "None.", ""]
    rows = [
        [
            f"`{d['location']}`" + (" (large: 3 % or more)" if d["large"] else ""),
            d["kind"],
            d["documents_read"],
            d["kept"]["documents"],
            d["kept"]["characters"],
            percent(d["share_of_text"]),
            _licence_text(d["licences"]),
        ]
        for d in public["datasets"]
    ]
    headers = ["dataset", "kind", "documents read", "kept", "characters kept", "share", "licences (kept)"]
    lines += [*markdown_table(headers, rows), ""]
    catalogue = [c for d in public["datasets"] for c in d["catalogue_datasets"]]
    if catalogue:
        rows = [
            [c["dataset_id"], c["publisher"], c["kept"]["documents"], c["kept"]["characters"]]
            for c in catalogue
        ]
        lines += [
            "Catalogue datasets:",
            "",
            *markdown_table(["dataset", "publisher", "kept", "characters"], rows),
            "",
        ]
    return lines


def _md_third_party(third: dict[str, Any]) -> list[str]:
    lines = ["### 2.2 Private non-publicly available datasets obtained from third parties", ""]
    if not third["used"]:
        return [*lines, "None.", ""]
    rows = [
        [
            d["dataset_id"],
            d["provider"],
            d["agreement_id"],
            d["documents_read"],
            d["kept"]["documents"],
            d["kept"]["characters"],
            percent(d["share_of_text"]),
        ]
        for d in third["datasets"]
    ]
    headers = ["dataset", "provider", "agreement", "documents read", "kept", "characters kept", "share"]
    return [*lines, third["how_obtained"].capitalize() + ".", "", *markdown_table(headers, rows), ""]


def _md_web(web: dict[str, Any]) -> list[str]:
    lines = ["### 2.3 Data crawled and scraped from online sources", ""]
    if not web["used"]:
        return [*lines, "None.", ""]
    period = web["collection_period"]
    crawler = web["crawler"]
    lines += [
        f"- Crawler: {crawler['description']}; crawler name: {_known(crawler['name'])}.",
        f"- Collection period: {_date(period['from'])} to {_date(period['to'])} (retrieval dates of the "
        "kept pages).",
        f"- Content: {web['content']}; kept {_volume_text(web['kept'])} "
        f"({percent(web['share_of_text'])} of the text).",
        f"- Inputs: {', '.join('`' + i['source_uri'] + '`' for i in web['inputs'])}.",
        "",
        f"Most relevant domains: {web['top_domains_rule']} ({len(web['top_domains']):,} of "
        f"{web['domains_total']:,}):",
        "",
        *markdown_table(
            ["domain", "documents", "characters"],
            [[d["domain"], d["documents"], d["characters"]] for d in web["top_domains"]],
        ),
        "",
    ]
    return lines


def _md_other(other: dict[str, Any]) -> list[str]:
    lines = ["### 2.6 Other sources of data", ""]
    if not other["used"]:
        return [*lines, "None.", ""]
    rows = [
        [f"`{i['source_uri']}`", i["kept"]["documents"], i["kept"]["characters"]] for i in other["inputs"]
    ]
    return [*lines, *markdown_table(["input", "kept", "characters"], rows), ""]


def _md_processing(processing: dict[str, Any]) -> list[str]:
    return [
        "## 3. Data processing aspects",
        "",
        *_md_reservations(processing["tdm_reservations"]),
        *_md_personal_data(processing["illegal_content_and_personal_data"]),
        *_md_other_curation(processing["other_curation"]),
    ]


def _md_reservations(reservations: dict[str, Any]) -> list[str]:
    web, spaces = reservations["web_opt_outs"], reservations["data_space_usage_policies"]
    lines = ["### 3.1 Respect of reservation of rights from the text and data mining exception", ""]
    if web["applied"]:
        lines += [
            f"Web pages were checked for machine-readable reservations (Art. 4(3) DSM Directive) before "
            f"their text was extracted; {web['documents_removed']:,} documents were removed. robots.txt "
            f"files {'were' if web['robots_txt_checked'] else 'were not'} collected for the sites, and "
            f"`/.well-known/tdmrep.json` files {'were' if web['tdmrep_well_known_checked'] else 'were not'}; "
            f"HTTP headers and HTML meta tags were checked on every page. AI crawler agents: "
            f"{', '.join(web['robots_agents'])}. Records of datasets (JSON Lines, Parquet, CSV, text) are "
            "not checked: their licences govern their use.",
            "",
        ]
        rows = [
            [
                f"`{m['reason']}`",
                m["signals"],
                m["documents_removed"],
                "; ".join(f"{e['signal']} in {e['found_in']}: {e['documents']:,}" for e in m["by_evidence"])
                or "—",
            ]
            for m in web["measures"]
        ]
        lines += [*markdown_table(["reason", "signals", "documents removed", "found"], rows), ""]
    else:
        lines += ["No opt-out check ran on web pages.", ""]
    if spaces["datasets_judged"]:
        refused = "; ".join(f"{d['dataset_id']}: {d['decision']} ({d['reason']})" for d in spaces["not_read"])
        lines += [
            f"Data-space datasets: {spaces['datasets_judged']:,} usage policies (ODRL) were judged before "
            f"contracting; {spaces['datasets_read']:,} allowed our use and were read"
            + (f"; not read: {refused}." if refused else "."),
            "",
        ]
    signatory = _known(reservations["code_of_practice_signatory"])
    lines += [f"Signatory of the General-Purpose AI Code of Practice: {signatory}.", ""]
    return lines


def _md_personal_data(section: dict[str, Any]) -> list[str]:
    personal = section["personal_data"]
    lines = [
        "### 3.2 Removal of illegal content",
        "",
        f"Measures against illegal content: {_known(section['illegal_content_measures'])} (this pipeline "
        "runs no illegal-content classifier).",
        "",
    ]
    if personal["applied"]:
        counts = ", ".join(f"{t} {n:,}" for t, n in personal["redactions"].items())
        types = ", ".join(personal["types"])
        lines += [
            f"Personal data: {personal['method']}; types {types}; redactions in kept documents: {counts}.",
            "",
        ]
    else:
        lines += ["Personal data: no redaction ran.", ""]
    return lines


def _md_other_curation(other: dict[str, Any]) -> list[str]:
    rows = [[r["step"], r["description"], r["documents"]] for r in other["removed"]]
    statuses = ", ".join(f"{status} {n:,}" for status, n in other["by_status"].items())
    return [
        "### 3.3 Other information",
        "",
        f"Curation stages, in order: {', '.join(other['stages']) or 'none'}. Documents by fate: {statuses}.",
        "",
        *markdown_table(["step", "removed for", "documents"], rows),
        "",
    ]


def write_ai_act_summary(
    out: Path, config: PipelineConfig, *, facts: RunFacts | None = None
) -> tuple[Path, Path]:
    """Write ``OUT/ai_act_summary.md`` and ``.json`` for the finished run in ``out``; returns (md, json)."""
    summary = ai_act_summary(facts or RunFacts.load(out), config)
    markdown, data = out / SUMMARY_MD, out / SUMMARY_JSON
    data.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown.write_text(render_markdown(summary), encoding="utf-8")
    return markdown, data
