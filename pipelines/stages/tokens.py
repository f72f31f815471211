"""The words of a document, computed once and shared by every stage that counts or hashes words.

:func:`words_of` tokenises a text the same way for the quality rules and for near dedup: the text is
case-folded (``str.casefold``: ``Straße`` and ``STRASSE`` are one word) and brought to Unicode NFC
(so that NFD input has the same words as NFC input; ``\\w`` does not match a combining mark on its
own), and a word is what ``WORD_RE`` matches: a run of letters/digits with inner apostrophes,
hyphens and dots (``don't``, ``e-mail``, ``z.B``, ``3.14``).

The tokenizer works on the code points as one NumPy array instead of running the pattern: a
character belongs to a word when it is a word character (``\\w``: ``str.isalnum`` or ``_``), or a
joiner (``'’-.``) with word characters on both sides, and the words are the maximal runs of such
characters, which is exactly what ``WORD_RE.findall`` returns (tested on the real data and on
random text). Each word gets a 64-bit hash of its code points (:func:`hash_word`, a fixed function
of the word, the same in every process and run), so equal words are found, and shingles hashed,
without making a Python string per word; the strings are only built when asked for.

A pipeline hands one document at a time from stage to stage, and dedup signs documents in small
batches, so the tokens of the texts seen last are kept: at most :data:`CACHE_TEXTS` texts holding
at most :data:`CACHE_CHARS` characters together, first in, first out (keyed by the text, which
Python compares by identity first). The quality stage tokenises a document and dedup reuses the
result; a stage that changes the text (PII redaction) simply gets the new text's tokens. The bound
in characters keeps a worker's memory flat whatever the documents' sizes.

Speed: about 0.05 ms per ~2.6 KB document for the words, their hashes, ids and lengths (the
pattern plus a dictionary of the words took 0.17 ms).
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from functools import cached_property

import numpy as np

WORD_RE = re.compile(r"\w+(?:['’\-.]\w+)*")  # the definition; the arrays below compute its matches
JOINERS = "'’-."
CACHE_TEXTS = 256  # texts whose tokens are kept: more than a dedup batch plus the stages in flight
CACHE_CHARS = 8_000_000  # ... and at most this many characters of text among them

# Character classes, one bit each, for every code point.
WORD = 1  # \w
JOINER = 2  # inside a word between word characters
DIGIT_LIKE = 4  # \d, '_' or a joiner: a word made only of these has no letter (the quality stage counts them)
SPACE = 8  # ' '
NEWLINE = 16  # '\n'
OTHER_SPACE = 32  # any other whitespace (what str.split() splits at besides ' ' and '\n')

_MASK = (1 << 64) - 1
_OFFSET = 0x9E3779B97F4A7C15  # start of every word hash
_LENGTH = 0xD6E8FEB86659FD93  # times the word's length
_WEIGHTS_CACHED = 4096  # position weights kept in a table; longer words compute theirs
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_ZERO = np.zeros(1, dtype=np.int64)


def character_classes() -> np.ndarray:
    """uint8 flags (:data:`WORD`, :data:`JOINER`, :data:`DIGIT_LIKE` and the whitespace classes) of
    every code point, from the ``re`` module's own ``\\w``, ``\\d`` and ``\\s`` (~0.05 s: they come in
    a few hundred runs). Built once, when the module is imported (:data:`CHARACTER_CLASSES`), so
    that a fork server that imports it (the stages name it in ``preload_modules``) builds it for all
    its workers."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(0x110000, dtype=np.uint8)
    for pattern, flag in ((r"\w+", WORD), (r"\d+", DIGIT_LIKE)):
        for run in re.finditer(pattern, every):
            classes[run.start() : run.end()] |= flag
    for run in re.finditer(r"\s+", every):  # str.isspace(), as str.split() and re's \s use it
        classes[run.start() : run.end()] |= OTHER_SPACE
    classes[ord(" ")] ^= OTHER_SPACE | SPACE
    classes[ord("\n")] ^= OTHER_SPACE | NEWLINE
    classes[ord("_")] |= DIGIT_LIKE
    for joiner in JOINERS:
        classes[ord(joiner)] |= JOINER | DIGIT_LIKE
    return classes


