"""Document quality heuristics of the Gopher, C4 and FineWeb families, per language.

One pass tokenises a document (a regex word tokenizer, no spaCy) and splits it into lines and
paragraphs; the rules below then run in this fixed order and the first that fails names the
reason ``quality:<rule>``:

===========================  ==================================================================  ==========
rule                         the document is filtered when                                        source
===========================  ==================================================================  ==========
gopher_min_words             fewer than 50 words                                                  Gopher
gopher_max_words             more than 100,000 words                                              Gopher
gopher_dup_line_frac         more than 30 % of its lines repeat an earlier line                   Gopher
gopher_dup_para_frac         more than 30 % of its paragraphs repeat an earlier paragraph         Gopher
gopher_dup_line_char_frac    repeated lines hold more than 20 % of its characters                 Gopher
gopher_dup_para_char_frac    repeated paragraphs hold more than 20 % of its characters            Gopher
gopher_top_{2,3,4}gram       the most frequent 2/3/4-gram covers > 20/18/16 % of word characters  Gopher
gopher_dup_{5..10}gram       repeated 5..10-grams cover > 15/14/13/12/11/10 % of word characters  Gopher
gopher_mean_word_length      mean word length outside the language's bounds (default 3..10)       Gopher
gopher_symbol_ratio          '#' or ellipses per word above 0.1                                   Gopher
gopher_bullet_lines          more than 90 % of lines start with a bullet                          Gopher
gopher_ellipsis_lines        more than 30 % of lines end with an ellipsis                         Gopher
gopher_alpha_words           fewer than 80 % of words contain a letter                            Gopher
gopher_stop_words            fewer than 2 stop words of the document's language                   Gopher
c4_lorem_ipsum               it contains "lorem ipsum"                                            C4
c4_javascript                lines mentioning "javascript" hold more than 10 % of its characters  C4 (*)
c4_curly_bracket             it contains a curly bracket                                          C4
fineweb_line_punct           fewer than 12 % of lines end with terminal punctuation               FineWeb
fineweb_short_lines          more than 67 % of lines are at most 30 characters long               FineWeb
fineweb_char_dup             repeated lines hold more than 1 % of its (non-newline) characters    FineWeb
fineweb_list_ratio           more than 0.3 newlines per word                                      FineWeb
===========================  ==================================================================  ==========

Thresholds are the published ones (Rae et al. 2021, Raffel et al. 2020, Penedo et al. 2024).
(*) C4 deletes lines that mention JavaScript; a stage that only filters drops a document whose
JavaScript lines are a noticeable part of it instead. Words are runs of letters/digits (with inner
apostrophes, hyphens and dots), compared in lower case; n-gram rules use word characters, and a
repeated n-gram's characters count once (the first occurrence does not count), as in datatrove.

Per language (:data:`SETTINGS`, keyed by the ``lang`` metadata; other languages and documents
without ``lang`` use :data:`DEFAULT_SETTINGS`): stop words from :mod:`pipelines.stages.stopwords`,
and mean-word-length bounds. Without a stop-word list the stop-word rule does not apply.

Measured on documents built from ``shared/data/lang/{de,hu,nl,en}.jsonl`` (consecutive lines of one
``source`` joined into paragraphs of 2-4 sentences, 100-300 words per document, one paragraph per
line), the share of documents kept:
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from datatrove.data import Document

from pipelines.stages.base import CurationStage
from pipelines.stages.stopwords import STOP_WORDS
from schemas.document import LANG

WORD_RE = re.compile(r"\w+(?:['’\-.]\w+)*")
PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "◦", "‣", "⁃", "►", "▶", "➢", "→", "-", "–", "—", "*", "·")
ELLIPSES = ("...", "…")
TERMINAL_PUNCTUATION = (".", "!", "?", "…", "。", "！", "？", ";", ":")
CLOSERS = "\"'”’»«)]"

MIN_WORDS = 50
MAX_WORDS = 100_000
DUP_LINE_FRAC = 0.3
DUP_PARA_FRAC = 0.3
DUP_LINE_CHAR_FRAC = 0.2
DUP_PARA_CHAR_FRAC = 0.2
TOP_NGRAM_CHAR_FRAC = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAM_CHAR_FRAC = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
MAX_SYMBOL_WORD_RATIO = 0.1
MAX_BULLET_LINES = 0.9
MAX_ELLIPSIS_LINES = 0.3
MIN_ALPHA_WORDS = 0.8
MIN_STOP_WORDS = 2
MAX_JAVASCRIPT_CHAR_FRAC = 0.1
MIN_LINE_PUNCT = 0.12
SHORT_LINE_CHARS = 30
MAX_SHORT_LINES = 0.67
MAX_CHAR_DUP = 0.01
MAX_NEWLINES_PER_WORD = 0.3


@dataclass(frozen=True)
class LanguageSettings:
    """What differs between languages: the stop words and the plausible mean word length."""

    stop_words: frozenset[str] = frozenset()
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0


DEFAULT_SETTINGS = LanguageSettings()
SETTINGS: dict[str, LanguageSettings] = {
    "de": LanguageSettings(STOP_WORDS["de"], 3.0, 10.0),
    "hu": LanguageSettings(STOP_WORDS["hu"], 3.0, 12.0),
    "nl": LanguageSettings(STOP_WORDS["nl"], 3.0, 10.0),
    "en": LanguageSettings(STOP_WORDS["en"], 3.0, 10.0),
}


class TextView:
    """A document's text split once into the units the rules count: lines, paragraphs, words."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = [line.strip() for line in text.split("\n") if line.strip()]
        self.paragraphs = [p.strip() for p in PARAGRAPH_SPLIT_RE.split(text) if p.strip()]
        self.words = [w.lower() for w in WORD_RE.findall(text)]

    @cached_property
    def word_chars(self) -> int:
        return sum(len(w) for w in self.words)

    @cached_property
    def word_ids(self) -> list[int]:
        """Words as small integers, so that n-grams are cheap tuples to hash."""
        index: dict[str, int] = {}
        return [index.setdefault(w, len(index)) for w in self.words]

    @cached_property
    def word_lengths(self) -> list[int]:
        return [len(w) for w in self.words]


