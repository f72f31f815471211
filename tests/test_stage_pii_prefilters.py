"""PII fast paths: the character classes and the places where each detector tries its pattern never
hide a finding. Each fast path is compared with the plain definition it replaces (the pattern run
over the whole text), and every detector must find its item wherever it stands."""

from __future__ import annotations

import random
import re
import sys

import pytest

from pipelines.stages import pii

NON_ASCII_DIGITS = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９०१२३४५६७८९߀߁𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"


# ---------------------------------------------------------------- character classes
def test_digit_lead_bytes_cover_every_decimal_digit() -> None:
    """Every character that ``\\d`` matches starts with a byte that the classes read as a digit."""
    every_char = "".join(map(chr, range(0x80, 0xD800))) + "".join(map(chr, range(0xE000, sys.maxunicode + 1)))
    digits = re.findall(r"\d", every_char)
    assert len(digits) > 500
    assert {d.encode()[0] for d in digits} <= pii._DIGIT_LEAD_BYTES
    assert pii._char_classes("".join(digits)) == b"0" * len(digits)


def expected_class(c: str) -> int:
    if c.isascii():
        if c in "0123456789":
            return ord("0")
        if "A" <= c <= "Z":
            return ord("A")
        if "a" <= c <= "z":
            return ord("a")
        return ord(c)
    return ord("0") if c.encode("utf-8", "surrogatepass")[0] in pii._DIGIT_LEAD_BYTES else ord("u")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Tel. +49 30 1234567, anna@example.de",
        "Árvíztűrő tükörfúrógép ő ű – “€” \u00a0\u202f\u2028",
        "😀 emoji 𝟏𝟐 math digits, ٣ arabic, 中文, \U0010ffff",
        "lone surrogates \ud800 and \udfff stay one character each",
        "".join(map(chr, range(0, 0x800, 7))),
    ],
)
def test_classes_have_one_byte_per_character_at_its_index(text: str) -> None:
    classes = pii._char_classes(text)
    assert len(classes) == len(text)
    assert list(classes) == [expected_class(c) for c in text]


# ---------------------------------------------------------------- fast paths == plain definitions
ATOMS = [
    "+49 30 1234567", "(+31) 20 123 4567", "0049 (0)30 123456", "030/1234567", "06-12345678",
    "(030) 123 456-78", "(415) 555-2671", "(415)\u00a0555-2671", "713.853.3102", "1-876-499-0169",
    "1 (415) 555-2671", "+1 212-848-8400", "192.168.1.20", "1.2.3.4.5", "10.0.0.1", "255.255.255.0",
    "2001:db8::8a2e:370:7334", "::1", "a:b:c:d:e:f:1:2", "DE89 3704 0044 0532 0130 00",
    "DE89370400440532013000", "NL91ABNA0417164300", "HU42 1177 3016 1111 1018 0000 0000", "BSN 123456782",
    "TAJ: 123 456 788",
    "Steuer-ID 86 095 742 719", "ſteuer-id 86095742719", "TAX İD 86095742719", "BSN: ١٢٣٤٥٦٧٨٢",
    "IdNr. 𝟖𝟔𝟎𝟗𝟓𝟕𝟒𝟐𝟕𝟏𝟗", "anna.schmidt@beispiel.de", "info(at)firma(punkt)de", "x [at] y [dot] nl",
    "a\u00a0(at)\u00a0b.de", "icon@2x.png", "@", "(at)", "Tel. 0301234567", "ISBN 0-306-40615-2",
    "Version 1.2.3.4", "06 12 34 56 78", "2024-01-15", "15.01.2024", "+", "(", "(0", "0", "00", "٣", "www.",
    "http://x.de/0301234567", "(06 72) 788 810", "(06-1) 234-5678", "(06\u00a030) 123 4567", "(06 1) 12 2024",
]  # fmt: skip
GLUE = [" ", "", "\n", ", ", "0", "-", "a", "A", ".", "(", ")", "@", ":", "\u00a0", "٣", "é", "/", "+"]


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = [rng.choice(ATOMS) for _ in range(rng.randint(1, 5))]
        text = "".join(p + rng.choice(GLUE) for p in parts)
        if rng.random() < 0.2:
            text = "".join(
                rng.choice(NON_ASCII_DIGITS) if c.isdigit() and rng.random() < 0.2 else c for c in text
            )
        texts.append(text)
    return texts


TEXTS = random_texts(11, 3000)


def plain_emails(text: str) -> list[tuple[int, int]]:
    if "@" not in text and not pii._AT_WORD.search(text):
        return []
    return [m.span() for m in pii._EMAIL.finditer(text)]


def plain_ibans(text: str) -> list[tuple[int, int]]:
    ends = ((m.start(), pii._iban_end(text, m.start())) for m in pii._IBAN_START.finditer(text))
    return [(start, end) for start, end in ends if end is not None]


def plain_national_ids(text: str) -> list[tuple[int, int]]:
    spans = []
    for k in pii._ID_WORD.finditer(text):
        number, is_valid = pii._NATIONAL_IDS[k.lastgroup or ""]
        first_digit = pii._DIGIT.search(text, k.end(), k.end() + pii.ID_WINDOW)
        m = first_digit and number.match(text, first_digit.start())
        if m and is_valid(pii._ascii_digits(m.group())):
            spans.append(m.span())
    return spans


