"""Document quality heuristics of the Gopher, C4 and FineWeb families, per language.

A document is tokenised once (the shared tokenizer of :mod:`pipelines.stages.tokens`, no spaCy)
and split into lines and paragraphs; the rules below then run in this fixed order and the first
that fails names the reason ``quality:<rule>``. The values below are the defaults: every rule with a
threshold has a field of that name in :class:`schemas.quality.QualityThresholds`, which a config sets
per language (the stage's ``thresholds``); :class:`QualityRules` holds one run's values.

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
stop_word_ratio              too few of its words of 3+ letters are stop words (per language)     (**)
fineweb_line_punct           fewer than 12 % of lines end with terminal punctuation (***)         FineWeb
fineweb_short_lines          more than 67 % of lines are at most 30 characters long               FineWeb
fineweb_char_dup             repeated lines hold more than 10 % (en: 1 %) of its characters       FineWeb-2
fineweb_list_ratio           more than 0.3 newlines per word                                      FineWeb
===========================  ==================================================================  ==========

Default thresholds are the published ones (Rae et al. 2021, Raffel et al. 2020, Penedo et al. 2024);
``fineweb_char_dup`` has FineWeb-2's 0.1 for every language but English, which keeps FineWeb's 0.01
(FineWeb-2 raised it for languages other than English; ``benchmarks/quality_and_pii.py`` compares
both on held-out text). Its characters are those of the text without newlines.
(**) Ours, for gibberish: text whose letters are shuffled or random keeps realistic lengths, lines
and punctuation and, by chance, the two stop words Gopher asks for (one- and two-letter ones such as
"a", "az", "in" survive shuffling), but hardly any longer stop word. So among the words of three or
more letters, the share of the language's stop words must reach ``stop_word_ratio``: de 0.15,
hu 0.03, nl 0.1, en 0.1, below the lowest share in clean text (lowest / 0.5 % quantile over the
documents measured below: de 0.294 / 0.304, hu 0.039 / 0.045, nl 0.118 / 0.133, en 0.126 /
0.138; Hungarian, agglutinative, has few separate function words). ``benchmarks/quality_and_pii.py``
measures what it drops.
(*) C4 deletes lines that mention JavaScript; a stage that only filters drops a document whose
JavaScript lines are a noticeable part of it instead. Words are runs of letters/digits (with inner
apostrophes, hyphens and dots), compared case-folded and in NFC; n-gram rules use word characters, and a
repeated n-gram's characters count once (the first occurrence does not count), as in datatrove.
(***) A line of :data:`PARAGRAPH_LINE_CHARS` (200) characters or more counts as punctuated whatever
its last character: it is a paragraph of running text, not the list item, menu entry, table row or
heading the rule is there to find (those are short). Such lines end without a full stop where a
sentence runs on past a line break (recitals ending in commas, a paragraph cut at the end of a
document, a signature), and a document of a few of them would otherwise fail. The length is set on
the tuning split of ``benchmarks/quality_and_pii.py`` and the visible text (chrome included) of the
real web pages; the benchmark reports its effect.

Per language (:class:`LanguageSettings`, keyed by the ``lang`` metadata; other languages and
documents without ``lang`` use the ``default`` entry): stop words from :mod:`pipelines.stages.stopwords`,
and the thresholds, of which the mean-word-length bounds and ``stop_word_ratio`` have built-in
per-language values (:data:`schemas.quality.LANGUAGE_DEFAULTS`). Without a stop-word list the
stop-word rules do not apply. Gopher's
3..10 bounds are for English; the other languages' bounds are scaled by the ratio of their median
mean word length to English's in clean text (en 4.75, de 5.91, hu 6.33, nl 5.27 characters) and
rounded to half a character: de 3.5..12.5, hu 4.0..13.5, nl 3.5..11.0.

Measured on documents built from ``shared/data/lang/{de,hu,nl,en}.jsonl`` (consecutive lines of one
``source``, three sentences to a line, a new document when the source changes or the word budget is
reached), the share of documents kept:

=================  ===============  ===============  ===============  ===============
words per doc      de               hu               nl               en
=================  ===============  ===============  ===============  ===============
100-300            100 % (99)       99.0 % (208)     98.8 % (162)     99.2 % (131)
50-120             100 % (233)      97.1 % (479)     99.2 % (383)     98.4 % (310)
300-1000           100 % (30)       100 % (66)       100 % (50)       100 % (41)
=================  ===============  ===============  ===============  ===============

What is lost is mostly real repetition (URL lists, legal cross-references) and, in short
Hungarian fiction, lines trailing off with an ellipsis.

Speed: about 4,200 documents/s of ~2.6 KB (~400 words) per process, tokenisation included (0.24 ms
per document; 0.35 ms before the shared tokenizer and the bounds below, 0.76 ms for the
straightforward implementation). The words come from :mod:`pipelines.stages.tokens` as arrays
(ids, lengths, 64-bit hashes), shared with near dedup. The n-gram rules are settled by exact bounds
where they can be: the most frequent n-gram holds at most n times the characters of the heaviest
word (occurrences x length); repeated n-grams lie within runs of words that each occur more than
once, and within repeated shorter n-grams. Only what the bounds leave open is grouped: an n-gram's
key is its words' hashes weighted by position (64 bits; a collision would need ~2**64 n-grams),
sorted stably for the positions whose n words all repeat; covered words are counted with a prefix
sum. ``tests/test_stage_speedups.py`` checks the fractions and the decisions against the plain
definitions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from operator import attrgetter
from typing import Any

import numpy as np
from datatrove.data import Document

from pipelines.stages.base import CurationStage
from pipelines.stages.stopwords import STOP_WORDS
from pipelines.stages.tokens import vocabulary_hashes, words_of
from schemas.document import LANG
from schemas.quality import DEFAULT_KEY, QualityThresholds, resolve_thresholds

LETTERLESS_RE = re.compile(r"[\d_'’\-.]+")
PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "◦", "‣", "⁃", "►", "▶", "➢", "→", "-", "–", "—", "*", "·")
ELLIPSES = ("...", "…")
TERMINAL_PUNCTUATION = (".", "!", "?", "…", "。", "！", "？", ";", ":")
CLOSERS = "\"'”’»«)]"

TOP_NGRAMS = (2, 3, 4)  # gopher_top_{n}gram
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)  # gopher_dup_{n}gram
LONG_WORD_LETTERS = 3  # the stop-word ratio counts words of at least this many characters
SHORT_LINE_CHARS = 30  # what fineweb_short_lines calls a short line
PARAGRAPH_LINE_CHARS = 200  # fineweb_line_punct counts lines this long as punctuated (running text)


@dataclass(frozen=True)
class LanguageSettings:
    """What the rules need for one language: its stop words (none: the stop-word rules do not apply)
    and the run's thresholds for it."""

    stop_words: frozenset[str] = frozenset()
    thresholds: QualityThresholds = QualityThresholds()


