"""Config validation: bad configs are errors that name the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import ConfigError, PipelineConfig, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent
MINIMAL = {"name": "t", "sources": [{"kind": "files", "url": "x.jsonl"}]}


def with_(**changes) -> dict:
    return {**MINIMAL, **changes}


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def test_every_shipped_config_is_valid():
    configs = sorted((REPO / "configs").glob("*.yaml"))
    assert configs, "configs/ must hold at least the sample"
    for path in configs:
        assert isinstance(load_config(path), PipelineConfig)


def test_sample_config_has_every_stage_in_order():
    config = load_config(REPO / "configs" / "sample.yaml")
    assert config.name == "sample"
    assert [s.kind for s in config.stages] == [
        "optout",
        "extract",
        "normalize",
        "language",
        "quality",
        "pii",
        "exact_dedup",
        "near_dedup",
    ]


def test_defaults_fill_in():
    config = parse_config(MINIMAL)
    assert config.outputs.parquet.shard_max_mb == 256
    assert config.outputs.webdataset is None
    assert config.engine.kind == "local" and config.engine.workers == 2


def test_unknown_key_names_its_path():
    data = with_(stages=[{"kind": "normalize"}, {"kind": "language", "langauges": ["de"]}])
    assert error_of(data) == "config: stages[1].langauges: unknown key"


def test_unknown_top_level_key():
    assert error_of(with_(outptus={})) == "config: outptus: unknown key"


def test_wrong_type_names_its_path():
    message = error_of(with_(engine={"workers": "many"}))
    assert message.startswith("config: engine.workers: ")
    assert "integer" in message


def test_bad_value_in_nested_source():
    message = error_of(with_(sources=[{"kind": "files", "url": "a", "format": "docx"}]))
    assert message.startswith("config: sources[0].format: ")


def test_unknown_source_kind():
    message = error_of(with_(sources=[{"kind": "ftp", "url": "a"}]))
    assert message.startswith("config: sources[0].kind: ") and "'ftp'" in message


def test_missing_kind_and_missing_required_key():
    assert error_of(with_(sources=[{"url": "a"}])) == "config: sources[0].kind: required"
    assert error_of({"sources": MINIMAL["sources"]}) == "config: name: Field required"


def test_several_problems_are_all_reported():
    message = error_of(with_(engine={"workers": 0}, extra_key=1))
    assert "engine.workers:" in message and "extra_key: unknown key" in message


def test_dedup_must_come_last_and_stages_once():
    assert "must come last" in error_of(with_(stages=[{"kind": "exact_dedup"}, {"kind": "pii"}]))
    assert "appears 2 times" in error_of(with_(stages=[{"kind": "pii"}, {"kind": "pii"}]))


def test_language_thresholds_must_name_configured_languages():
    stage = {"kind": "language", "languages": ["de"], "thresholds": {"fr": 0.5}}
    assert "not in `languages`" in error_of(with_(stages=[stage]))
    assert "thresholds.de" in error_of(with_(stages=[{**stage, "thresholds": {"de": 1.5}}]))


def test_disabled_stage_is_not_active():
    config = parse_config(with_(stages=[{"kind": "pii", "enabled": False}, {"kind": "normalize"}]))
    assert [s.kind for s in config.active_stages()] == ["normalize"]


def test_yaml_errors_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listing)


def test_json_is_valid_yaml(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"name": "j", "sources": [{"kind": "files", "url": "a.parquet"}]}')
    assert load_config(path).name == "j"


@pytest.mark.parametrize(
    "options",
    [
        {"apikey": "v"},
        {"api-key": "v"},
        {"headers": {"Authorization": "Bearer v"}},
        {"client_kwargs": {"headers": {"X-Api-Key": "v"}}},
        {"x-auth-token": "v"},
    ],
    ids=["apikey", "api-key", "authorization-header", "x-api-key-header", "x-auth-token"],
)
def test_credential_like_storage_options_are_refused_without_their_value(options: dict) -> None:
    data = {
        "name": "x",
        "sources": [{"kind": "files", "url": "https://example.org/a.jsonl", "storage_options": options}],
    }
    with pytest.raises(ConfigError, match="looks like a secret") as error:
        parse_config(data)
    assert "Bearer v" not in str(error.value) and ": v" not in str(error.value)


@pytest.mark.parametrize(
    "section",
    [
        {"sources": [{"kind": "files", "url": "https://user:s3cr3t@example.org/a.jsonl"}]},
        {"sources": [{"kind": "dcat", "endpoint": "https://user:s3cr3t@ckan.example.org"}]},
        {"sources": [{"kind": "dsp", "endpoint": "https://user:s3cr3t@dsp.example.org", "dataset": "d"}]},
        {"publish": {"kind": "fsspec", "url": "s3://key:s3cr3t@bucket/prefix"}},
        {"lineage": {"url": "https://user:s3cr3t@marquez.example.org"}},
    ],
    ids=["files", "dcat", "dsp", "publish", "lineage"],
)
def test_urls_with_credentials_are_refused(section: dict) -> None:
    data = {"name": "x", "sources": [{"kind": "files", "url": "a.jsonl"}], **section}
    with pytest.raises(ConfigError, match="carries credentials") as error:
        parse_config(data)
    assert "s3cr3t" not in str(error.value)