def test_fast_paths_give_what_the_patterns_give_over_the_whole_text() -> None:
    for text in TEXTS:
        classes = pii._char_classes(text)
        assert list(pii._find_emails(text, classes)) == plain_emails(text), text
        assert [m.span() for m in pii._ipv4_matches(text)] == [m.span() for m in pii._IPV4.finditer(text)], (
            text
        )
        assert pii._may_hold_ipv6(classes) == ("::" in text or text.count(":") >= 7), text
        phones = [m.span() for m in pii._phone_matches(text, classes)]
        assert phones == [m.span() for m in pii._PHONE.finditer(text)], text
        nanp = [m.span() for m in pii._nanp_matches(text, classes)]
        assert nanp == [m.span() for m in pii._NANP.finditer(text)], text
        assert list(pii._find_ibans(text, classes)) == plain_ibans(text), text
        assert list(pii._find_national_ids(text, classes)) == plain_national_ids(text), text


def test_hints_are_in_every_match() -> None:
    for text in TEXTS:
        classes = pii._char_classes(text)
        if pii._NINE_DIGITS.search(text):
            assert pii._ID_NUMBER_HINT.search(classes), text
        for m in pii._IBAN_START.finditer(text):
            assert classes[m.start() : m.start() + 4] == b"AA00", text
        if pii._IPV4.search(text):
            assert pii._IPV4_HINT.search(text), text
        starts = {
            m.start()
            for m in pii._phone_matches(text, classes)
            if not pii._is_phone(text, m, pii.PHONE_REGIONS)
        }
        for m in pii._PHONE_HU.finditer(text):  # tried only where a _PHONE match that is no phone starts
            assert m.start() in starts and text.startswith("(06", m.start()), text
        if pii._NANP.search(text):
            assert pii._NANP_HINT.search(text), text


# ---------------------------------------------------------------- every detector finds its item anywhere
ITEMS = [
    ("email", "anna.schmidt@beispiel-verlag.de", "anna.schmidt@beispiel-verlag.de"),
    ("email", "info(at)musterfirma(punkt)de", "info(at)musterfirma(punkt)de"),
    ("email", "kovacs [at] pelda [pont] hu", "kovacs [at] pelda [pont] hu"),
    ("email", "jan\u00a0(at)\u00a0gemeente.nl", "jan\u00a0(at)\u00a0gemeente.nl"),
    ("ip", "192.168.10.25", "192.168.10.25"),
    ("ip", "8.8.8.8", "8.8.8.8"),
    ("ip", "2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
    ("phone", "+49 30 12345678", "+49 30 12345678"),
    ("phone", "(+31) 20 123 4567", "(+31) 20 123 4567"),
    ("phone", "0049 (0)30 123456", "0049 (0)30 123456"),
    ("phone", "030 / 123 45-67", "030 / 123 45-67"),
    ("phone", "06-12345678", "06-12345678"),
    ("phone", "(030) 123 456-78", "(030) 123 456-78"),
    ("phone", "Tel. 0301234567", "0301234567"),
    ("phone", "(415) 555-2671", "(415) 555-2671"),
    ("phone", "(415)\u202f555-2671", "(415)\u202f555-2671"),
    ("phone", "713.853.3102", "713.853.3102"),
    ("phone", "1-876-499-0169", "1-876-499-0169"),
    ("phone", "1 (415) 555-2671", "1 (415) 555-2671"),
    ("phone", "(06 72) 788 810", "(06 72) 788 810"),
    ("phone", "(06-31) 801-8769", "(06-31) 801-8769"),
    ("phone", "(06\u00a01)\u00a0234 5678", "(06\u00a01)\u00a0234 5678"),
    ("iban", "DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    ("iban", "NL91ABNA0417164300", "NL91ABNA0417164300"),
    ("iban", "HU42\u00a01177\u00a03016\u00a01111\u00a01018\u00a00000\u00a00000", None),
    ("national_id", "BSN 123456782", "123456782"),
    ("national_id", "TAJ-szám: 123 456 788", "123 456 788"),
    ("national_id", "Steuer-ID: 86 095 742 719", "86 095 742 719"),
    ("national_id", "IdNr. 86095742719", "86095742719"),
    ("national_id", "BSN: ١٢٣٤٥٦٧٨٢", "١٢٣٤٥٦٧٨٢"),
    ("national_id", "burgerservicenummer 𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟐", "𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟐"),
]
CONTEXTS = [
    "{}",
    "{} und mehr",
    "Siehe: {}",
    "Siehe {}.",
    "{}, {}",
    "<{}>",
    "„{}“",
    "\n{};\n",
    "Árvíztűrő ő {} – ű",
]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize(("pii_type", "item", "found"), ITEMS, ids=[f"{t}:{i}" for t, i, _ in ITEMS])
def test_each_detector_finds_its_item_wherever_it_stands(
    pii_type: str, item: str, found: str | None, context: str
) -> None:
    text = context.replace("{}", item)
    expected = [found or item] * context.count("{}")
    assert [text[f.start : f.end] for f in pii.find_pii(text)] == expected
    assert {f.type for f in pii.find_pii(text)} == {pii_type}
    detector = pii.DETECTORS[pii_type]
    assert [text[s:e] for s, e in detector(text)] == expected


def test_no_finding_without_the_character_that_each_detector_needs() -> None:
    text = "Am 15.01.2024 kostete es 1.299,00 € (inkl. 19 % MwSt.), Version 1.2.3.4 [Seite 12] {a: 1}."
    assert pii._email_anchors(text, pii._char_classes(text)) == []
    assert pii.find_pii(text) == []
    assert pii._email_anchors("(at)", pii._char_classes("(at)")) == [0]
    assert pii._email_anchors("x (AT) y", pii._char_classes("x (AT) y")) == [1]


def test_dotted_quad_in_non_ascii_digits_is_no_address_and_no_crash() -> None:
    assert pii.find_pii("ip ١.٢.٣.٤ und ４.３.２.１") == []
    assert pii.redact("ip ١.٢.٣.٤, host 192.168.17.4")[0] == "ip ١.٢.٣.٤, host <IP>"
