"""The dataset card: ``OUT/README.md``, a Hugging Face dataset card generated from the finished run.

Its YAML front matter makes the folder loadable with ``datasets.load_dataset(OUT)``: one config per
language (``data/<lang>/*.parquet``), ``all`` (the default) and ``ledger``, each with the features of
its columns derived from :data:`schemas.records.DATA_SCHEMA` (the one definition of the data columns)
and the row counts of the manifest, which ``datasets`` checks on loading. The prose says what the
dataset is, where it came from under which licences and agreements, what each stage did with which
parameters, what became of every input document, how to load it and what it cannot promise; every
number comes from :class:`~pipelines.reports.facts.RunFacts`.

The WebDataset shards get a card of their own, ``OUT/webdataset/README.md``: a dataset card can name
one builder only (``datasets`` takes it from the first config's files), so Parquet and tar shards
cannot share one. Its ``dataset_info`` declares the ``json`` member's fields with the Parquet
columns' types, which ``datasets``' WebDataset builder then uses instead of guessing from the JSON
(``lang_score`` float32, not float64; ``retrieved_at`` a timestamp, not a string). It depends on the
shards only, so the run's finalisation can write it before the manifest lists the files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from pipelines.reports.facts import RunFacts, Volume, kept_volume, licence_volumes
from pipelines.sinks.shards import WEBDATASET_METADATA
from pipelines.stages.language import DEFAULT_THRESHOLD, DEFAULT_THRESHOLDS
from schemas.config import OPTOUT_AGENTS, About, DcatSource, DspSource, FilesSource, PipelineConfig
from schemas.document import Status
from schemas.quality import departures
from schemas.records import DATA_SCHEMA

CARD = "README.md"
WEBDATASET_DIR = "webdataset"
ALL_CONFIG = "all"
LEDGER_CONFIG = "ledger"
SPLIT = "train"
CHARS_PER_TOKEN = 4  # the rule of thumb behind every token estimate in the reports

# Licence ids the Hugging Face Hub knows (lower-cased SPDX where there is one); any other is `other`.
_HF_LICENSE_IDS = """
    apache-2.0 mit afl-3.0 agpl-3.0 artistic-2.0 bsd bsd-2-clause bsd-3-clause bsl-1.0 c-uda cc cc0-1.0
    cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
    cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0
    cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 ecl-2.0 epl-1.0 epl-2.0
    etalab-2.0 eupl-1.1 eupl-1.2 gfdl gpl gpl-2.0 gpl-3.0 isc lgpl lgpl-2.1 lgpl-3.0 mpl-2.0 ms-pl ncsa
    odbl odc-by ofl-1.1 osl-3.0 pddl postgresql unlicense wtfpl zlib
"""
HF_LICENSES = frozenset(_HF_LICENSE_IDS.split())
# Hugging Face size categories: (upper bound, label), by number of rows.
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
LARGEST_SIZE_CATEGORY = "n>1T"

FIELD_MEANINGS = {
    "id": "stable document id: sha1 of `source_uri#locator`",
    "text": "the curated text (main text of web pages, normalised, PII redacted)",
    "lang": "language tag (ISO 639-1 where one exists)",
    "lang_score": "confidence of the language tag, 0 to 1",
    "url": "the web page, for web records",
    "source": "connector that read it: `files`, `dcat` or `dsp`",
    "source_uri": "the file, resource or data-space file the record was read from",
    "license": "the record's licence, else its source's",
    "agreement_id": "Dataspace Protocol contract agreement it was read under",
    "retrieved_at": "when the content was retrieved (WARC date, else the object's modification time)",
    "publisher": "who published the catalogue or data-space dataset",
    "dataset_id": "the catalogue's or data space's dataset id",
    "policy": "the usage-policy decision and the agreed offer's id (data spaces)",
    "content_sha256": "sha256 of the record as read",
    "pii_counts": "redactions per PII type in this document",
}
STAGE_PURPOSES = {
    "optout": "removes web pages whose rights holder reserved them from text and data mining (TDMRep "
    "`tdm-reservation`, robots.txt rules for AI crawlers, `noai` in X-Robots-Tag or meta robots)",
    "extract": "takes the main text of HTML pages (lexbor pruning, trafilatura fallback)",
    "normalize": "Unicode NFC, control and zero-width characters removed, whitespace collapsed",
    "language": "tags the language (heliport, fastText for close relatives) and keeps the configured ones",
    "quality": "per-language Gopher, C4 and FineWeb heuristics remove spam, boilerplate and gibberish",
    "pii": "replaces personal data found by patterns with typed placeholders such as `<EMAIL>`",
    "exact_dedup": "removes documents whose normalised text repeats one read earlier",
    "near_dedup": "removes near copies (MinHash-LSH over word n-grams), keeping the first in input order",
}
SOURCE_HEADERS = ("#", "kind", "location", "inputs", "documents read", "kept", "characters kept", "licences")
STATUS_MEANINGS = {
    Status.KEPT: "in the dataset",
    Status.FILTERED: "removed by a rule (`reason` names it)",
    Status.DUPLICATE: "an exact or near copy of a kept document",
    Status.QUARANTINED: "unusable input (broken record, unsupported content)",
}


# ---------------------------------------------------------------- Markdown helpers (shared by the reports)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A GitHub-flavoured Markdown table; numbers are right-aligned with thousands separators."""
    rows = [list(row) for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[n], int | float) for row in rows) for n in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f} %"