@cache
def stop_word_hashes(stop_words: frozenset[str]) -> np.ndarray:
    """The stop words as sorted word hashes, to count them in a text's words without strings."""
    return vocabulary_hashes(stop_words)


# Odd 64-bit constants that weight the word hashes of an n-gram by position (n <= 10), fixed.
_NGRAM_WEIGHTS = np.random.default_rng(20240601).integers(0, 1 << 64, size=10, dtype=np.uint64) | np.uint64(1)


class TextView:
    """A document's text split once into the units the rules count: lines, paragraphs, words.

    The words come from :func:`pipelines.stages.tokens.words_of` (shared with near dedup); everything
    derived (repeats, word ids, n-gram groups) is computed at most once, on first use.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = words_of(text)
        self.lower = self.tokens.lower
        self.word_count = len(self.tokens)
        self._ngrams: dict[int, NgramGroups | None] = {}
        self._stop_flags: dict[int, np.ndarray] = {}
        self.dup_bounds: dict[int, float] = {}  # upper bounds of dup_ngram_char_frac by n, as rules find them

    @cached_property
    def lines(self) -> list[str]:
        return [line for line in map(str.strip, self.text.split("\n")) if line]

    @cached_property
    def paragraphs(self) -> list[str]:
        return [p for p in map(str.strip, PARAGRAPH_SPLIT_RE.split(self.text)) if p]

    @property
    def word_chars(self) -> int:
        return self.tokens.chars

    @property
    def word_ids(self) -> np.ndarray:
        return self.tokens.ids

    @property
    def vocabulary(self) -> int:
        return self.tokens.vocabulary

    @property
    def words(self) -> list[str]:
        """The words as strings (the rules count on arrays; for inspection and tests)."""
        return self.tokens.words

    @property
    def word_lengths(self) -> np.ndarray:
        return self.tokens.lengths

    @cached_property
    def repeated_lines(self) -> tuple[int, int]:
        return repeated(self.lines)

    @cached_property
    def repeated_paragraphs(self) -> tuple[int, int]:
        return repeated(self.paragraphs)

    def stop_word_flags(self, stop_words: frozenset[str]) -> np.ndarray:
        """Per word, whether it is one of ``stop_words`` (computed once per list)."""
        flags = self._stop_flags.get(id(stop_words))
        if flags is None:
            flags = self._stop_flags[id(stop_words)] = self.tokens.flags_in(stop_word_hashes(stop_words))
        return flags

    @cached_property
    def word_counts(self) -> np.ndarray:
        """How often each distinct word (by id) occurs."""
        return np.bincount(self.word_ids, minlength=self.vocabulary)

    @cached_property
    def max_word_mass(self) -> int:
        """The most characters any one word holds in all its occurrences (count x length)."""
        if not self.word_count:
            return 0
        return int(np.bincount(self.word_ids, weights=self.word_lengths).max())

    def repeated_run_chars(self, n: int) -> float:
        """Share of word characters in runs of at least ``n`` words that each occur more than once:
        an upper bound of :func:`dup_ngram_char_frac` (a repeated n-gram is made of repeated words)."""
        if self.word_count < n:
            return 0.0
        unique = self.word_counts[self.word_ids] < 2
        missing = np.zeros(unique.size + 1, dtype=np.int64)
        np.cumsum(unique, out=missing[1:])
        starts = missing[n:] == missing[:-n]  # the n words from here on all repeat
        return covered_chars(self, starts, n)

    def ngram_groups(self, n: int) -> NgramGroups | None:
        """The word n-grams (``n >= 2``) grouped by equality; None when there are none (fewer than n
        words) or when no n-gram occurs twice."""
        if n not in self._ngrams:
            self._ngrams[n] = self._group_ngrams(n)
        return self._ngrams[n]

    def _group_ngrams(self, n: int) -> NgramGroups | None:
        size = self.word_count - n + 1
        if size <= 0:
            return None
        # What is known about shorter n-grams: the longest grouped so far (words, if none).
        shorter, repeated = 1, self.word_counts[self.word_ids] >= 2
        for m in range(n - 1, 1, -1):
            if m in self._ngrams:
                groups = self._ngrams[m]
                if groups is None:  # no m-gram repeats, so no n-gram does
                    return None
                shorter, repeated = m, groups.repeated
                break
        # The n-gram at i can only repeat where the shorter n-grams at i .. i + n - shorter all do.
        span = n - shorter + 1
        missing = np.zeros(repeated.size + 1, dtype=np.int64)
        np.cumsum(~repeated, out=missing[1:])
        candidates = np.flatnonzero(missing[span:] == missing[:-span])
        if candidates.size < 2:
            return None
        # An n-gram's key: its words' hashes weighted by odd per-position constants, summed mod 2**64.
        hashes = self.tokens.hashes
        keys = hashes[candidates] * _NGRAM_WEIGHTS[0]
        for k in range(1, n):
            keys += hashes[candidates + k] * _NGRAM_WEIGHTS[k]
        groups = NgramGroups(size, candidates, keys)
        return groups if groups.any_repeat else None


class NgramGroups:
    """Equal n-grams of one document, ``size`` in all, from one stable sort of the keys of the
    ``candidates`` (the positions whose n-gram may repeat; equal keys, equal n-grams); every other
    n-gram occurs once.

    Per position ``i``: ``count[i]`` says how often the n-gram at ``i`` occurs, ``repeated[i]``
    whether more than once, and ``repeats[i]`` whether it occurred before ``i``.
    """

    def __init__(self, size: int, candidates: np.ndarray, keys: np.ndarray) -> None:
        self.size = size
        order = np.argsort(keys, kind="stable")  # stable: a group's first member is its first occurrence
        ordered = keys[order]
        starts = np.empty(keys.size, dtype=bool)
        starts[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        bounds = np.flatnonzero(starts)
        sizes = np.empty(bounds.size, dtype=np.int64)
        np.subtract(bounds[1:], bounds[:-1], out=sizes[:-1])
        sizes[-1] = keys.size - bounds[-1]
        members = candidates[order]
        self.count = np.ones(size, dtype=np.int64)
        self.count[members] = sizes[np.cumsum(starts) - 1]
        self.repeated = self.count >= 2
        self.any_repeat = bool(sizes.max() >= 2)
        self.repeats = np.zeros(size, dtype=bool)
        self.repeats[members] = ~starts


def repeated(items: list[str]) -> tuple[int, int]:
    """(how many items repeat an earlier one, how many characters those repeats hold)."""
    if len(set(items)) == len(items):
        return 0, 0
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def fraction(count: float, total: float) -> float:
    return count / total if total else 0.0


def top_ngram_char_frac(view: TextView, n: int) -> float:
    """Share of word characters in all occurrences of the most frequent n-gram (0 if none repeats).

    Of several equally frequent n-grams, the one that occurs first counts.
    """
    groups = view.ngram_groups(n)
    if groups is None:
        return 0.0
    most = int(groups.count.max())
    start = int(np.argmax(groups.count == most))  # the first occurrence of the first such n-gram
    return fraction(most * int(view.word_lengths[start : start + n].sum()), view.word_chars)


def dup_ngram_char_frac(view: TextView, n: int) -> float:
    """Share of word characters covered by repeats of an earlier n-gram, each word counted once."""
    groups = view.ngram_groups(n)
    if groups is None:
        return 0.0
    return covered_chars(view, groups.repeats, n)


def covered_chars(view: TextView, starts: np.ndarray, n: int) -> float:
    """Share of word characters in the n-word windows that begin where ``starts`` is true."""
    # word j is covered when a window starts at one of the positions j-n+1 .. j
    starts_before = np.zeros(view.word_count + 1, dtype=np.int64)
    np.cumsum(starts, out=starts_before[1 : starts.size + 1])
    starts_before[starts.size + 1 :] = starts_before[starts.size]
    window = starts_before[1:] - np.concatenate((np.zeros(n, dtype=np.int64), starts_before[1:-n]))
    return fraction(int(view.word_lengths[window > 0].sum()), view.word_chars)


def line_fraction(view: TextView, predicate: Callable[[str], bool]) -> float:
    return fraction(sum(map(predicate, view.lines)), len(view.lines))


def ends_with_terminal_punctuation(line: str) -> bool:
    return line.rstrip(CLOSERS).endswith(TERMINAL_PUNCTUATION)


def reads_as_sentence(line: str) -> bool:
    """What ``fineweb_line_punct`` counts: a line that ends with terminal punctuation, or a line of
    running text (:data:`PARAGRAPH_LINE_CHARS` or more) whatever its end."""
    return len(line) >= PARAGRAPH_LINE_CHARS or ends_with_terminal_punctuation(line)


# Each check says whether a document fails a rule: (view, language settings) -> bool.
Check = Callable[[TextView, LanguageSettings], bool]


def too_few_words(view: TextView, settings: LanguageSettings) -> bool:
    return view.word_count < settings.thresholds.gopher_min_words


def too_many_words(view: TextView, settings: LanguageSettings) -> bool:
    return view.word_count > settings.thresholds.gopher_max_words


def dup_line_frac(view: TextView, settings: LanguageSettings) -> bool:
    return fraction(view.repeated_lines[0], len(view.lines)) > settings.thresholds.gopher_dup_line_frac


def dup_para_frac(view: TextView, settings: LanguageSettings) -> bool:
    return (
        fraction(view.repeated_paragraphs[0], len(view.paragraphs)) > settings.thresholds.gopher_dup_para_frac
    )


def dup_line_char_frac(view: TextView, settings: LanguageSettings) -> bool:
    return fraction(view.repeated_lines[1], len(view.text)) > settings.thresholds.gopher_dup_line_char_frac


def dup_para_char_frac(view: TextView, settings: LanguageSettings) -> bool:
    return (
        fraction(view.repeated_paragraphs[1], len(view.text)) > settings.thresholds.gopher_dup_para_char_frac
    )


def top_ngram_check(n: int) -> Check:
    threshold = attrgetter(f"gopher_top_{n}gram")

    def fails(view: TextView, settings: LanguageSettings) -> bool:
        limit = threshold(settings.thresholds)
        # An n-gram occurring k times holds at most k characters of each of its n words per
        # occurrence, so at most n times the characters of the heaviest word: often enough to pass.
        if n * view.max_word_mass <= limit * view.word_chars:
            return False
        return top_ngram_char_frac(view, n) > limit

    return fails


def dup_ngram_check(n: int) -> Check:
    threshold = attrgetter(f"gopher_dup_{n}gram")

    def fails(view: TextView, settings: LanguageSettings) -> bool:
        limit = threshold(settings.thresholds)
        # Where an n-gram repeats, so do the shorter n-grams inside it: the words that repeated
        # n-grams cover, shorter repeated ones cover too. So a bound found for a shorter n (the
        # rules run from 5 to 10) that is within this limit decides; so does the cheap bound of
        # words in runs of repeated words, which settles almost every real document.
        if any(bound <= limit for bound in view.dup_bounds.values()):
            return False
        bound = view.dup_bounds[n] = view.repeated_run_chars(n)
        if bound <= limit:
            return False
        fraction = view.dup_bounds[n] = dup_ngram_char_frac(view, n)
        return fraction > limit

    return fails


def mean_word_length_out_of_bounds(view: TextView, settings: LanguageSettings) -> bool:
    low, high = settings.thresholds.gopher_mean_word_length
    return not low <= fraction(view.word_chars, view.word_count) <= high


def symbol_ratio(view: TextView, settings: LanguageSettings) -> bool:
    hashes = view.text.count("#")
    ellipses = sum(view.text.count(e) for e in ELLIPSES)
    return fraction(max(hashes, ellipses), view.word_count) > settings.thresholds.gopher_symbol_ratio


def bullet_lines(view: TextView, settings: LanguageSettings) -> bool:
    return (
        line_fraction(view, lambda line: line.startswith(BULLETS)) > settings.thresholds.gopher_bullet_lines
    )


def ellipsis_lines(view: TextView, settings: LanguageSettings) -> bool:
    return (
        line_fraction(view, lambda line: line.endswith(ELLIPSES)) > settings.thresholds.gopher_ellipsis_lines
    )


def too_few_alpha_words(view: TextView, settings: LanguageSettings) -> bool:
    # A word without a letter is made of digits, '_' and joiners only (LETTERLESS_RE), so there are
    # at most as many as such characters: when those are few, the words need not be looked at.
    limit = settings.thresholds.gopher_alpha_words
    if fraction(view.word_count - view.tokens.digit_like_chars, view.word_count) >= limit:
        return False
    letterless = view.tokens.letterless
    return fraction(view.word_count - letterless, view.word_count) < limit


def too_few_stop_words(view: TextView, settings: LanguageSettings) -> bool:
    if not settings.stop_words:
        return False
    found = int(np.count_nonzero(view.stop_word_flags(settings.stop_words)))
    return found < settings.thresholds.gopher_stop_words


def low_stop_word_ratio(view: TextView, settings: LanguageSettings) -> bool:
    limit = settings.thresholds.stop_word_ratio
    if not settings.stop_words or not limit:
        return False
    long_words = view.word_lengths >= LONG_WORD_LETTERS
    found = np.count_nonzero(view.stop_word_flags(settings.stop_words) & long_words)
    return fraction(int(found), int(np.count_nonzero(long_words))) < limit


def lorem_ipsum(view: TextView, settings: LanguageSettings) -> bool:
    return "lorem ipsum" in view.lower


def javascript_lines(view: TextView, settings: LanguageSettings) -> bool:
    if "javascript" not in view.lower:
        return False
    chars = sum(len(line) for line in view.lines if "javascript" in line.lower())
    return fraction(chars, len(view.text)) > settings.thresholds.c4_javascript


def curly_bracket(view: TextView, settings: LanguageSettings) -> bool:
    return "{" in view.text or "}" in view.text


def few_punctuated_lines(view: TextView, settings: LanguageSettings) -> bool:
    return line_fraction(view, reads_as_sentence) < settings.thresholds.fineweb_line_punct


def many_short_lines(view: TextView, settings: LanguageSettings) -> bool:
    short = line_fraction(view, lambda line: len(line) <= SHORT_LINE_CHARS)
    return short > settings.thresholds.fineweb_short_lines


def duplicated_line_chars(view: TextView, settings: LanguageSettings) -> bool:
    repeats = fraction(view.repeated_lines[1], len(view.text) - view.text.count("\n"))
    return repeats > settings.thresholds.fineweb_char_dup


def list_like(view: TextView, settings: LanguageSettings) -> bool:
    return fraction(view.text.count("\n"), view.word_count) > settings.thresholds.fineweb_list_ratio


RULES: tuple[tuple[str, Check], ...] = (
    ("gopher_min_words", too_few_words),
    ("gopher_max_words", too_many_words),
    ("gopher_dup_line_frac", dup_line_frac),
    ("gopher_dup_para_frac", dup_para_frac),
    ("gopher_dup_line_char_frac", dup_line_char_frac),
    ("gopher_dup_para_char_frac", dup_para_char_frac),
    *((f"gopher_top_{n}gram", top_ngram_check(n)) for n in TOP_NGRAMS),
    *((f"gopher_dup_{n}gram", dup_ngram_check(n)) for n in DUP_NGRAMS),
    ("gopher_mean_word_length", mean_word_length_out_of_bounds),
    ("gopher_symbol_ratio", symbol_ratio),
    ("gopher_bullet_lines", bullet_lines),
    ("gopher_ellipsis_lines", ellipsis_lines),
    ("gopher_alpha_words", too_few_alpha_words),
    ("gopher_stop_words", too_few_stop_words),
    ("c4_lorem_ipsum", lorem_ipsum),
    ("c4_javascript", javascript_lines),
    ("c4_curly_bracket", curly_bracket),
    ("stop_word_ratio", low_stop_word_ratio),
    ("fineweb_line_punct", few_punctuated_lines),
    ("fineweb_short_lines", many_short_lines),
    ("fineweb_char_dup", duplicated_line_chars),
    ("fineweb_list_ratio", list_like),
)
RULE_NAMES = tuple(name for name, _ in RULES)


class QualityRules:
    """The rules with one run's thresholds: per language, its stop words and thresholds.

    ``thresholds`` is a config's ``thresholds`` (resolved or not; :func:`resolve_thresholds` gives
    the same table either way); without it, the built-in values.
    """

    def __init__(self, thresholds: Mapping[str, QualityThresholds] | None = None) -> None:
        self.thresholds = resolve_thresholds(thresholds or {})
        self.settings = {
            lang: LanguageSettings(STOP_WORDS.get(lang, frozenset()), values)
            for lang, values in self.thresholds.items()
        }
        self.default = self.settings[DEFAULT_KEY]

    def first_failing(self, text: str, lang: str | None) -> str | None:
        """The name of the first rule that ``text`` fails, or None when it passes them all."""
        view = TextView(text)
        settings = self.settings.get(lang or "", self.default)
        return next((name for name, fails in RULES if fails(view, settings)), None)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The thresholds in use, per language (``default``: every other language), as JSON values."""
        return {lang: values.model_dump(mode="json") for lang, values in self.thresholds.items()}


DEFAULT_RULES = QualityRules()


def first_failing_rule(text: str, lang: str | None, rules: QualityRules = DEFAULT_RULES) -> str | None:
    """The name of the first rule that ``text`` fails under ``rules`` (default: the built-in
    thresholds), or None when it passes them all."""
    return rules.first_failing(text, lang)


class QualityFilter(CurationStage):
    """Filters kept documents that fail a quality rule, with reason ``quality:<rule>`` (first failure)."""

    name = "quality"
    preload_modules = ("pipelines.stages.tokens",)  # its character table

    def __init__(self, thresholds: Mapping[str, QualityThresholds] | None = None) -> None:
        super().__init__()
        self.rules = QualityRules(thresholds)

    def process(self, doc: Document) -> None:
        rule = self.rules.first_failing(doc.text, doc.metadata.get(LANG))
        if rule is not None:
            self.filter(doc, rule)
