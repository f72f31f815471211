"""The dataset card of a real run, used as a Hugging Face user and the ``webdataset`` library would use it.

Runs the embedded sample once, writes ``OUT/README.md`` and ``OUT/webdataset/README.md``, and loads the
folder with ``datasets`` offline (every language, one language, the ledger), the WebDataset shards with
``datasets`` and with ``webdataset``, and reads the card's front matter and prose against the manifest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import sample_config_data

from pipelines.reports.card import (
    card_text,
    hf_features,
    size_category,
    stage_purpose,
    write_dataset_card,
    write_webdataset_card,
)
from pipelines.reports.facts import RunFacts
from pipelines.runner import run_pipeline
from pipelines.sinks.shards import WEBDATASET_METADATA
from schemas.config import About, PipelineConfig, parse_config
from schemas.document import Status
from schemas.records import DATA_SCHEMA

# Imported before any test sets HF_HUB_OFFLINE, so that the libraries' import-time settings stay as the
# session found them; the fixture below patches them for these tests only.
datasets = pytest.importorskip("datasets")
huggingface_hub = pytest.importorskip("huggingface_hub")
webdataset = pytest.importorskip("webdataset")


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return parse_config(sample_config_data(kind="local", workers=1))


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory, config: PipelineConfig) -> Path:
    out = tmp_path_factory.mktemp("card") / "out"
    run_pipeline(config, out)
    write_webdataset_card(out)
    write_dataset_card(out, config)
    return out


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An offline ``datasets`` with its home and caches in a temporary folder."""
    home = tmp_path_factory.mktemp("hf-home")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "HF_HOME": str(home),
            "HF_DATASETS_CACHE": str(home / "datasets"),
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
        }.items():
            patch.setenv(name, value)
        patch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        patch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
        patch.setattr(datasets.config, "HF_CACHE_HOME", str(home))
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
        patch.setattr(datasets.config, "HF_MODULES_CACHE", home / "modules")
        patch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", home / "datasets" / "downloads")
        patch.setattr(
            datasets.config, "EXTRACTED_DATASETS_PATH", home / "datasets" / "downloads" / "extracted"
        )
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield str(home / "datasets")


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def _front_matter(card: Path | str) -> dict[str, Any]:
    text = card.read_text() if isinstance(card, Path) else card
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def _load(path: Path, cache: str, name: str | None = None) -> Any:
    return datasets.load_dataset(str(path), name, split="train", cache_dir=cache)


def _parquet_rows(out: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in ds.dataset(out / "data", format="parquet").to_table().to_pylist()}


def _kept_languages(manifest: dict[str, Any]) -> list[str]:
    by_lang = manifest["counts"]["by_language"]
    return sorted(lang for lang, c in by_lang.items() if c.get(Status.KEPT) and lang != "und")


# ---------------------------------------------------------------- front matter


def test_front_matter_parses_and_has_the_hub_keys(sample_out: Path) -> None:
    matter = _front_matter(sample_out / "README.md")
    manifest = _manifest(sample_out)
    languages = _kept_languages(manifest)
    assert matter["language"] == languages
    assert matter["pretty_name"] == manifest["name"]
    # the sample's records carry CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0 and web pages none: no single licence
    assert matter["license"] == "other"
    assert matter["size_categories"] == [size_category(manifest["counts"][Status.KEPT])]
    assert matter["task_categories"] == ["text-generation"]
    configs = {c["config_name"]: c for c in matter["configs"]}
    assert list(configs) == ["all", *languages, "ledger"]
    assert configs["all"]["default"] is True
    assert configs["all"]["data_files"] == [{"split": "train", "path": "data/*/*.parquet"}]
    assert configs["de"]["data_files"] == [{"split": "train", "path": "data/de/*.parquet"}]
    assert configs["ledger"]["data_files"] == [{"split": "train", "path": "ledger/*.parquet"}]
    infos = {i["config_name"]: i for i in matter["dataset_info"]}
    expected = datasets.Features.from_arrow_schema(DATA_SCHEMA)
    for name in ["all", *languages]:
        assert datasets.Features._from_yaml_list(infos[name]["features"]) == expected
    assert infos["all"]["splits"][0]["num_examples"] == manifest["counts"][Status.KEPT]
    assert infos["ledger"]["splits"][0]["num_examples"] == manifest["counts"]["inputs"]


