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
from pipelines.stages.tokens import Words
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


def folded_text(text: str) -> str:
    """``text`` case-folded and in NFC, the first half of the dedup normal form (per line or for the
    whole text alike: neither changes or joins across a line break)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFC", folded)
    return folded


def normal_lines(folded: str) -> list[str]:
    """The lines of a :func:`folded_text` in the dedup normal form: ``" ".join(line.split())`` of each
    line, i.e. every run of whitespace one space and none at either end. A text whose whitespace is
    already single spaces between other characters (what the normalize stage leaves) is split as it
    is, which saves the work per line."""
    return _normal(folded.split("\n"), folded)


def _normal(lines: list[str], folded: str) -> list[str]:
    """:func:`normal_lines` of ``folded``, given its lines."""
    if _single_spaced(folded):
        return lines
    return [" ".join(line.split()) for line in lines]


def _single_spaced(folded: str) -> bool:
    """Whether the only whitespace in ``folded`` besides line breaks is single spaces between other
    characters (every other whitespace character is one ``str.isprintable`` rejects)."""
    return not (
        "  " in folded
        or " \n" in folded
        or "\n " in folded
        or folded.startswith(" ")
        or folded.endswith(" ")
        or not folded.replace("\n", "").isprintable()
    )


def line_keys(lines: list[str]) -> np.ndarray:
    """The key (64-bit xxh3 of the UTF-8 bytes) of each normal-form line, uint64."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(line.encode("utf-8", "surrogatepass")) for line in lines), dtype=np.uint64, count=len(lines)
    )


def text_lines(text: str) -> tuple[list[str], np.ndarray]:
    """Every line of ``text`` in the dedup normal form, and its key (:func:`line_keys`)."""
    lines = normal_lines(folded_text(text))
    return lines, line_keys(lines)


def page_lines(text: str, site: str) -> np.ndarray:
    """One :data:`LINE_DTYPE` row per distinct line of ``text`` that has a word (with its site, words
    and the document's anchor); empty when no line has a word."""
    return page_rows(*text_lines(text), site)


def page_rows(lines: list[str], keys: np.ndarray, site: str) -> np.ndarray:
    """:func:`page_lines` from the page's :func:`text_lines`."""
    distinct: dict[int, tuple[int, int]] = {}
    for key, line in zip(keys.tolist(), lines, strict=True):
        if _HAS_WORD.search(line):
            distinct[key] = (len(line), line.count(" ") + 1)
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


def distinct_rows(rows: np.ndarray) -> np.ndarray:
    """The distinct :data:`LINE_DTYPE` rows, sorted by site, line, anchor and words: ``np.unique``'s
    result, by a ``lexsort`` of the columns (a sort of the structured rows compares them field by
    field, which is far slower)."""
    ordered = rows[np.lexsort([rows[name] for name in reversed(LINE_DTYPE.names)])]
    repeated = np.ones(max(ordered.size - 1, 0), dtype=bool)  # row i + 1 equals row i
    for name in LINE_DTYPE.names:
        repeated &= ordered[name][1:] == ordered[name][:-1]
    return ordered[np.concatenate(([True], ~repeated))[: ordered.size]]


def line_contents(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (site, line) pairs of :data:`LINE_DTYPE` rows, as rows (``anchor`` 0) sorted by
    site and line, and the number of contents (distinct anchors) of each."""
    order = np.lexsort((rows["anchor"], rows["line"], rows["site"]))
    site, line, anchor = (rows[name][order] for name in ("site", "line", "anchor"))
    new_pair = np.ones(order.size, dtype=bool)
    new_pair[1:] = (site[1:] != site[:-1]) | (line[1:] != line[:-1])
    new_content = new_pair.copy()
    new_content[1:] |= anchor[1:] != anchor[:-1]
    starts = np.flatnonzero(new_pair)
    contents = np.add.reduceat(new_content.astype(np.int64), starts) if starts.size else starts
    pairs = np.zeros(starts.size, dtype=LINE_DTYPE)
    pairs["site"] = site[starts]
    pairs["line"] = line[starts]
    pairs["words"] = rows["words"][order[starts]]
    return pairs, contents


def boilerplate_lines(rows: np.ndarray, params: BoilerplateParams) -> np.ndarray:
    """The sorted keys of the lines that are boilerplate on some site, from the :data:`LINE_DTYPE`
    rows of every document carrying them."""
    pairs, contents = line_contents(rows)
    needed = np.where(
        pairs["words"] <= params.short_line_words, params.short_line_contents, params.min_contents
    )
    return np.unique(pairs["line"][contents >= needed])


def flagged_lines(keys: np.ndarray, boilerplate: np.ndarray) -> np.ndarray:
    """Per line key, whether it is in ``boilerplate`` (sorted uint64 keys)."""
    if not boilerplate.size:
        return np.zeros(keys.size, dtype=bool)
    found = np.minimum(np.searchsorted(boilerplate, keys), boilerplate.size - 1)
    return boilerplate[found] == keys


def strip_boilerplate(text: str, boilerplate: np.ndarray) -> str:
    """``text`` without its lines whose key is in ``boilerplate`` (sorted uint64 keys of lines with a
    word: a line without one is never among them)."""
    if not boilerplate.size:
        return text
    dropped = flagged_lines(line_keys(normal_lines(folded_text(text))), boilerplate).tolist()
    return "\n".join(line for line, drop in zip(text.split("\n"), dropped, strict=True) if not drop)


class BoilerplateFreeSigner:
    """MinHash signatures of texts without their boilerplate lines (module docstring)."""

    def __init__(self, near: NearDedupParams, params: BoilerplateParams) -> None:
        self.params = params
        self.minhasher = MinHasher(near)

    def signatures(
        self, texts: Sequence[str], boilerplate: np.ndarray, keys: Sequence[bytes | None] | None = None
    ) -> list[bytes | None]:
        """The signature of each text without the ``boilerplate`` lines (sorted uint64 keys); None
        where fewer than ``min_words`` words are left. ``keys``: each text's line keys, as
        :data:`~schemas.document.LINE_KEYS` holds them, where they were computed before."""
        hashes = []
        for text, known in zip(texts, keys or [None] * len(texts), strict=True):
            line_keys = None if known is None else np.frombuffer(known, "<u8")
            left = words_without_boilerplate(Words(text), boilerplate, line_keys)
            hashes.append(left if left.size >= self.params.min_words else np.empty(0, np.uint64))
        return [None if s is None else s.tobytes() for s in self.minhasher.signatures(hashes)]


def words_without_boilerplate(
    words: Words, boilerplate: np.ndarray, keys: np.ndarray | None = None
) -> np.ndarray:
    """The word hashes of a text without its lines whose key is in ``boilerplate``: those of
    ``Words(strip_boilerplate(text, boilerplate))``, as no word runs across a line break, taken from
    the text's own words instead of tokenising the stripped text again. ``keys``: the key of every
    line of the text (:func:`text_lines`), where they are known."""
    if not boilerplate.size or not words.count:
        return words.hashes
    lines = words.lower.split("\n")  # the Words' folded text is :func:`folded_text`'s
    if keys is None or keys.size != len(lines):
        keys = line_keys(_normal(lines, words.lower))
    dropped = flagged_lines(keys, boilerplate)
    if not dropped.any():
        return words.hashes
    line_ends = np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1)
    return words.hashes[~dropped[np.searchsorted(line_ends, words.starts, side="right")]]


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
