"""TextNormalizer: Unicode NFC, invisible characters, line endings, whitespace, and the empty-text fate."""

from __future__ import annotations

import pickle
import unicodedata

import pytest

from pipelines.stages.normalize import TextNormalizer, normalize_text
from schemas.document import REASON, STATUS, Status
from tests.conftest import make_doc, read_jsonl


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hallo Welt", "Hallo Welt"),
        ("  Hallo \t  Welt  ", "Hallo Welt"),
        ("a\u00a0b\u2003c\u3000d\u202fe", "a b c d e"),
        (
            "Zeile 1\r\nZeile 2\rZeile 3\u2028Zeile 4\x85Zeile 5",
            "Zeile 1\nZeile 2\nZeile 3\nZeile 4\nZeile 5",
        ),
        ("Absatz 1\n\n\n\n\nAbsatz 2", "Absatz 1\n\nAbsatz 2"),
        ("Absatz 1\n \n\t\n \nAbsatz 2", "Absatz 1\n\nAbsatz 2"),
        ("  eins  \n   zwei\t\n", "eins\nzwei"),
        ("\ufeffStart", "Start"),
        ("Zero\u200bwidth\u200c\u200djoin\u2060er", "Zerowidthjoiner"),
        ("Silben\u00adtren\u00adnung", "Silbentrennung"),
        ("C0\x00\x07\x1b[0m and C1\x80\x9f controls", "C0[0m and C1 controls"),
        ("bidi \u202eevil\u202c marks \u200e\u200f", "bidi evil marks"),
        ("lone surrogate \ud800 gone", "lone surrogate gone"),
        ("Cafe\u0301 und A\u0308rger", "Café und Ärger"),
        ("e\u200b\u0301", "é"),  # the mark composes once the zero-width space between them is gone
        ("tab\tseparated\tvalues", "tab separated values"),
        ("Árvíztűrő tükörfúrógép", "Árvíztűrő tükörfúrógép"),
    ],
)
def test_normalize_text_exact(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_output_is_nfc_and_idempotent() -> None:
    raw = "Ko\u0308ln\r\n\r\n\r\n  Gro\u00dfe   Stra\u00dfe\u00ad\t\u200bNr. 1  "
    once = normalize_text(raw)
    assert once == "Köln\n\nGroße Straße Nr. 1"
    assert unicodedata.is_normalized("NFC", once)
    assert normalize_text(once) == once


@pytest.mark.parametrize("raw", ["", "   ", "\n\n\t\r\n", "\u200b\ufeff\u00ad", "\x00\x01 \u2028"])
def test_empty_after_normalisation_is_filtered(raw: str) -> None:
    stage = TextNormalizer()
    (doc,) = stage.run(iter([make_doc(raw)]))
    assert doc.metadata[STATUS] == Status.FILTERED
    assert doc.metadata[REASON] == "normalize:empty"


def test_stage_keeps_order_and_leaves_non_kept_documents_alone() -> None:
    dirty = "  schon  gefiltert \u200b "
    docs = [
        make_doc("  erstes   Dokument ", "a"),
        make_doc(dirty, "b", **{STATUS: Status.FILTERED, REASON: "lang:below_threshold"}),
        make_doc("drittes\r\nDokument", "c"),
        make_doc(" ", "d"),
    ]
    out = list(TextNormalizer().run(iter(docs)))
    assert [d.id for d in out] == ["a", "b", "c", "d"]
    assert out[0].text == "erstes Dokument"
    assert out[1].text == dirty and out[1].metadata[REASON] == "lang:below_threshold"
    assert out[2].text == "drittes\nDokument" and out[2].metadata[STATUS] == Status.KEPT
    assert out[3].metadata[REASON] == "normalize:empty"


def test_stage_is_picklable() -> None:
    stage = pickle.loads(pickle.dumps(TextNormalizer()))
    assert stage.name == "normalize"
    (doc,) = stage.run(iter([make_doc(" a \u00ad b ")]))
    assert doc.text == "a b"


def test_real_text_changes_only_where_invisible_characters_were(shared_data) -> None:
    """The language data is NFC with whitespace runs collapsed already: only soft hyphens and other
    invisible characters may change it (real Hungarian lines carry soft hyphens)."""
    changed = 0
    for lang in ("de", "hu", "nl", "en"):
        for record in read_jsonl(shared_data / "lang" / f"{lang}.jsonl"):
            text = record["text"].strip()
            visible = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf") or c in "\n\t")
            result = normalize_text(text)
            assert result == visible, (lang, text[:80])
            changed += result != text
    assert changed >= 1
