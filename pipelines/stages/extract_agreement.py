"""Main text by agreement of two extractors: the own extractor's lines that trafilatura confirms.

The own extractor (container of most paragraph text) keeps nearly all of an article but also the
chrome around and inside its container: headline and byline above, captions, teaser lists, sign-up
boxes below. trafilatura judges element by element and drops most of that chrome, but now and then
also drops real content (section headings, a lead paragraph) or most of an article. Their errors
are of different kinds, so a line both keep is main text with more confidence than either alone.

:func:`combine` keeps, in the own extractor's order:

* every own line that trafilatura's text also holds ("agreed"): half of its word 4-shingles found
  in trafilatura's text, or for a line of under four words, the same words as one of its lines;
* section headings (``h2``-``h6``) of the own text that stand between two agreed lines: a heading
  inside the agreed text titles part of it, and trafilatura often leaves headings out.

When the agreed lines hold less than :data:`MIN_AGREED_SHARE` of the own text's characters the two
disagree about what the page's main text is, which in practice means trafilatura lost the article
(a list, a table or a forum thread it does not read as text): then the own lines are kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

MIN_AGREED_SHARE = 0.2
SHINGLE_WORDS = 4
AGREED_SHINGLE_SHARE = 0.5
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _shingles(words: list[str]) -> Iterable[tuple[str, ...]]:
    return zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)


def agreed(lines: list[str], other: str) -> list[bool]:
    """For every line, whether ``other`` holds it (see the module docstring).

    A line whose words all stand in a row in ``other`` has all its shingles there: it is confirmed
    by a lookup of its words among ``other``'s lines, or by one substring search in ``other``'s words
    (space-separated, so that only whole words match). The shingles of ``other`` are collected when
    the first line is not confirmed that way; from then on the shingles of each line are counted
    (cheaper than a search through a long text that fails)."""
    other_words = [_words(line) for line in other.split("\n")]
    other_lines = {" ".join(words) for words in other_words}
    flat = [word for words in other_words for word in words]
    other_text = f" {' '.join(flat)} "
    other_shingles: set[tuple[str, ...]] | None = None
    verdicts = []
    for line in lines:
        words = _words(line)
        joined = " ".join(words)
        if len(words) < SHINGLE_WORDS:
            verdicts.append(bool(words) and joined in other_lines)
            continue
        if joined in other_lines or (other_shingles is None and f" {joined} " in other_text):
            verdicts.append(True)
            continue
        if other_shingles is None:
            other_shingles = set(_shingles(flat))
        shingles = list(_shingles(words))
        found = sum(shingle in other_shingles for shingle in shingles)
        verdicts.append(found >= AGREED_SHINGLE_SHARE * len(shingles))
    return verdicts


def combine(lines: list[str], headings: Collection[str], other: str) -> list[str]:
    """The own extractor's ``lines`` that ``other`` (trafilatura's text of the same page) confirms, with
    the ``headings`` between them; all ``lines`` when too few are confirmed (see the module docstring)."""
    verdicts = agreed(lines, other)
    agreed_chars = sum(len(line) for line, ok in zip(lines, verdicts, strict=True) if ok)
    if not agreed_chars or agreed_chars < MIN_AGREED_SHARE * sum(len(line) for line in lines):
        return lines
    first = verdicts.index(True)
    last = len(verdicts) - 1 - verdicts[::-1].index(True)
    return [
        line
        for i, (line, ok) in enumerate(zip(lines, verdicts, strict=True))
        if ok or (first < i < last and line in headings)
    ]