def repeated(items: list[str]) -> tuple[int, int]:
    """(how many items repeat an earlier one, how many characters those repeats hold)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def top_ngram_char_frac(view: TextView, n: int) -> float:
    """Share of word characters in all occurrences of the most frequent n-gram (0 if none repeats)."""
    ids, lengths = view.word_ids, view.word_lengths
    if len(ids) < n or not view.word_chars:
        return 0.0
    counts = Counter(zip(*(ids[i:] for i in range(n)), strict=False))
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    start = next(i for i in range(len(ids)) if tuple(ids[i : i + n]) == gram)
    return count * sum(lengths[start : start + n]) / view.word_chars


def dup_ngram_char_frac(view: TextView, n: int) -> float:
    """Share of word characters covered by repeats of an earlier n-gram, each word counted once."""
    ids, lengths = view.word_ids, view.word_lengths
    if len(ids) < n or not view.word_chars:
        return 0.0
    seen: set[tuple[int, ...]] = set()
    covered = [False] * len(ids)
    for i in range(len(ids) - n + 1):
        gram = tuple(ids[i : i + n])
        if gram in seen:
            covered[i : i + n] = [True] * n
        else:
            seen.add(gram)
    return sum(length for length, hit in zip(lengths, covered, strict=True) if hit) / view.word_chars


def fraction(count: int, total: int) -> float:
    return count / total if total else 0.0


def ends_with_terminal_punctuation(line: str) -> bool:
    return line.rstrip(CLOSERS).endswith(TERMINAL_PUNCTUATION)


Rule = Callable[[TextView, LanguageSettings], bool]


def gopher_rules() -> list[tuple[str, Rule]]:
    return [
        ("gopher_min_words", lambda v, s: len(v.words) < MIN_WORDS),
        ("gopher_max_words", lambda v, s: len(v.words) > MAX_WORDS),
        ("gopher_dup_line_frac", lambda v, s: fraction(repeated(v.lines)[0], len(v.lines)) > DUP_LINE_FRAC),
        (
            "gopher_dup_para_frac",
            lambda v, s: fraction(repeated(v.paragraphs)[0], len(v.paragraphs)) > DUP_PARA_FRAC,
        ),
        (
            "gopher_dup_line_char_frac",
            lambda v, s: fraction(repeated(v.lines)[1], len(v.text)) > DUP_LINE_CHAR_FRAC,
        ),
        (
            "gopher_dup_para_char_frac",
            lambda v, s: fraction(repeated(v.paragraphs)[1], len(v.text)) > DUP_PARA_CHAR_FRAC,
        ),
        *[
            (f"gopher_top_{n}gram", lambda v, s, n=n, limit=limit: top_ngram_char_frac(v, n) > limit)
            for n, limit in TOP_NGRAM_CHAR_FRAC.items()
        ],
        *[
            (f"gopher_dup_{n}gram", lambda v, s, n=n, limit=limit: dup_ngram_char_frac(v, n) > limit)
            for n, limit in DUP_NGRAM_CHAR_FRAC.items()
        ],
        ("gopher_mean_word_length", mean_word_length_out_of_bounds),
        ("gopher_symbol_ratio", lambda v, s: symbol_word_ratio(v) > MAX_SYMBOL_WORD_RATIO),
        (
            "gopher_bullet_lines",
            lambda v, s: fraction(sum(line.startswith(BULLETS) for line in v.lines), len(v.lines))
            > MAX_BULLET_LINES,
        ),
        (
            "gopher_ellipsis_lines",
            lambda v, s: fraction(sum(line.endswith(ELLIPSES) for line in v.lines), len(v.lines))
            > MAX_ELLIPSIS_LINES,
        ),
        ("gopher_alpha_words", lambda v, s: alpha_word_fraction(v) < MIN_ALPHA_WORDS),
        (
            "gopher_stop_words",
            lambda v, s: bool(s.stop_words) and sum(w in s.stop_words for w in v.words) < MIN_STOP_WORDS,
        ),
    ]


def mean_word_length_out_of_bounds(view: TextView, settings: LanguageSettings) -> bool:
    mean = fraction(view.word_chars, len(view.words))
    return not settings.min_mean_word_length <= mean <= settings.max_mean_word_length


def symbol_word_ratio(view: TextView) -> float:
    hashes = view.text.count("#")
    ellipses = sum(view.text.count(e) for e in ELLIPSES)
    return fraction(max(hashes, ellipses), len(view.words))


def alpha_word_fraction(view: TextView) -> float:
    return fraction(sum(any(ch.isalpha() for ch in w) for w in view.words), len(view.words))


def c4_rules() -> list[tuple[str, Rule]]:
    return [
        ("c4_lorem_ipsum", lambda v, s: "lorem ipsum" in v.text.lower()),
        ("c4_javascript", lambda v, s: javascript_char_frac(v) > MAX_JAVASCRIPT_CHAR_FRAC),
        ("c4_curly_bracket", lambda v, s: "{" in v.text or "}" in v.text),
    ]


def javascript_char_frac(view: TextView) -> float:
    chars = sum(len(line) for line in view.lines if "javascript" in line.lower())
    return fraction(chars, len(view.text))


def fineweb_rules() -> list[tuple[str, Rule]]:
    return [
        (
            "fineweb_line_punct",
            lambda v, s: fraction(sum(map(ends_with_terminal_punctuation, v.lines)), len(v.lines))
            < MIN_LINE_PUNCT,
        ),
        (
            "fineweb_short_lines",
            lambda v, s: fraction(sum(len(line) <= SHORT_LINE_CHARS for line in v.lines), len(v.lines))
            > MAX_SHORT_LINES,
        ),
        (
            "fineweb_char_dup",
            lambda v, s: fraction(repeated(v.lines)[1], len(v.text) - v.text.count("\n")) > MAX_CHAR_DUP,
        ),
        (
            "fineweb_list_ratio",
            lambda v, s: fraction(v.text.count("\n"), len(v.words)) > MAX_NEWLINES_PER_WORD,
        ),
    ]


RULES: list[tuple[str, Rule]] = [*gopher_rules(), *c4_rules(), *fineweb_rules()]


def first_failing_rule(text: str, lang: str | None) -> str | None:
    """The name of the first rule that ``text`` fails, or None when it passes them all."""
    view = TextView(text)
    settings = SETTINGS.get(lang or "", DEFAULT_SETTINGS)
    return next((name for name, fails in RULES if fails(view, settings)), None)


class QualityFilter(CurationStage):
    """Filters kept documents that fail a quality rule, with reason ``quality:<rule>`` (first failure)."""

    name = "quality"

    def process(self, doc: Document) -> None:
        rule = first_failing_rule(doc.text, doc.metadata.get(LANG))
        if rule is not None:
            self.filter(doc, rule)