def test_features_map_every_arrow_type_as_datasets_does() -> None:
    schema = pa.schema(
        [
            *DATA_SCHEMA,
            pa.field("tags", pa.list_(pa.string())),
            pa.field(
                "spans", pa.list_(pa.struct([pa.field("start", pa.int64()), pa.field("end", pa.int64())]))
            ),
            pa.field("seen", pa.timestamp("s")),
            pa.field("ok", pa.bool_()),
            pa.field("score", pa.float64()),
        ]
    )
    assert datasets.Features._from_yaml_list(hf_features(schema)) == datasets.Features.from_arrow_schema(
        schema
    )


def test_size_categories_follow_the_hub_buckets() -> None:
    assert [size_category(n) for n in (0, 999, 1_000, 99_999, 100_000, 5_000_000_000_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "10K<n<100K",
        "100K<n<1M",
        "n>1T",
    ]


def test_about_facts_decide_title_licence_and_description(sample_out: Path, config: PipelineConfig) -> None:
    about = About(
        title="JAIF news, forums and web", description="Curated for the JAIF 7B model.", license="CC-BY-4.0"
    )
    text = card_text(RunFacts.load(sample_out), config.model_copy(update={"about": about}))
    matter = _front_matter(text)
    assert matter["license"] == "cc-by-4.0"
    assert "license_name" not in matter
    assert matter["pretty_name"] == about.title
    assert f"# {about.title}\n\n{about.description}\n" in text
    assert "released under CC-BY-4.0" in text


# ---------------------------------------------------------------- prose


def test_prose_states_the_run_counts_sources_and_stages(sample_out: Path, config: PipelineConfig) -> None:
    text = (sample_out / "README.md").read_text()
    counts = _manifest(sample_out)["counts"]
    for status in Status:
        assert f"| `{status}` |" in text and f"| {counts[status]:,} |" in text
    for reason, n in counts["reasons"].items():
        assert f"| `{reason}` | {n:,} |" in text
    for pii_type, n in counts["pii_redactions"].items():
        assert f"| {pii_type} | {n:,} |" in text
    for lang, per in counts["by_language"].items():
        assert f"| {lang} | {per.get('kept', 0):,} | {per.get('filtered', 0):,} |" in text
    for source in config.sources:
        assert f"`{source.url}`" in text
    for licence in ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "none recorded"):
        assert f"| {licence} |" in text
    for stage in config.active_stages():
        assert f"**{stage.kind}**" in text
    assert "threshold: 0.75" in text and "languages: de, hu, nl, en" in text
    near = config.stage("near_dedup")
    assert near.boilerplate.enabled and "without their site's boilerplate" in text
    assert f"fewer than {near.boilerplate.min_words} words" in text and "boilerplate: enabled" not in text
    for heading in (
        "## How to load",
        "## Known limitations",
        "pattern-based",
        "The ledger (`ledger/*.parquet`)",
    ):
        assert heading in text


def test_near_dedup_is_described_as_configured() -> None:
    def near(boilerplate: dict) -> Any:
        stages = [{"kind": "near_dedup", "boilerplate": boilerplate}]
        config = parse_config({"name": "x", "sources": [{"kind": "files", "url": "x"}], "stages": stages})
        return config.stage("near_dedup")

    tuned = stage_purpose(near({"short_line_words": 9, "min_contents": 7, "min_words": 20}))
    assert "at most 9 words on 2 such pages, any line on 7" in tuned and "fewer than 20 words" in tuned
    off = stage_purpose(near({"enabled": False}))
    assert "compares whole texts" in off and "line statistics" not in off


# ---------------------------------------------------------------- loading with datasets


