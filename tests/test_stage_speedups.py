"""The fast paths of the stages give exactly what the plain definitions give."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter

import numpy as np
import pytest

from pipelines.stages import dedup, pii, quality, tokens
from pipelines.stages.dedup import MinHasher, NearDedupParams

WORDS = [
    "der",
    "die",
    "das",
    "und",
    "haus",
    "baum",
    "ein",
    "12",
    "3.4",
    "a-b",
    "x",
    "²",
    "_1",
    "it's",
    "straße",
]


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = [rng.choice(WORDS[: rng.randint(2, len(WORDS))]) for _ in range(rng.randint(0, 300))]
        if words and rng.random() < 0.5:  # a repeated phrase
            k = rng.randint(1, 12)
            phrase = words[:k]
            for _ in range(rng.randint(1, 20)):
                at = rng.randrange(len(words) + 1)
                words[at:at] = phrase
        texts.append(" ".join(words))
    return texts


# ---------------------------------------------------------------- quality n-gram rules


def plain_top_ngram_char_frac(words: list[str], n: int) -> float:
    grams = list(zip(*(words[i:] for i in range(n)), strict=False))
    chars = sum(map(len, words))
    if not grams:
        return 0.0
    gram, count = Counter(grams).most_common(1)[0]
    if count < 2:
        return 0.0
    start = grams.index(gram)
    return count * sum(map(len, words[start : start + n])) / chars if chars else 0.0


def plain_dup_ngram_char_frac(words: list[str], n: int) -> float:
    grams = list(zip(*(words[i:] for i in range(n)), strict=False))
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(words)
    for i, gram in enumerate(grams):
        if gram in seen:
            covered[i : i + n] = [True] * n
        seen.add(gram)
    chars = sum(map(len, words))
    return sum(len(w) for w, hit in zip(words, covered, strict=True) if hit) / chars if chars else 0.0


def test_ngram_rules_equal_their_plain_definitions() -> None:
    for text in random_texts(1, 300):
        view = quality.TextView(text)
        for n in (2, 3, 4):
            assert quality.top_ngram_char_frac(view, n) == plain_top_ngram_char_frac(view.words, n)
        for n in range(5, 11):
            assert quality.dup_ngram_char_frac(view, n) == plain_dup_ngram_char_frac(view.words, n)


def plain_first_failing_rule(text: str, lang: str | None) -> str | None:
    """The rules without their shortcuts: every n-gram fraction computed and compared."""
    view = quality.TextView(text)
    rules = quality.DEFAULT_RULES
    settings = rules.settings.get(lang or "", rules.default)
    limits = settings.thresholds
    plain: dict[str, quality.Check] = {
        **{
            f"gopher_top_{n}gram": (
                lambda v, s, n=n: quality.top_ngram_char_frac(v, n) > getattr(limits, f"gopher_top_{n}gram")
            )
            for n in quality.TOP_NGRAMS
        },
        **{
            f"gopher_dup_{n}gram": (
                lambda v, s, n=n: quality.dup_ngram_char_frac(v, n) > getattr(limits, f"gopher_dup_{n}gram")
            )
            for n in quality.DUP_NGRAMS
        },
    }
    return next((name for name, fails in quality.RULES if plain.get(name, fails)(view, settings)), None)


def test_rule_shortcuts_decide_as_the_plain_rules() -> None:
    rng = random.Random(9)
    texts = random_texts(3, 400)
    for _ in range(300):  # prose-like text whose repeats sit near the limits
        base = [rng.choice(WORDS) + str(rng.randint(0, 60)) for _ in range(rng.randint(40, 250))]
        piece = base[: rng.randint(3, 14)]
        for _ in range(rng.randint(0, 6)):
            at = rng.randrange(len(base) + 1)
            base[at:at] = piece
        texts.append(" ".join(base))
    outcomes = Counter()
    for text in texts:
        for lang in ("de", None):
            expected = plain_first_failing_rule(text, lang)
            assert quality.first_failing_rule(text, lang) == expected, text
            outcomes[expected] += 1
    assert sum(1 for rule in outcomes if rule and "gram" in rule) >= 4  # the n-gram rules were exercised


def test_letterless_and_stop_word_counts_equal_their_plain_definitions() -> None:
    settings = quality.DEFAULT_RULES.settings["de"]
    for text in random_texts(2, 200):
        view = quality.TextView(text)
        letterless = sum(1 for w in view.words if quality.LETTERLESS_RE.fullmatch(w))
        alpha = (len(view.words) - letterless) / len(view.words) if view.words else 0.0
        assert quality.too_few_alpha_words(view, settings) == (alpha < settings.thresholds.gopher_alpha_words)
        stop = sum(w in settings.stop_words for w in view.words)
        assert quality.too_few_stop_words(view, settings) == (stop < settings.thresholds.gopher_stop_words)


# ---------------------------------------------------------------- PII prefilters


def random_pii_texts(seed: int, count: int) -> list[str]:
    atoms = [
        "+49 30 1234567", "030 12345678", "0049 (0)30 123456", "(415) 555-2671", "713.853.3102",
        "1-876-499-0169", "192.168.1.20", "1.2.3.4.5", "DE89 3704 0044 0532 0130 00", "BSN 111222333",
        "Steuer-ID: 86095742719", "TAJ 123456788", "ſteuer-id 86095742719", "TAX İD 86095742719",
        "06 12 34 56 78", "Tel. 0301234567", "0", "00", "+", "(", "(0", "(+49) 30 123 456", "2024-01-15",
    ]  # fmt: skip
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = [rng.choice(atoms) for _ in range(rng.randint(1, 6))]
        texts.append("".join(p + rng.choice([" ", "", "\n", ", ", "0", "-", "a"]) for p in parts))
    return texts


def test_phone_candidates_find_what_finditer_finds() -> None:
    for text in random_pii_texts(3, 2000):
        assert [m.span() for m in pii._phone_matches(text)] == [m.span() for m in pii._PHONE.finditer(text)]


def test_prefilters_never_hide_a_match() -> None:
    for text in random_pii_texts(4, 2000):
        ids = [k.span() for k in pii._ID_WORD.finditer(text)]
        assert not ids or pii._may_name_an_id(text)
        if pii._IPV4.search(text):
            assert pii._IPV4_HINT.search(text)
        if pii._NANP.search(text):
            assert pii._NANP_HINT.search(text)


def test_national_id_keywords_that_lower_case_differently_are_still_found() -> None:
    assert pii._may_name_an_id("ſteuer-id 86095742719")
    assert pii._may_name_an_id("TAX İD 86095742719")
    assert not pii._may_name_an_id("Ein Text ohne Schlüsselwort, 86095742719")


def test_international_prefix_without_digits_is_not_a_phone() -> None:
    assert pii.find_pii("+00(0+") == []


# ---------------------------------------------------------------- MinHash


def plain_fmix64(value: int) -> int:
    mask = (1 << 64) - 1
    value ^= value >> 33
    value = value * 0xFF51AFD7ED558CCD & mask
    value ^= value >> 33
    value = value * 0xC4CEB9FE1A85EC53 & mask
    return value ^ value >> 33


def plain_signature(words: list[str], hasher: MinHasher) -> np.ndarray | None:
    """One shingle at a time, with Python integers: the definition in the dedup module docstring."""
    params = hasher.params
    if not words:
        return None
    n, mask = params.ngram, (1 << 64) - 1
    hashes = [tokens.hash_word(w) for w in words]
    weights = [int(c) for c in hasher._positions]
    keys = []
    for start in range(max(len(words) - n + 1, 1)):
        gram = hashes[start : start + n]
        keys.append(plain_fmix64(sum(h * c for h, c in zip(gram, weights, strict=False)) & mask) >> 32)
    values = [
        min((int(a) * k + int(b)) % (1 << 32) for k in keys)
        for a, b in zip(hasher._a[:, 0], hasher._b[:, 0], strict=True)
    ]
    return np.array(values, dtype="<u4")


@pytest.mark.parametrize("block", [3, 7, 1024])
def test_batched_signatures_equal_one_by_one(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(dedup, "_SHINGLE_BLOCK", block)
    hasher = MinHasher(NearDedupParams(bands=3, rows=2, ngram=3, seed=5))
    texts = [text.split() for text in random_texts(5, 40)] + [[], ["one"], ["a", "b", "c"]]
    batched = hasher.signatures([hasher.word_hashes(words) for words in texts])
    for words, signature in zip(texts, batched, strict=True):
        expected = plain_signature(words, hasher)
        if expected is None:
            assert signature is None
        else:
            assert signature is not None and np.array_equal(signature, expected)
            assert np.array_equal(hasher.signature(words), expected)


# ---------------------------------------------------------------- parallel clustering


def test_word_regex_of_quality_is_unchanged() -> None:
    assert tokens.WORD_RE.pattern == re.compile(r"\w+(?:['’\-.]\w+)*").pattern


# ---------------------------------------------------------------- normalisation fast path


def test_printable_text_has_nothing_the_skipped_normalisation_steps_would_change() -> None:
    """``normalize_text`` skips steps 1, 2 and most of 4 for printable text: that needs every printable
    character (Python's Unicode data) to be neither a line break, nor invisible, nor horizontal space
    other than the ASCII space (the regex module's Unicode data, possibly newer)."""
    import sys

    from pipelines.stages import normalize

    printable = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable())
    assert not normalize._LINE_BREAKS.search(printable)
    assert not normalize._INVISIBLE.search(printable)
    assert not re.search(r"[^\S\n ]", printable)


def test_normalisation_fast_path_equals_every_step() -> None:
    from pipelines.stages import normalize

    rng = random.Random(7)
    pieces = [
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "\u00a0",
        "\u200b",
        "\x85",
        "\u2028",
        "a",
        "e\u0301",
        "\n\n\n",
        " \n ",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        slow = normalize._LINE_BREAKS.sub("\n", text)
        slow = normalize._INVISIBLE.sub("", slow)
        slow = normalize.unicodedata.normalize("NFC", slow)
        slow = normalize._HORIZONTAL_SPACE.sub(" ", slow)
        slow = normalize._SPACE_AROUND_NEWLINE.sub("\n", slow)
        slow = normalize._BLANK_LINES.sub("\n\n", slow)
        assert normalize.normalize_text(text) == slow.strip()


def test_words_are_shared_between_stages_and_bounded() -> None:
    text = "Die Straße in Köln ist gesperrt. Über Nacht, sagt die Polizei."
    words = tokens.words_of(text)
    assert tokens.words_of(text) is words  # the quality stage's tokens are dedup's
    assert tokens.words_of(quality.TextView(text).text) is words
    nfd = tokens.words_of(unicodedata.normalize("NFD", text))
    assert nfd.words == words.words and "strasse" in nfd.words and "köln" in nfd.words
    assert np.array_equal(words.hashes, MinHasher.word_hashes(words.words))
    big = [f"{i} " * 100_000 for i in range(30)]  # 200,000 characters each: the budget keeps ~40
    for piece in big:
        tokens.words_of(piece)
    assert sum(map(len, tokens._cache)) <= tokens.CACHE_CHARS
    assert big[-1] in tokens._cache and text not in tokens._cache


TOKEN_PIECES = [
    *"aAzZ09_'’-. \n\t.,;:!?()",
    *["é", "e\u0301", "ß", "İ", "ő", "Ő", "²", "½", "Ⅻ", "٣", "𝟘", "😀", "𠀀", "\u200b", "\ud800"],
    *["\u0301", "ﬁ", "ǅ", "Σ", "ς", "_1", "--", "''", "..", "x" * 5000],
    *["\u00a0", "\u2003", "\u3000", "\x85", "\r", "\x1c", "\x0b", "\u2028", "  ", " \n", "\n\n"],
]


def reference_words(text: str) -> list[str]:
    return tokens.WORD_RE.findall(unicodedata.normalize("NFC", text.casefold()))


def check_words(text: str) -> None:
    words = tokens.Words(text)
    expected = reference_words(text)
    assert words.words == expected, repr(text)
    assert len(words) == len(expected) and words.chars == sum(map(len, expected))
    assert words.hashes.tolist() == [tokens.hash_word(w) for w in expected]
    assert words.letterless == sum(1 for w in expected if quality.LETTERLESS_RE.fullmatch(w))
    assert words.vocabulary == len(set(expected))
    first = {w: i for i, w in reversed(list(enumerate(expected)))}  # equal words, equal ids
    assert [first[w] for w in expected] == [expected.index(w) for w in expected]
    ids = words.ids.tolist()
    assert all((ids[i] == ids[j]) == (expected[i] == expected[j]) for i in range(len(ids)) for j in (0, i))
    # what exact dedup keys and how boilerplate lines are formed
    lower = unicodedata.normalize("NFC", text.casefold())
    assert words.normal_form == " ".join(lower.split()), repr(text)
    single = all(line == " ".join(line.split()) for line in lower.split("\n"))
    assert words.lines_single_spaced == single, repr(text)


def test_array_tokenizer_equals_the_word_pattern_on_random_text() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        check_words("".join(rng.choice(TOKEN_PIECES) for _ in range(rng.randint(0, 30))))


def test_array_tokenizer_equals_the_word_pattern_on_real_text(shared_data) -> None:
    import json

    lines = [
        json.loads(line)["text"]
        for path in sorted((shared_data / "lang").rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) > 10_000
    for start in range(0, len(lines), 50):  # fifty lines to a text: every line, fewer calls
        check_words("\n".join(lines[start : start + 50]))


def test_stop_words_are_counted_as_the_word_list_says() -> None:
    settings = quality.DEFAULT_RULES.settings["de"]
    view = quality.TextView("Daß der Hund bellt, weiß jeder. DASS ER BELLT!")
    expected = [w in settings.stop_words for w in view.words]
    assert sum(expected) == 5  # daß (dass), der, jeder, dass, er
    assert view.stop_word_flags(settings.stop_words).tolist() == expected