CHARACTER_CLASSES = character_classes()


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on a uint64 array, in place (a bijection that mixes every bit)."""
    values ^= values >> np.uint64(33)
    values *= _FMIX1
    values ^= values >> np.uint64(33)
    values *= _FMIX2
    values ^= values >> np.uint64(33)
    return values


def _position_weights(positions: np.ndarray) -> np.ndarray:
    """The odd 64-bit weight of each position in a word: ``fmix64(position * golden + 1) | 1``."""
    weights = positions.astype(np.uint64) * np.uint64(_OFFSET) + np.uint64(1)
    return fmix64(weights) | np.uint64(1)


_WEIGHTS = _position_weights(np.arange(_WEIGHTS_CACHED))


def _fmix64_int(value: int) -> int:
    value ^= value >> 33
    value = value * 0xFF51AFD7ED558CCD & _MASK
    value ^= value >> 33
    value = value * 0xC4CEB9FE1A85EC53 & _MASK
    return value ^ value >> 33


def hash_word(word: str) -> int:
    """The 64-bit hash of one word, with Python integers (the definition :class:`Words` vectorises):
    ``fmix64(offset + length * L + sum(code point * weight(position)))``, mod 2**64."""
    total = _OFFSET + len(word) * _LENGTH
    for position, char in enumerate(word):
        weight = _fmix64_int((position * _OFFSET + 1) & _MASK) | 1
        total += ord(char) * weight
    return _fmix64_int(total & _MASK)


def _span_hashes(
    points: np.ndarray, members: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """:func:`hash_word` of the non-empty spans ``points[start : start + length]``, uint64;
    ``members`` are the positions of all their characters in order, ``starts`` their first ones."""
    if not starts.size:
        return np.empty(0, dtype=np.uint64)
    offsets = np.cumsum(lengths)
    offsets -= lengths  # where each span starts among the members
    positions = members - np.repeat(starts, lengths)  # of each character in its word
    cached = int(lengths.max()) <= _WEIGHTS_CACHED
    weights = _WEIGHTS[positions] if cached else _position_weights(positions)
    weights *= points[members]
    totals = np.add.reduceat(weights, offsets)
    totals += lengths.astype(np.uint64) * np.uint64(_LENGTH) + np.uint64(_OFFSET)
    return fmix64(totals)


def hash_words(words: Iterable[str]) -> np.ndarray:
    """:func:`hash_word` of each word (non-empty strings), uint64, computed together."""
    words = list(words)
    if not words:
        return np.empty(0, dtype=np.uint64)
    points = np.frombuffer("".join(words).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    return _span_hashes(points, np.arange(points.size), np.cumsum(lengths) - lengths, lengths)


class Words:
    """The words of one text (case-folded, NFC) and what the stages derive from them.

    ``starts`` / ``lengths`` locate each word in :attr:`lower`; ``hashes`` are their
    :func:`hash_word` values; ``ids`` number equal words alike (0 .. ``vocabulary - 1``).
    """

    def __init__(self, text: str) -> None:
        lower = text.casefold()
        if not lower.isascii() and not unicodedata.is_normalized("NFC", lower):
            lower = unicodedata.normalize("NFC", lower)
        self.lower = lower
        points = np.frombuffer(lower.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        classes = CHARACTER_CLASSES[points]
        inside = (classes & WORD).astype(bool)
        joiner = (classes & JOINER).astype(bool)
        joiner[1:-1] &= inside[:-2] & inside[2:]  # a joiner counts between two word characters
        joiner[:1] = joiner[-1:] = False
        inside |= joiner
        members = np.flatnonzero(inside)  # positions of every character of every word
        first = np.flatnonzero(members[1:] - members[:-1] != 1)  # each word's first member, but the first
        first += 1
        first = np.concatenate((_ZERO, first)) if members.size else first
        self.count = int(first.size)
        self.chars = int(members.size)
        self.lengths = np.empty(self.count, dtype=np.int64)
        np.subtract(first[1:], first[:-1], out=self.lengths[:-1])
        self.lengths[-1:] = self.chars - first[-1:]
        self.starts = members[first]
        self.hashes = _span_hashes(points, members, self.starts, self.lengths)
        self._other = (classes[members] & DIGIT_LIKE) == 0  # per word character: a letter or the like
        self._first = first
        self._classes = classes
        self._vocabulary: int | None = None

    def __len__(self) -> int:
        return self.count

    @cached_property
    def words(self) -> list[str]:
        """The words as strings (built on first use; the stages work on the arrays)."""
        lower = self.lower
        return [lower[s : s + n] for s, n in zip(self.starts.tolist(), self.lengths.tolist(), strict=True)]

    @cached_property
    def ids(self) -> np.ndarray:
        """Each word as a small integer, equal for equal words (0 .. ``vocabulary - 1``), int64."""
        order = np.argsort(self.hashes)
        ordered = self.hashes[order]
        new = np.empty(self.count, dtype=np.int64)
        new[:1] = 0
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        ids = np.empty(self.count, dtype=np.int64)
        ids[order] = np.cumsum(new)
        self._vocabulary = int(ids.max(initial=-1)) + 1
        return ids

    @property
    def vocabulary(self) -> int:
        """How many distinct words."""
        if self._vocabulary is None:
            self.ids  # noqa: B018 - sets it
        return self._vocabulary

    @cached_property
    def letterless(self) -> int:
        """How many words are made only of digits (``\\d``), ``_`` and joiners: no letter at all."""
        if not self.count:
            return 0
        others = np.add.reduceat(self._other.astype(np.int64), self._first)
        return int(np.count_nonzero(others == 0))

    @property
    def digit_like_chars(self) -> int:
        """Characters of words that are digits, ``_`` or joiners: at least one per letterless word."""
        return int(self.chars - np.count_nonzero(self._other))

    @cached_property
    def lines_single_spaced(self) -> bool:
        """Whether every line of :attr:`lower` is already in the dedup normal form
        (``" ".join(line.split())``): no whitespace in it but single spaces between other characters."""
        classes = self._classes
        if not classes.size:
            return True
        space = (classes & SPACE) != 0
        return not (
            space[0]
            or space[-1]
            or (classes & OTHER_SPACE).any()
            or (space[1:] & ((classes[:-1] & (SPACE | NEWLINE)) != 0)).any()  # "  " or "\n "
            or (space[:-1] & ((classes[1:] & NEWLINE) != 0)).any()  # " \n"
        )

    @cached_property
    def normal_form(self) -> str:
        """:attr:`lower` with every run of whitespace one space and none at either end (what exact
        dedup keys): ``" ".join(lower.split())``, by one replacement where the lines are single
        spaced and none is empty."""
        lower = self.lower
        if (
            self.lines_single_spaced
            and "\n\n" not in lower
            and not lower.startswith("\n")
            and not lower.endswith("\n")
        ):
            return lower.replace("\n", " ")
        return " ".join(lower.split())

    def flags_in(self, vocabulary: np.ndarray) -> np.ndarray:
        """Per word, whether it is in ``vocabulary`` (sorted :func:`hash_word` values)."""
        if not vocabulary.size or not self.count:
            return np.zeros(self.count, dtype=bool)
        found = np.searchsorted(vocabulary, self.hashes)
        found[found == vocabulary.size] = 0
        return vocabulary[found] == self.hashes


def vocabulary_hashes(words: Iterable[str]) -> np.ndarray:
    """Sorted unique :func:`hash_word` values of ``words``, for :meth:`Words.flags_in`."""
    return np.unique(hash_words(words))


_cache: OrderedDict[str, Words] = OrderedDict()
_cached_chars = 0


def words_of(text: str) -> Words:
    """The :class:`Words` of ``text``, shared by every stage that asks for the same text."""
    global _cached_chars
    words = _cache.get(text)
    if words is None:
        words = _cache[text] = Words(text)
        _cached_chars += len(text)
        while len(_cache) > CACHE_TEXTS or (_cached_chars > CACHE_CHARS and len(_cache) > 1):
            _cached_chars -= len(_cache.popitem(last=False)[0])
    return words
