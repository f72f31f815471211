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
rows of that line, which one task sees whole. Signing needs the statistics of the whole run, so it
comes after them: curate tasks stage each page's word hashes, how many words each line carries and
the line keys (:class:`PageWords`), and sign tasks take the words of the lines that are not
boilerplate from those, without reading or tokenising the texts again.
"""

from __future__ import annotations

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

_MAX_WORDS = np.iinfo(np.uint16).max

_ZERO = np.zeros(1, dtype=np.int64)
_EMPTY_U8 = np.empty(0, dtype=np.uint64)
_EMPTY_U4 = np.empty(0, dtype="<u4")

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


def line_keys(lines: list[str]) -> np.ndarray:
    """The key (64-bit xxh3 of the UTF-8 bytes) of each normal-form line, uint64."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(line.encode("utf-8", "surrogatepass")) for line in lines), dtype=np.uint64, count=len(lines)
    )


def page_line_words(words: Words) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The lines of the text whose :class:`Words` are ``words``, in the dedup normal form (of the
    Words' case-folded NFC text, ``" ".join(line.split())`` of each line: every run of whitespace one
    space and none at either end), their keys (:func:`line_keys`) and how many of the words each
    line carries (uint32): what signing the text without some of its lines needs. A text whose lines
    are single spaced already (what the normalize stage leaves) is split as it is."""
    raw = words.lower.split("\n")
    forms = raw if words.lines_single_spaced else [" ".join(line.split()) for line in raw]
    line_ends = np.cumsum(np.fromiter(map(len, raw), dtype=np.int64, count=len(raw)) + 1)
    on_line = np.searchsorted(line_ends, words.starts, side="right")
    return forms, line_keys(forms), np.bincount(on_line, minlength=len(raw)).astype("<u4")


def page_lines(text: str, site: str) -> np.ndarray:
    """One :data:`LINE_DTYPE` row per line of ``text`` that has a word (with its site, words and the
    document's anchor); empty when no line has a word."""
    return page_rows(*page_line_words(Words(text)), site)


def page_rows(lines: list[str], keys: np.ndarray, line_words: np.ndarray, site: str) -> np.ndarray:
    """:func:`page_lines` from the page's :func:`page_line_words`. A line has a word (``\\w``) when
    the tokenizer finds one on it; its words for :class:`BoilerplateParams` are its spaces plus one.
    Copies of a line on the page give equal rows (:func:`distinct_rows` drops them)."""
    worded = np.flatnonzero(line_words)
    rows = np.empty(worded.size, dtype=LINE_DTYPE)
    if not worded.size:
        return rows
    forms = [lines[i] for i in worded.tolist()]
    lengths = np.fromiter(map(len, forms), dtype=np.int64, count=len(forms))
    rows["line"] = keys[worded]
    # the longest line; equal lengths by key, so every process picks the same anchor
    rows["anchor"] = rows["line"][np.lexsort((rows["line"], -lengths))[0]]
    rows["site"] = site_hash(site)
    spaces = np.fromiter((form.count(" ") for form in forms), dtype=np.int64, count=len(forms))
    rows["words"] = np.minimum(spaces + 1, _MAX_WORDS)
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
    dropped = flagged_lines(page_line_words(Words(text))[1], boilerplate).tolist()
    return "\n".join(line for line, drop in zip(text.split("\n"), dropped, strict=True) if not drop)


@dataclass(frozen=True)
class PageWords:
    """What signing pages without their boilerplate lines needs, for a batch of pages, one page after
    another: every word's hash (:attr:`Words.hashes`), how many words each page has, how many of
    them each line carries, the line keys, and how many lines each page has
    (:func:`page_line_words`). Curate tasks stage them, so that sign tasks neither read nor
    tokenise the texts again."""

    hashes: np.ndarray  # uint64, every page's word hashes in order
    words: np.ndarray  # int64, words per page
    line_words: np.ndarray  # words per line, every page's lines in order
    line_keys: np.ndarray  # uint64, the key of each of those lines
    lines: np.ndarray  # int64, lines per page

    def __post_init__(self) -> None:
        sizes = (self.words.size, self.lines.size, self.line_words.size, self.line_keys.size)
        if sizes[0] != sizes[1] or sizes[2] != sizes[3]:
            raise ValueError(
                f"page words do not add up: {sizes[0]} pages with words, {sizes[1]} with lines; "
                f"{sizes[2]} lines with word counts, {sizes[3]} with keys"
            )
        line_ends = np.cumsum(self.lines)
        words_to = np.concatenate((_ZERO, np.cumsum(self.line_words, dtype=np.int64)))
        if (
            int(line_ends[-1:].sum()) != self.line_keys.size
            or not np.array_equal(words_to[line_ends], np.cumsum(self.words))
            or int(self.words.sum()) != self.hashes.size
        ):
            raise ValueError("page words do not add up: a page's lines carry more or fewer words than it has")

    @classmethod
    def of(
        cls, pages: Sequence[Words], lines: Sequence[tuple[list[str], np.ndarray, np.ndarray]] | None = None
    ) -> PageWords:
        """The batch of pages with these words; ``lines``: each page's :func:`page_line_words`,
        where they were made already."""
        parts = [line[1:] for line in lines] if lines is not None else [page_line_words(w)[1:] for w in pages]
        return cls(
            hashes=np.concatenate([_EMPTY_U8, *(words.hashes for words in pages)]),
            words=np.fromiter((words.count for words in pages), dtype=np.int64, count=len(pages)),
            line_words=np.concatenate([_EMPTY_U4, *(counts for _, counts in parts)]),
            line_keys=np.concatenate([_EMPTY_U8, *(keys for keys, _ in parts)]),
            lines=np.fromiter((keys.size for keys, _ in parts), dtype=np.int64, count=len(parts)),
        )


class BoilerplateFreeSigner:
    """MinHash signatures of texts without their boilerplate lines (module docstring)."""

    def __init__(self, near: NearDedupParams, params: BoilerplateParams) -> None:
        self.params = params
        self.minhasher = MinHasher(near)

    def signatures(self, pages: PageWords, boilerplate: np.ndarray) -> list[bytes | None]:
        """The signature of each page without the ``boilerplate`` lines (sorted uint64 keys); None
        where fewer than ``min_words`` words are left. The same as signing the words of
        :func:`strip_boilerplate`'s text, as no word runs across a line break."""
        kept_lines = ~flagged_lines(pages.line_keys, boilerplate)
        kept_to = np.concatenate(
            (_ZERO, np.cumsum(np.where(kept_lines, pages.line_words, 0), dtype=np.int64))
        )
        line_ends = np.cumsum(pages.lines)
        left = kept_to[line_ends] - kept_to[line_ends - pages.lines]  # words left per page
        signed = left >= self.params.min_words
        kept = np.repeat(kept_lines & np.repeat(signed, pages.lines), pages.line_words)
        result: list[bytes | None] = [None] * signed.size
        if signed.any():
            rows = self.minhasher.document_signatures(pages.hashes[kept], left[signed])
            for page, row in zip(np.flatnonzero(signed).tolist(), rows, strict=True):
                result[page] = row.tobytes()
        return result


def sign_without_boilerplate(
    docs: Sequence[Document], near: NearDedupParams, params: BoilerplateParams
) -> None:
    """The whole run in one process: sets the ``minhash`` of each kept document as the engine's tasks do."""
    kept = [doc for doc in docs if is_kept(doc)]
    words = [Words(doc.text) for doc in kept]
    lines = [page_line_words(page) for page in words]
    rows = [page_rows(*line, site_of(doc.metadata)) for line, doc in zip(lines, kept, strict=True)]
    boilerplate = boilerplate_lines(np.concatenate(rows) if rows else np.empty(0, LINE_DTYPE), params)
    pages = PageWords.of(words, lines)
    signatures = BoilerplateFreeSigner(near, params).signatures(pages, boilerplate)
    for doc, signature in zip(kept, signatures, strict=True):
        doc.metadata[MINHASH] = signature
