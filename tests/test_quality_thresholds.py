"""Quality thresholds per run: set in the config per language, used by the stage, recorded in the manifest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.runner import run_pipeline
from pipelines.stages.quality import RULE_NAMES, QualityRules, first_failing_rule
from schemas.config import ConfigError, parse_config
from schemas.quality import LANGUAGE_DEFAULTS, QualityThresholds
from tests.test_stage_quality import ARTICLE

ENGLISH_SHORT = "\n".join(ARTICLE.split("\n")[:2])  # 37 words: under Gopher's 50
# Written for this test: about 80 words of German news prose.
GERMAN = "\n".join(
    [
        "Der Gemeinderat hat am Dienstagabend über den Bau einer neuen Bibliothek am Fluss beraten.",
        "Viele Bürger sagten, dass das alte Gebäude für die vielen Kinder, die es nach der Schule besuchen, "
        "längst zu klein sei.",
        "Der Bürgermeister erklärte, dass das Projekt zum Teil aus einem Zuschuss des Landes und zum Teil "
        "aus der Gemeindekasse bezahlt werden soll.",
        "Wenn der Entwurf genehmigt wird, könnten die Arbeiten im nächsten Frühjahr beginnen und die "
        "Bibliothek zwei Jahre später eröffnen.",
    ]
)
CHANGED = {"default": {"gopher_min_words": 30}, "de": {"gopher_min_words": 100}}


def quality_config(folder: Path, thresholds: dict | None = None) -> dict:
    quality = {"kind": "quality", **({"thresholds": thresholds} if thresholds is not None else {})}
    return {
        "name": "thresholds",
        "sources": [{"kind": "files", "url": str(folder / "*.jsonl.gz")}],
        "stages": [{"kind": "normalize"}, {"kind": "language", "languages": ["de", "en"]}, quality],
        "validation": {"enabled": False},
    }


def test_field_names_are_rule_names() -> None:
    assert set(QualityThresholds.model_fields) <= set(RULE_NAMES)
    assert set(RULE_NAMES) - set(QualityThresholds.model_fields) == {"c4_lorem_ipsum", "c4_curly_bracket"}


def test_a_language_entry_wins_over_default_which_wins_over_built_in_values() -> None:
    rules = QualityRules(
        {
            "default": QualityThresholds(stop_word_ratio=0.2, gopher_min_words=40),
            "hu": QualityThresholds(stop_word_ratio=0.01),
            "fr": QualityThresholds(gopher_max_words=500),
        }
    )
    table = rules.to_json()
    assert list(table) == ["default", "de", "en", "fr", "hu", "nl"]
    assert table["hu"]["stop_word_ratio"] == 0.01 and table["hu"]["gopher_min_words"] == 40
    assert table["de"]["stop_word_ratio"] == 0.2  # the configured default over de's built-in 0.15
    assert table["de"]["gopher_mean_word_length"] == list(LANGUAGE_DEFAULTS["de"]["gopher_mean_word_length"])
    assert table["fr"] == {**table["default"], "gopher_max_words": 500}
    assert table["default"]["gopher_top_2gram"] == 0.2  # left alone: the published value


def test_built_in_values_decide_as_before_without_thresholds() -> None:
    assert QualityRules().to_json() == QualityRules({}).to_json()
    assert first_failing_rule(ENGLISH_SHORT, "en") == "gopher_min_words"
    lowered = QualityRules({"en": QualityThresholds(gopher_min_words=30)})
    assert first_failing_rule(ENGLISH_SHORT, "en", lowered) is None
    assert first_failing_rule(ENGLISH_SHORT, "de", lowered) == "gopher_min_words"


def test_unknown_rule_names_are_refused_with_the_known_ones() -> None:
    data = quality_config(Path("corpus"), {"de": {"gopher_min_word": 30, "c4_lorem_ipsum": 1}})
    with pytest.raises(ConfigError) as caught:
        parse_config(data, origin="my.yaml")
    message = str(caught.value)
    assert "my.yaml: stages[2].thresholds.de:" in message
    assert "unknown quality rule 'c4_lorem_ipsum', 'gopher_min_word'" in message
    assert "gopher_min_words, gopher_max_words" in message and "fineweb_list_ratio" in message


@pytest.mark.parametrize(
    ("thresholds", "problem"),
    [
        ({"de": {"gopher_mean_word_length": [6, 4]}}, "minimum 6.0 is above the maximum 4.0"),
        ({"de": {"fineweb_line_punct": 1.5}}, "less than or equal to 1"),
        ({"German": {"gopher_min_words": 3}}, "should match pattern"),
    ],
)
def test_bad_values_are_refused(thresholds: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(quality_config(Path("corpus"), thresholds))


def test_the_resolved_table_parses_back_to_itself() -> None:
    config = parse_config(quality_config(Path("corpus"), CHANGED))
    dumped = config.model_dump(mode="json")
    assert parse_config(dumped) == config
    assert parse_config(config.model_dump(mode="json", exclude_unset=True)) == config


def run(tmp_path: Path, name: str, thresholds: dict | None) -> tuple[dict[str, str], dict]:
    """The fate (status or reason) of each document by language, and the manifest."""
    folder = tmp_path / "corpus"
    if not folder.exists():
        folder.mkdir()
        docs = [{"id": "en-short", "text": ENGLISH_SHORT}, {"id": "de", "text": GERMAN}]
        (folder / "docs.jsonl.gz").write_bytes(gzip.compress("\n".join(map(json.dumps, docs)).encode()))
    out = tmp_path / name
    run_pipeline(parse_config(quality_config(folder, thresholds)), out, workers=1)
    rows = pq.read_table(out / "ledger").to_pylist()
    fates = {row["source_id"]: row["reason"] or row["status"] for row in rows}
    return fates, json.loads((out / "manifest.json").read_text())


def test_a_run_with_changed_thresholds_filters_differently_and_records_them(tmp_path: Path) -> None:
    fates, manifest = run(tmp_path, "built-in", None)
    assert fates == {"en-short": "quality:gopher_min_words", "de": "kept"}
    [quality] = [s for s in manifest["config"]["stages"] if s["kind"] == "quality"]
    assert quality["thresholds"] == QualityRules().to_json()
    assert quality["thresholds"]["de"]["gopher_min_words"] == 50

    fates, manifest = run(tmp_path, "changed", CHANGED)
    assert fates == {"en-short": "kept", "de": "quality:gopher_min_words"}
    [quality] = [s for s in manifest["config"]["stages"] if s["kind"] == "quality"]
    recorded = quality["thresholds"]
    assert recorded["en"]["gopher_min_words"] == 30 and recorded["de"]["gopher_min_words"] == 100
    assert recorded["hu"]["stop_word_ratio"] == LANGUAGE_DEFAULTS["hu"]["stop_word_ratio"]
    rules = QualityRules({lang: QualityThresholds(**values) for lang, values in CHANGED.items()})
    assert recorded == rules.to_json()
