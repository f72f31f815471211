"""Site boilerplate: lines that recur across different pages of one site, set aside before near dedup.

A web page is its article plus the site's chrome (menus, teasers, footers, link lists). When the
chrome outweighs a short article, word shingles of the page mostly measure the chrome: the same
article under another selection and order of that chrome looks different, and different articles
under the same chrome look alike. So near dedup signs each document without the lines that are
boilerplate (CCNet-style line statistics over the whole run); exact dedup still sees the whole text.

- A **line** is a line of the text in the dedup normal form (case-folded, NFC, whitespace runs
  collapsed); lines without a word character are ignored. Its key is the 64-bit xxh3 of that form.
- Line statistics are per **site** (:func:`site_of`: the URL's host without ``www.``, else the
  file the document was read from, else its source).
- The **contents** of a line on a site are how many different documents of the site carry it,
  where documents whose longest line (their *anchor*, usually an article paragraph) is the same
  count as one: the copies of an article (exact, under other chrome, with typos elsewhere) share
  their longest paragraph, so an article repeated on its site is one content and its lines are not
  boilerplate, while a chrome line carried by pages of different articles has one content per
  article.
- A line is **boilerplate** when, on some site, it has ``short_line_contents`` contents or more and
  at most ``short_line_words`` words (menus, links, teaser headlines: a second content already
  shows it is not the article's own), or ``min_contents`` contents or more whatever its length
  (cookie notices, long teasers; a long line needs more evidence, as removing an article paragraph
  costs more) (:func:`boilerplate_lines`).
- Near dedup signs the text without the boilerplate lines, on every site alike, so all copies of a
  text lose the same lines (:func:`strip_boilerplate`); a document left with fewer than
  ``min_words`` words gets no near-dedup signature, so a page that is all chrome is never a near
  duplicate of its site's other pages (it can still be an exact duplicate).

The statistics cover the whole run: the engine gathers them in partitioned tasks
(:mod:`pipelines.dedup.tasks`), and :func:`sign_without_boilerplate` does the same in one process,
for tests and benchmarks. Both decide the same: whether a line is boilerplate depends only on the
rows of that line, which one task sees whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import xxhash
from datatrove.data import Document

from pipelines.stages.dedup import MinHasher, NearDedupParams
from pipelines.stages.tokens import words_of
from schemas.document import MINHASH, SOURCE, SOURCE_URI, URL, is_kept

_HAS_WORD = re.compile(r"\w")
_MAX_WORDS = np.iinfo(np.uint16).max

LINE_DTYPE = np.dtype([("site", "<u8"), ("line", "<u8"), ("anchor", "<u8"), ("words", "<u2")])


@dataclass(frozen=True)
class BoilerplateParams:
    """When a line is boilerplate, and how many words a document needs to be signed (module docstring)."""

    min_contents: int = 5
    short_line_words: int = 15
    short_line_contents: int = 2
    min_words: int = 15

    def __post_init__(self) -> None:
        if min(self.min_contents, self.short_line_contents) < 2:
            raise ValueError(f"contents must be >= 2 (one content is the document's own text): {self}")
        if self.short_line_words < 0 or self.min_words < 1:
            raise ValueError(f"short_line_words must be >= 0 and min_words >= 1: {self}")


def site_of(metadata: Mapping[str, Any]) -> str:
    """The site whose line statistics a document belongs to: its URL's host (without ``www.``),
    else the file it was read from, else its source."""
    url = metadata.get(URL)
    if url:
        host = (urlsplit(str(url)).hostname or "").removeprefix("www.")
        if host:
            return host
    return str(metadata.get(SOURCE_URI) or metadata.get(SOURCE) or "")


def site_hash(site: str) -> int:
    return xxhash.xxh3_64_intdigest(site.encode("utf-8", "surrogatepass"))


def normalize_line(line: str) -> str:
    """A line in the dedup normal form: case-folded, NFC, whitespace runs one space, stripped."""
    folded = line.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFC", folded)
    return " ".join(folded.split())


def _line_keys(text: str) -> list[tuple[int, int, int]]:
    """``(key, characters, words)`` of each line of ``text``; key -1 for a line without a word."""
    lines = []
    for line in text.split("\n"):
        normal = normalize_line(line)
        if _HAS_WORD.search(normal):
            key = xxhash.xxh3_64_intdigest(normal.encode("utf-8", "surrogatepass"))
            lines.append((key, len(normal), normal.count(" ") + 1))
        else:
            lines.append((-1, 0, 0))
    return lines


def page_lines(text: str, site: str) -> np.ndarray:
    """One :data:`LINE_DTYPE` row per distinct line of ``text`` (with its site, words and the
    document's anchor); empty when no line has a word."""
    distinct: dict[int, tuple[int, int]] = {}
    for key, chars, words in _line_keys(text):
        if key >= 0:
            distinct[key] = (chars, words)
    rows = np.empty(len(distinct), dtype=LINE_DTYPE)
    if not distinct:
        return rows
    # the longest line; equal lengths by key, so every process picks the same anchor
    anchor = min(distinct, key=lambda k: (-distinct[k][0], k))
    rows["site"] = site_hash(site)
    rows["line"] = np.fromiter(distinct, dtype=np.uint64, count=len(distinct))
    rows["anchor"] = anchor
    rows["words"] = np.minimum([words for _, words in distinct.values()], _MAX_WORDS)
    return rows


def line_contents(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (site, line) pairs of :data:`LINE_DTYPE` rows, as rows (``anchor`` 0), and the
    number of contents (distinct anchors) of each."""
    triples = np.empty(rows.size, dtype=[("site", "<u8"), ("line", "<u8"), ("anchor", "<u8")])
    for name in triples.dtype.names:
        triples[name] = rows[name]
    triples, first = np.unique(triples, return_index=True)
    starts = np.flatnonzero(
        np.r_[
            True,
            (triples["site"][1:] != triples["site"][:-1]) | (triples["line"][1:] != triples["line"][:-1]),
        ]
    )[: triples.size]
    contents = np.diff(np.r_[starts, triples.size])
    pairs = np.zeros(starts.size, dtype=LINE_DTYPE)
    pairs["site"] = triples["site"][starts]
    pairs["line"] = triples["line"][starts]
    pairs["words"] = rows["words"][first[starts]]
    return pairs, contents


def boilerplate_lines(rows: np.ndarray, params: BoilerplateParams) -> np.ndarray:
    """The sorted keys of the lines that are boilerplate on some site, from the :data:`LINE_DTYPE`
    rows of every document carrying them."""
    pairs, contents = line_contents(rows)
    needed = np.where(
        pairs["words"] <= params.short_line_words, params.short_line_contents, params.min_contents
    )
    return np.unique(pairs["line"][contents >= needed])


def strip_boilerplate(text: str, boilerplate: np.ndarray) -> str:
    """``text`` without its lines whose key is in ``boilerplate`` (sorted uint64 keys)."""
    if not boilerplate.size:
        return text
    keys = [key for key, _, _ in _line_keys(text)]
    known = np.asarray([max(key, 0) for key in keys], dtype=np.uint64)
    found = np.minimum(np.searchsorted(boilerplate, known), boilerplate.size - 1)
    flagged = (boilerplate[found] == known).tolist()
    lines = text.split("\n")
    return "\n".join(
        line for line, key, drop in zip(lines, keys, flagged, strict=True) if key < 0 or not drop
    )


class BoilerplateFreeSigner:
    """MinHash signatures of texts without their boilerplate lines (module docstring)."""

    def __init__(self, near: NearDedupParams, params: BoilerplateParams) -> None:
        self.params = params
        self.minhasher = MinHasher(near)

    def signatures(self, texts: Sequence[str], boilerplate: np.ndarray) -> list[bytes | None]:
        """The signature of each text without the ``boilerplate`` lines (sorted uint64 keys); None
        where fewer than ``min_words`` words are left."""
        hashes = []
        for text in texts:
            words = words_of(strip_boilerplate(text, boilerplate))
            hashes.append(words.hashes if words.count >= self.params.min_words else np.empty(0, np.uint64))
        return [None if s is None else s.tobytes() for s in self.minhasher.signatures(hashes)]


def sign_without_boilerplate(
    docs: Sequence[Document], near: NearDedupParams, params: BoilerplateParams
) -> None:
    """The whole run in one process: sets the ``minhash`` of each kept document as the engine's tasks do."""
    kept = [doc for doc in docs if is_kept(doc)]
    rows = [page_lines(doc.text, site_of(doc.metadata)) for doc in kept]
    boilerplate = boilerplate_lines(np.concatenate(rows) if rows else np.empty(0, LINE_DTYPE), params)
    signatures = BoilerplateFreeSigner(near, params).signatures([doc.text for doc in kept], boilerplate)
    for doc, signature in zip(kept, signatures, strict=True):
        doc.metadata[MINHASH] = signature
