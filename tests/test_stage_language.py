"""LanguageTagger on real gold-labelled lines and confusers from ../shared/data/lang."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipelines.stages.language import LanguageTagger, calibrate
from schemas.document import LANG, LANG_SCORE, REASON, STATUS, Status
from tests.conftest import make_doc, read_jsonl

TARGETS = ["de", "hu", "nl", "en"]
MIN_CHARS = 40
SAMPLE_PER_LANGUAGE = 400

FRENCH = (
    "La Déclaration des droits de l'homme et du citoyen est un texte fondamental de la Révolution "
    "française, qui énonce un ensemble de droits naturels individuels et les conditions de leur mise "
    "en œuvre."
)
ENGLISH = "The committee met on Tuesday to discuss the budget for the coming year and approved it."


def long_lines(path: Path) -> list[str]:
    return [row["text"] for row in read_jsonl(path) if len(row["text"]) >= MIN_CHARS]


def tag(texts: list[str], stage: LanguageTagger | None = None) -> list[dict]:
    """Run the stage over texts, return each document's metadata in order."""
    docs = [make_doc(text, f"d{i}") for i, text in enumerate(texts)]
    return [doc.metadata for doc in (stage or LanguageTagger()).run(iter(docs))]


def kept_as(metadata: dict) -> str | None:
    return metadata[LANG] if metadata[STATUS] == Status.KEPT else None


@pytest.fixture(scope="module")
def stage() -> LanguageTagger:
    return LanguageTagger()


@pytest.mark.parametrize("lang", TARGETS)
def test_real_lines_are_kept_with_their_language(shared_data: Path, stage: LanguageTagger, lang: str) -> None:
    lines = long_lines(shared_data / "lang" / f"{lang}.jsonl")
    sample = lines[:: max(1, len(lines) // SAMPLE_PER_LANGUAGE)][:SAMPLE_PER_LANGUAGE]
    assert len(sample) >= 300
    results = tag(sample, stage)
    accuracy = sum(kept_as(m) == lang for m in results) / len(results)
    assert accuracy >= 0.96, f"{lang}: {accuracy:.3f} of real lines kept with the right tag"
    assert all(0.0 <= m[LANG_SCORE] <= 1.0 for m in results)


def test_confuser_lines_are_mostly_rejected(shared_data: Path, stage: LanguageTagger) -> None:
    tagged_as_target: dict[str, float] = {}
    total = hits = 0
    for path in sorted((shared_data / "lang" / "confusers").glob("*.jsonl")):
        results = tag(long_lines(path), stage)
        file_hits = sum(kept_as(m) in TARGETS for m in results)
        tagged_as_target[path.stem] = file_hits / len(results)
        total += len(results)
        hits += file_hits
    assert total > 2000
    assert hits / total <= 0.02, f"confuser lines kept as de/hu/nl/en: {hits}/{total}"
    assert max(tagged_as_target.values()) <= 0.10, tagged_as_target


def test_french_document_is_not_configured(stage: LanguageTagger) -> None:
    [metadata] = tag([FRENCH], stage)
    assert metadata[STATUS] == Status.FILTERED
    assert metadata[REASON] == "lang:not_configured"
    assert metadata[LANG] == "fr"
    assert 0.0 < metadata[LANG_SCORE] <= 1.0


def test_french_is_kept_when_configured() -> None:
    [metadata] = tag([FRENCH], LanguageTagger(languages=["fr", "de"]))
    assert metadata[STATUS] == Status.KEPT
    assert metadata[LANG] == "fr"


def test_three_letter_codes_in_the_config_mean_the_same_languages() -> None:
    [metadata] = tag([ENGLISH], LanguageTagger(languages=["eng"]))
    assert metadata[STATUS] == Status.KEPT
    assert metadata[LANG] == "en"


@pytest.mark.parametrize("text", ["", "   \n\t ", "12345 67 -- 2024-01-01", "Ja."])
def test_empty_or_too_little_text_is_undetermined(stage: LanguageTagger, text: str) -> None:
    [metadata] = tag([text], stage)
    assert metadata[STATUS] == Status.FILTERED
    assert metadata[REASON] == "lang:undetermined"


def test_threshold_override_filters_below_threshold() -> None:
    [metadata] = tag([ENGLISH], LanguageTagger(thresholds={"en": 0.9999}))
    assert metadata[STATUS] == Status.FILTERED
    assert metadata[REASON] == "lang:below_threshold"
    assert metadata[LANG] == "en"
    assert metadata[LANG_SCORE] < 0.9999


def test_only_a_bounded_prefix_is_classified(stage: LanguageTagger) -> None:
    german_tail = (
        " Die Versammlung hat heute beschlossen, den Haushalt für das kommende Jahr anzunehmen." * 400
    )
    [metadata] = tag([ENGLISH * 40 + german_tail], stage)
    assert metadata[LANG] == "en"


def test_filtered_documents_pass_through_untouched(stage: LanguageTagger) -> None:
    doc = make_doc(FRENCH, "gone")
    doc.metadata.update({STATUS: Status.FILTERED, REASON: "quality:gopher_min_words"})
    before = dict(doc.metadata)
    [out] = list(stage.run(iter([doc])))
    assert out is doc
    assert out.metadata == before


def test_every_document_is_yielded_in_order(stage: LanguageTagger) -> None:
    texts = [ENGLISH, FRENCH, "", "Dit is een korte Nederlandse zin over het weer van vandaag.", ENGLISH]
    docs = [make_doc(text, f"id{i}") for i, text in enumerate(texts)]
    docs[3].metadata[STATUS] = Status.DUPLICATE
    out = list(stage.run(iter(docs)))
    assert [d.id for d in out] == [f"id{i}" for i in range(len(texts))]
    assert [d.metadata[STATUS] for d in out] == [
        Status.KEPT,
        Status.FILTERED,
        Status.FILTERED,
        Status.DUPLICATE,
        Status.KEPT,
    ]


def test_stage_survives_pickle_round_trip(stage: LanguageTagger) -> None:
    tag([ENGLISH], stage)  # the model is loaded now; the stage must still pickle
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.languages == stage.languages
    assert clone.thresholds == stage.thresholds
    [metadata] = tag([ENGLISH], clone)
    assert metadata[STATUS] == Status.KEPT
    assert metadata[LANG] == "en"


def test_calibration_is_monotone_into_unit_interval() -> None:
    gaps = [0.0, 0.01, 0.1, 0.35, 1.0, 2.0, 5.0, 50.0]
    scores = [calibrate(g) for g in gaps]
    assert scores[0] == 0.0
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores)
    assert len(set(scores[:-1])) == len(scores) - 1
