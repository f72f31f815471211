"""The words of a document, computed once and shared by every stage that counts or hashes words.

:func:`words_of` tokenises a text the same way for the quality rules and for near dedup: the text is
case-folded (``str.casefold``: ``Straße`` and ``STRASSE`` are one word) and brought to Unicode NFC
(so that NFD input has the same words as NFC input; ``\\w`` does not match a combining mark on its
own), and a word is a run of letters/digits with inner
apostrophes, hyphens and dots (``WORD_RE``: ``don't``, ``e-mail``, ``z.B``, ``3.14``).

A pipeline hands one document at a time from stage to stage, and dedup signs documents in small
batches, so the tokens of the texts seen last are kept: at most :data:`CACHE_TEXTS` texts holding
at most :data:`CACHE_CHARS` characters together, first in, first out (keyed by the text, which
Python compares by identity first). The quality stage tokenises a document and dedup reuses the
result; a stage that changes the text (PII redaction) simply gets the new text's tokens. The bound
in characters keeps a worker's memory flat whatever the documents' sizes.

Derived values (word ids, lengths, hashes) are computed on first use only.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from functools import cached_property
from itertools import repeat

import numpy as np
import xxhash

WORD_RE = re.compile(r"\w+(?:['’\-.]\w+)*")
CACHE_TEXTS = 256  # texts whose tokens are kept: more than a dedup batch plus the stages in flight
CACHE_CHARS = 8_000_000  # ... and at most this many characters of text among them


class Words:
    """The words of one text (case-folded, NFC) and what the stages derive from them."""

    def __init__(self, text: str) -> None:
        lower = text.casefold()
        if not lower.isascii() and not unicodedata.is_normalized("NFC", lower):
            lower = unicodedata.normalize("NFC", lower)
        self.lower = lower
        self.words: list[str] = WORD_RE.findall(lower)

    @cached_property
    def vocabulary(self) -> list[str]:
        """The distinct words, in order of first occurrence."""
        return list(dict.fromkeys(self.words))

    @cached_property
    def ids(self) -> np.ndarray:
        """Each word as its index in :attr:`vocabulary` (equal words, equal ids), int64."""
        index = dict(zip(self.vocabulary, range(len(self.vocabulary)), strict=True))
        return np.fromiter(map(index.__getitem__, self.words), dtype=np.int64, count=len(self.words))

    @cached_property
    def lengths(self) -> np.ndarray:
        """Characters per word, int64."""
        return np.fromiter(map(len, self.words), dtype=np.int64, count=len(self.words))

    @cached_property
    def chars(self) -> int:
        """Characters in all words."""
        return sum(map(len, self.words))

    def hashes(self, seed: int) -> np.ndarray:
        """xxh64 (``seed``) of each word's UTF-8 bytes, uint64; each distinct word is hashed once."""
        vocabulary = self.vocabulary
        encoded = map(str.encode, vocabulary)
        digests = map(xxhash.xxh64_intdigest, encoded, repeat(seed))
        return np.fromiter(digests, dtype=np.uint64, count=len(vocabulary))[self.ids]


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