def test_datasets_loads_every_language_with_the_parquet_features(sample_out: Path, hf_cache: str) -> None:
    dataset = _load(sample_out, hf_cache)
    manifest = _manifest(sample_out)
    first_file = next(f["path"] for f in manifest["files"] if f["path"].startswith("data/"))
    assert dataset.features == datasets.Features.from_arrow_schema(pq.read_schema(sample_out / first_file))
    assert dataset.num_rows == manifest["counts"][Status.KEPT]
    assert set(dataset["id"]) == set(_parquet_rows(sample_out))


def test_datasets_loads_one_language(sample_out: Path, hf_cache: str) -> None:
    german = _load(sample_out, hf_cache, "de")
    assert set(german["lang"]) == {"de"}
    assert german.num_rows == _manifest(sample_out)["counts"]["by_language"]["de"][Status.KEPT]


def test_datasets_loads_the_ledger(sample_out: Path, hf_cache: str) -> None:
    ledger = _load(sample_out, hf_cache, "ledger")
    assert ledger.num_rows == _manifest(sample_out)["counts"]["inputs"]
    assert set(ledger["status"]) <= {str(s) for s in Status}
    on_disk = pq.read_schema(next((sample_out / "ledger").glob("*.parquet")))
    assert ledger.features == datasets.Features.from_arrow_schema(on_disk)


def test_datasets_checks_the_row_counts_the_card_states(
    sample_out: Path, hf_cache: str, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sample_out, copy, ignore=shutil.ignore_patterns("logs", "webdataset"))
    card = (copy / "README.md").read_text()
    rows = _manifest(sample_out)["counts"]["by_language"]["de"][Status.KEPT]
    (copy / "README.md").write_text(card.replace(f"num_examples: {rows}\n", f"num_examples: {rows + 1}\n", 1))
    with pytest.raises(datasets.exceptions.NonMatchingSplitsSizesError):
        _load(copy, str(tmp_path / "cache"), "de")


# ---------------------------------------------------------------- the WebDataset shards


def test_webdataset_loads_with_datasets_typed_as_the_parquet(sample_out: Path, hf_cache: str) -> None:
    shards = _load(sample_out / "webdataset", hf_cache)
    parquet = datasets.Features.from_arrow_schema(DATA_SCHEMA)
    assert shards.features["txt"] == parquet["text"]
    assert shards.features["json"] == {name: parquet[name] for name in WEBDATASET_METADATA}
    expected = _load(sample_out, hf_cache)
    by_id = {row["id"]: row for row in expected}
    assert shards.num_rows == expected.num_rows
    for sample in shards:
        assert sample["__key__"] == sample["json"]["id"]
        assert {**sample["json"], "text": sample["txt"]} == by_id[sample["__key__"]]
    german = _load(sample_out / "webdataset", hf_cache, "de")
    assert {sample["json"]["lang"] for sample in german} == {"de"}


def test_webdataset_library_reads_the_shards_with_parquet_values(sample_out: Path) -> None:
    urls = [str(sample_out / f["path"]) for f in _manifest(sample_out)["files"] if f["path"].endswith(".tar")]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False, empty_check=False))
    assert samples and all({"__key__", "txt", "json"} <= set(sample) for sample in samples)
    metadata = [json.loads(sample["json"]) for sample in samples]
    table = pa.Table.from_pylist(metadata)
    typed = pa.table(
        {f.name: table[f.name].cast(f.type) for f in DATA_SCHEMA if f.name in WEBDATASET_METADATA}
    )
    typed = typed.append_column("text", pa.array([sample["txt"].decode() for sample in samples]))
    parquet = _parquet_rows(sample_out)
    assert len(samples) == len(parquet)
    for row in typed.to_pylist():
        assert row == {name: parquet[row["id"]][name] for name in row}


def test_the_cards_loading_code_runs(sample_out: Path, hf_cache: str) -> None:
    text = (sample_out / "README.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]
    assert len(blocks) == 2
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    counts = _manifest(sample_out)["counts"]
    assert namespace["dataset"].num_rows == namespace["shards"].num_rows == counts[Status.KEPT]
    assert namespace["ledger"].num_rows == counts["inputs"]
    assert namespace["metadata"]["lang"] == "de" and namespace["text"]