def share(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def estimated_tokens(characters: int) -> int:
    return characters // CHARS_PER_TOKEN


# ---------------------------------------------------------------- features (Arrow -> Hugging Face)


def hf_dtype(arrow_type: pa.DataType) -> str:
    """The ``datasets`` dtype name of a primitive Arrow type (as ``datasets.Value`` spells it)."""
    if pa.types.is_timestamp(arrow_type):
        zone = f", tz={arrow_type.tz}" if arrow_type.tz else ""
        return f"timestamp[{arrow_type.unit}{zone}]"
    return {pa.float16(): "float16", pa.float32(): "float32", pa.float64(): "float64"}.get(
        arrow_type, str(arrow_type)
    )


def hf_feature(arrow_type: pa.DataType) -> dict[str, Any]:
    """One feature's type in a card's ``dataset_info.features`` notation (without its name)."""
    if pa.types.is_struct(arrow_type):
        return {"struct": [hf_field(arrow_type.field(n)) for n in range(arrow_type.num_fields)]}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        value = hf_feature(arrow_type.value_type)
        return {"list": value.get("dtype", value.get("struct", value))}
    return {"dtype": hf_dtype(arrow_type)}


def _type_name(arrow_type: pa.DataType) -> str:
    if pa.types.is_struct(arrow_type):
        fields = (arrow_type.field(n) for n in range(arrow_type.num_fields))
        return "struct<" + ", ".join(f"{f.name}: {_type_name(f.type)}" for f in fields) + ">"
    return hf_dtype(arrow_type)


def hf_field(arrow_field: pa.Field) -> dict[str, Any]:
    return {"name": arrow_field.name, **hf_feature(arrow_field.type)}


def hf_features(fields: Iterable[pa.Field]) -> list[dict[str, Any]]:
    """``dataset_info.features`` of a card for these Arrow fields."""
    return [hf_field(f) for f in fields]


def webdataset_features() -> list[dict[str, Any]]:
    """What ``datasets``' WebDataset builder yields for a shard sample, typed as the Parquet columns:
    ``__key__`` (the id), ``__url__`` (the shard), ``txt`` (the text) and ``json`` (the metadata)."""
    metadata = pa.struct([DATA_SCHEMA.field(name) for name in WEBDATASET_METADATA])
    return [
        {"name": "__key__", "dtype": "string"},
        {"name": "__url__", "dtype": "string"},
        {"name": "txt", **hf_feature(DATA_SCHEMA.field("text").type)},
        {"name": "json", **hf_feature(metadata)},
    ]


# ---------------------------------------------------------------- front matter


def size_category(rows: int) -> str:
    return next((label for bound, label in SIZE_CATEGORIES if rows < bound), LARGEST_SIZE_CATEGORY)


def _hf_license(license_id: str) -> dict[str, str]:
    lowered = license_id.strip().lower()
    if lowered in HF_LICENSES:
        return {"license": lowered}
    return {"license": "other", "license_name": re.sub(r"[^a-z0-9.]+", "-", lowered).strip("-") or "other"}


def license_fields(facts: RunFacts, about: About) -> dict[str, str]:
    """``license`` (and ``license_name`` for `other`): the stated one, else the one all records share."""
    if about.license:
        return _hf_license(about.license)
    known = [license_id for license_id in facts.licenses if license_id]
    if len(known) == 1 and None not in facts.licenses:
        return _hf_license(known[0])
    if not known:
        return {"license": "unknown"}
    return {"license": "other", "license_name": "per-document"}


def _shard_groups(facts: RunFacts, kind: str) -> dict[str, list[dict[str, Any]]]:
    """The manifest's shard files of ``kind`` (``data``, ``webdataset``) by language folder."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in facts.files:
        parts = PurePosixPath(entry["path"]).parts
        if len(parts) == 3 and parts[0] == kind:
            groups[parts[1]].append(entry)
    return dict(sorted(groups.items()))


def _ledger_published(config: PipelineConfig) -> bool:
    return config.publish is None or config.publish.include_ledger


def _config_entry(name: str, pattern: str, default: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"config_name": name, "data_files": [{"split": SPLIT, "path": pattern}]}
    return {**entry, "default": True} if default else entry


def _info_entry(
    out: Path, name: str, files: list[dict[str, Any]], features: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """A config's ``dataset_info``: its features (None: as its files say) and its split's rows, which
    ``datasets`` checks on loading, with the data's uncompressed size (from the Parquet footers)."""
    info: dict[str, Any] = {"config_name": name}
    if features is not None:
        info["features"] = features
    size = sum(_uncompressed_bytes(out / f["path"]) for f in files)
    info["splits"] = [
        {"name": SPLIT, "num_bytes": size, "num_examples": sum(f.get("rows", 0) for f in files)}
    ]
    info["download_size"] = sum(f["bytes"] for f in files)
    info["dataset_size"] = size
    return info


def _uncompressed_bytes(parquet: Path) -> int:
    metadata = pq.ParquetFile(parquet).metadata
    return sum(metadata.row_group(n).total_byte_size for n in range(metadata.num_row_groups))


def front_matter(facts: RunFacts, config: PipelineConfig) -> dict[str, Any]:
    """The card's YAML metadata: Hub fields, and configs and features that ``datasets`` loads by."""
    by_lang = _shard_groups(facts, "data")
    data_files = [entry for files in by_lang.values() for entry in files]
    ledger_files = [f for f in facts.files if f["path"].startswith(f"{LEDGER_CONFIG}/")]
    features = hf_features(DATA_SCHEMA)
    configs = [_config_entry(ALL_CONFIG, "data/*/*.parquet", default=True)]
    infos = [_info_entry(facts.out, ALL_CONFIG, data_files, features)]
    for lang, files in by_lang.items():
        configs.append(_config_entry(lang, f"data/{lang}/*.parquet"))
        infos.append(_info_entry(facts.out, lang, files, features))
    if ledger_files and _ledger_published(config):
        configs.append(_config_entry(LEDGER_CONFIG, f"{LEDGER_CONFIG}/*.parquet"))
        infos.append(_info_entry(facts.out, LEDGER_CONFIG, ledger_files, None))  # typed by its own files
    languages = facts.kept_languages
    matter: dict[str, Any] = {"pretty_name": config.about.title or facts.name}
    if languages:
        matter["language"] = languages
        matter["multilinguality"] = "multilingual" if len(languages) > 1 else "monolingual"
    matter.update(license_fields(facts, config.about))
    matter["size_categories"] = [size_category(facts.kept.documents)]
    matter["task_categories"] = ["text-generation"]
    matter["task_ids"] = ["language-modeling"]
    matter["configs"] = configs
    matter["dataset_info"] = infos
    return matter


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: Hub tooling need not resolve YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_front_matter(matter: dict[str, Any]) -> str:
    text = yaml.dump(matter, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{text}---\n"


# ---------------------------------------------------------------- prose


def _location(source: FilesSource | DcatSource | DspSource) -> str:
    if source.kind == "files":
        return f"`{source.url}`"
    if source.kind == "dcat":
        return f"`{source.endpoint}` (query `{source.query}`{f', filter `{source.fq}`' if source.fq else ''})"
    selection = source.dataset or (
        source.datasets if isinstance(source.datasets, str) else ", ".join(source.datasets)
    )
    return f"`{source.endpoint}` (datasets: {selection})"


def _licence_list(licenses: dict[str | None, Volume]) -> str:
    return ", ".join(f"{lic or 'none recorded'} ({v.documents:,})" for lic, v in licenses.items()) or "—"


def _summary(facts: RunFacts, config: PipelineConfig) -> list[str]:
    kept, counts = facts.kept, facts.summary
    languages = ", ".join(facts.kept_languages) or "no tagged language"
    text = [f"# {config.about.title or facts.name}", ""]
    if config.about.description:
        text += [config.about.description.strip(), ""]
    text += [
        f"{kept.documents:,} documents of curated text ({kept.characters:,} characters, about "
        f"{estimated_tokens(kept.characters):,} tokens at {CHARS_PER_TOKEN} characters per token) in "
        f"{languages}, for training language models. The JAIF dataset layer read {counts.inputs:,} "
        f"documents from {len(config.sources)} configured source(s) on {facts.started_at:%Y-%m-%d} and "
        f"kept {share(kept.documents, counts.inputs)} of them; every input document, kept or not, is "
        "accounted for in the ledger with its fate and the reason.",
        "",
    ]
    return text


def _structure(facts: RunFacts, config: PipelineConfig) -> list[str]:
    rows = [[ALL_CONFIG, "every language (default)", facts.summary.data_rows]]
    for lang, files in _shard_groups(facts, "data").items():
        rows.append([lang, f"documents tagged `{lang}`", sum(f.get("rows", 0) for f in files)])
    ledger_rows = sum(f.get("rows", 0) for f in facts.files if f["path"].startswith(f"{LEDGER_CONFIG}/"))
    if ledger_rows and _ledger_published(config):
        rows.append([LEDGER_CONFIG, "every input document and its fate (see below)", ledger_rows])
    fields = [[f"`{f.name}`", f"`{_type_name(f.type)}`", FIELD_MEANINGS.get(f.name, "")] for f in DATA_SCHEMA]
    return [
        "## Dataset structure",
        "",
        "One split, `train`, in these configs:",
        "",
        *markdown_table(["config", "content", "rows"], rows),
        "",
        "Columns of the data (Parquet `data/<lang>/part-XXXXX.parquet`, zstd; the WebDataset shards "
        "`webdataset/<lang>/shard-XXXXXX.tar` hold the same documents as `<id>.txt` + `<id>.json`):",
        "",
        *markdown_table(["column", "type", "meaning"], fields),
        "",
    ]


def _source_row(index: int, source: FilesSource | DcatSource | DspSource, facts: RunFacts) -> list[Any]:
    inputs = [i for i in facts.inputs if i.source_index == index]
    kept, read = kept_volume(inputs), sum(i.documents for i in inputs)
    licences = _licence_list(licence_volumes(inputs))
    return [
        index,
        source.kind,
        _location(source),
        len(inputs),
        read,
        kept.documents,
        kept.characters,
        licences,
    ]


def _sources(facts: RunFacts, config: PipelineConfig) -> list[str]:
    rows = [_source_row(index, source, facts) for index, source in enumerate(config.sources)]
    lines = ["## Sources and licences", "", *markdown_table(SOURCE_HEADERS, rows), ""]
    unattributed = [f"`{i.source_uri}`" for i in facts.inputs if i.source_index is None]
    if unattributed:
        lines += [f"Inputs not traced to a configured source: {', '.join(unattributed)}.", ""]
    lines += [*_agreements(facts), "### Licences", ""]
    lines += markdown_table(
        ["licence", "documents", "characters"],
        [[lic or "none recorded", v.documents, v.characters] for lic, v in facts.licenses.items()],
    )
    return [*lines, "", *_licence_note(facts, config.about), ""]


def _agreements(facts: RunFacts) -> list[str]:
    reports = facts.summary.datasets
    if not reports:
        return []
    rows = [
        [
            r.get("dataset_id"),
            r.get("publisher"),
            r.get("decision"),
            r.get("reason"),
            r.get("agreement_id"),
            r.get("policy_id"),
            r.get("documents_in", 0),
            r.get("documents_kept", 0),
        ]
        for r in reports
    ]
    return [
        "### Data-space datasets and agreements",
        "",
        "Each dataset's usage policy (ODRL) was judged before contracting; only `allow` was negotiated, "
        "and its documents carry the contract agreement in `agreement_id`.",
        "",
        *markdown_table(
            ["dataset", "publisher", "decision", "reason", "agreement", "policy", "documents in", "kept"],
            rows,
        ),
        "",
    ]


def _licence_note(facts: RunFacts, about: About) -> list[str]:
    note = []
    if about.license:
        note.append(f"The dataset as a whole is released under {about.license}, as stated by its provider.")
    else:
        note.append("Each document keeps its own licence, in the `license` column; use them as they require.")
    unlicensed = facts.licenses.get(None)
    if unlicensed:
        note.append(
            f"{unlicensed.documents:,} documents carry no licence; for web pages, their use for training "
            "rests on the text and data mining exception (Art. 4 of the EU DSM Directive), with "
            "machine-readable opt-outs respected as far as the configured checks go (see Processing)."
        )
    return [" ".join(note)]


def stage_purpose(stage: Any) -> str:
    """What a stage does; for near dedup, whether and how it sets site boilerplate aside (its settings)."""
    purpose = STAGE_PURPOSES.get(stage.kind, stage.kind)
    if stage.kind != "near_dedup":
        return purpose
    boilerplate = stage.boilerplate
    if not boilerplate.enabled:
        return f"{purpose}; it compares whole texts (site boilerplate is not set aside)"
    return (
        f"{purpose}; it compares texts without their site's boilerplate, the lines that recur on pages "
        "of different articles of one site (menus, teasers, footers: a line of at most "
        f"{boilerplate.short_line_words} words on {boilerplate.short_line_contents} such pages, any line "
        f"on {boilerplate.min_contents}), found by line statistics over the whole run and set aside "
        f"before signing; a page left with fewer than {boilerplate.min_words} words is nobody's near "
        "copy, and exact dedup still compares whole texts"
    )


def stage_parameters(stage: Any) -> str:
    """A stage's settings as ``name: value`` text, defaults spelled out where the config leaves them out
    (near dedup's boilerplate settings are in :func:`stage_purpose`'s words)."""
    settings = stage.model_dump(mode="json", exclude={"kind", "enabled"})
    if stage.kind == "near_dedup":
        del settings["boilerplate"]
    if stage.kind == "optout" and settings.get("agents") is None:
        settings["agents"] = list(OPTOUT_AGENTS)
    if stage.kind == "language":
        defaults = {lang: DEFAULT_THRESHOLDS.get(lang, DEFAULT_THRESHOLD) for lang in stage.languages}
        settings["thresholds"] = {**defaults, **(settings.get("thresholds") or {})}
    if stage.kind == "quality":
        settings["thresholds"] = quality_thresholds_text(stage.thresholds)
    parts = []
    for name, value in settings.items():
        if value is None:
            value = "none"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{name}: {value}")
    return "; ".join(parts)


def quality_thresholds_text(thresholds: dict[str, Any]) -> str:
    """The quality thresholds that differ from the published Gopher / C4 / FineWeb values, per language."""
    changed = departures(thresholds)
    per_language = "; ".join(
        f"{lang} "
        + ", ".join(
            f"{rule} {'–'.join(map(str, v)) if isinstance(v, list) else v}" for rule, v in rules.items()
        )
        for lang, rules in changed.items()
    )
    exceptions = f", except {per_language}" if changed else ""
    return f"the published Gopher / C4 / FineWeb values{exceptions} (every value in manifest.json)"


def _processing(config: PipelineConfig) -> list[str]:
    stages = config.active_stages()
    lines = ["## Processing", "", "The stages ran in this order on every document:", ""]
    for n, stage in enumerate(stages, 1):
        parameters = stage_parameters(stage)
        detail = f" ({parameters})" if parameters else ""
        lines.append(f"{n}. **{stage.kind}**: {stage_purpose(stage)}{detail}.")
    if not stages:
        lines.append("None: the documents were read and written as they are.")
    return [*lines, ""]


def _counts(facts: RunFacts) -> list[str]:
    counts = facts.summary
    statuses = [
        [
            f"`{s}`",
            STATUS_MEANINGS[s],
            counts.by_status.get(s, 0),
            share(counts.by_status.get(s, 0), counts.inputs),
        ]
        for s in Status
    ]
    by_lang = [
        [lang, *(per.get(s, 0) for s in Status), facts.languages.get(lang, Volume()).characters]
        for lang, per in counts.by_lang.items()
    ]
    reasons = sorted(counts.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [
        "## What became of the input",
        "",
        f"{counts.inputs:,} documents were read.",
        "",
        *markdown_table(["status", "meaning", "documents", "share"], statuses),
        "",
        "By language tag (`und`: none could be given):",
        "",
        *markdown_table(["language", *(str(s) for s in Status), "characters kept"], by_lang),
        "",
        "By reason (`stage:rule`):",
        "",
        *markdown_table(["reason", "documents"], [[f"`{r}`", n] for r, n in reasons]),
        "",
    ]
    if any(counts.pii.values()):
        lines += ["Personal data redacted in the kept documents:", ""]
        lines += markdown_table(["type", "redactions"], [[t, n] for t, n in counts.pii.items()])
        lines.append("")
    return lines


def _shard_pattern(files: list[dict[str, Any]]) -> str:
    """One language's shards as a brace pattern in the WebDataset folder: ``de/shard-{000000..000002}.tar``"""
    paths = sorted(PurePosixPath(f["path"]) for f in files)
    lang = paths[0].parent.name
    if len(paths) == 1:
        return f"{lang}/{paths[0].name}"
    first, last = (p.stem.split("-", 1)[1] for p in (paths[0], paths[-1]))
    return f"{lang}/shard-{{{first}..{last}}}.tar"


def _loading(facts: RunFacts, config: PipelineConfig) -> list[str]:
    hub = config.publish is not None and config.publish.kind == "hub"
    where = config.publish.repo_id if hub else str(facts.out)
    languages = list(_shard_groups(facts, "data"))
    example = languages[0] if languages else ALL_CONFIG
    python = [
        "from datasets import load_dataset",
        "",
        f'dataset = load_dataset("{where}", split="train")  # every language',
        f'{example} = load_dataset("{where}", "{example}", split="train")',
    ]
    if _ledger_published(config):
        python.append(f'ledger = load_dataset("{where}", "{LEDGER_CONFIG}", split="train")')
    lines = ["## How to load", "", "```python", *python, "```", ""]
    shards = _shard_groups(facts, WEBDATASET_DIR)
    if not shards:
        return lines
    if hub:
        folder = [
            "from huggingface_hub import snapshot_download",
            "",
            f'local = snapshot_download("{where}", repo_type="dataset", allow_patterns="{WEBDATASET_DIR}/*")',
            f'shards_dir = local + "/{WEBDATASET_DIR}"',
        ]
    else:
        folder = [f'shards_dir = "{facts.out / WEBDATASET_DIR}"']
    return [
        *lines,
        "The WebDataset shards (one sample per document: `__key__` the id, `txt` the text, `json` the other "
        "columns) load with `datasets`, typed as the Parquet columns by `webdataset/README.md`, or with the "
        "`webdataset` library:",
        "",
        "```python",
        *folder,
        'shards = load_dataset(shards_dir, split="train")',
        "",
        "import webdataset as wds",
        "",
        f'urls = shards_dir + "/{_shard_pattern(next(iter(shards.values())))}"',
        "for sample in wds.WebDataset(urls, shardshuffle=False).decode():",
        '    text, metadata = sample["txt"], sample["json"]',
        "```",
        "",
    ]


def _limitations(config: PipelineConfig) -> list[str]:
    kinds = {stage.kind for stage in config.active_stages()}
    notes = [
        "Curation is automatic: no person has read the documents.",
        "Language tags are automatic (heliport, with fastText between close relatives); short, "
        "mixed-language or dialect texts can be tagged wrongly; `lang_score` says how sure the tagger was."
        if "language" in kinds
        else "No language identification ran: `lang` is what the source said, if anything.",
        "The quality filters are heuristics (Gopher, C4, FineWeb rules with per-language settings); they "
        "remove some good text and miss some bad text."
        if "quality" in kinds
        else "No quality filter ran.",
        "PII redaction is pattern-based (e-mail addresses, IP addresses, phone numbers, IBANs, national ids "
        "with a keyword): names, postal addresses and other personal data are not redacted."
        if "pii" in kinds
        else "No PII redaction ran: the texts may contain personal data.",
        "Duplicates are removed within this dataset only, not against other datasets."
        if kinds & {"exact_dedup", "near_dedup"}
        else "No deduplication ran.",
        "Opt-outs are judged from machine-readable signals in the records and in policy files collected "
        "beforehand; nothing is fetched at run time, and a site without a collected robots.txt or "
        "tdmrep.json counts as having no reservation from that signal."
        if "optout" in kinds
        else "No TDM opt-out check ran on web pages.",
        "Licences are as declared by the sources; they are not verified.",
        "The ledger (`ledger/*.parquet`) has one row per input document: `id`, `source_uri`, its locator, "
        "`status` (kept, filtered, duplicate, quarantined), `reason` (`stage:rule`), `duplicate_of`, "
        "language, length and the evidence a decision rests on. It is the audit trail, not training data.",
    ]
    return ["## Known limitations", "", *(f"- {note}" for note in notes), ""]


def _provenance(facts: RunFacts, config: PipelineConfig) -> list[str]:
    run = facts.manifest["run"]
    lines = [
        "## Provenance",
        "",
        f"Run `{facts.name}` started {run['started_at']} on the `{run['engine']}` engine "
        f"({run.get('tasks', 0)} tasks; {run.get('seconds', 0)} s). `manifest.json` lists every file with "
        "its size, sha256 and rows, the run's counts, its full config and the package versions; "
        "`ai_act_summary.md` (and `.json`) is the EU AI Act public summary of the training content.",
        "",
    ]
    if config.about.contact:
        lines += [f"Contact: {config.about.contact}", ""]
    return lines


def card_text(facts: RunFacts, config: PipelineConfig) -> str:
    sections = [
        _summary(facts, config),
        _structure(facts, config),
        _sources(facts, config),
        _processing(config),
        _counts(facts),
        _loading(facts, config),
        _limitations(config),
        _provenance(facts, config),
    ]
    return (
        render_front_matter(front_matter(facts, config)) + "\n" + "\n".join(sum(sections, [])).rstrip() + "\n"
    )


def write_dataset_card(out: Path, config: PipelineConfig, *, facts: RunFacts | None = None) -> Path:
    """Write ``OUT/README.md`` for the finished run in ``out``; ``facts`` when already loaded."""
    facts = facts or RunFacts.load(out)
    path = out / CARD
    path.write_text(card_text(facts, config), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the WebDataset card


def webdataset_card_text(languages: Sequence[str]) -> str:
    features = webdataset_features()
    configs = [_config_entry(ALL_CONFIG, "*/*.tar", default=True)]
    configs += [_config_entry(lang, f"{lang}/*.tar") for lang in languages]
    infos = [{"config_name": c["config_name"], "features": features} for c in configs]
    body = [
        "# WebDataset shards",
        "",
        "The documents of the dataset described in `../README.md`, one tar sample per document: `<id>.txt` "
        "(the text) and `<id>.json` (the other columns). This card types the `json` fields as the Parquet "
        "columns (`lang_score` float32, `retrieved_at` a UTC timestamp, `pii_counts` a struct of int32), so "
        "`datasets.load_dataset` on this folder gives the same types as the Parquet files; one config per "
        "language.",
    ]
    matter = {"configs": configs, "dataset_info": infos}
    return render_front_matter(matter) + "\n" + "\n".join(body) + "\n"


def write_webdataset_card(out: Path) -> Path | None:
    """Write ``OUT/webdataset/README.md`` when the run wrote WebDataset shards; None when it wrote none.

    It depends on the shard folders only (same shards, same bytes), so the run's finalisation can write
    it before the manifest lists the folder's files.
    """
    folder = out / WEBDATASET_DIR
    languages = (
        sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.tar")))
        if folder.is_dir()
        else []
    )
    if not languages:
        return None
    path = folder / CARD
    path.write_text(webdataset_card_text(languages), encoding="utf-8")
    return path
