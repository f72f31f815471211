"""Text normalisation: Unicode NFC, invisible characters, line endings and whitespace.

Steps, in this order (each a precompiled pattern or a translation table):

1. line endings ``\\r\\n``, ``\\r`` and the other line/paragraph breaks (VT, FF, NEL, U+2028,
   U+2029) become ``\\n``;
2. control and format characters are removed, ``\\n`` and ``\\t`` excepted: C0/C1 controls
   (``Cc``), format characters (``Cf``: zero-width space/joiners, BOM, soft hyphen, bidi marks)
   and lone surrogates (``Cs``, which cannot be written as UTF-8);
3. Unicode NFC (after the removal, so that a mark separated from its base by a zero-width
   character composes with it);
4. every run of horizontal whitespace (space, tab, no-break and the other Unicode spaces)
   becomes one space, and lines are stripped;
5. three or more newlines become one blank line (two newlines); the text is stripped.

A document with no text left is filtered with reason ``normalize:empty``. Speed: about 100 MB of
text per second on one core for text without control/format characters or odd spaces (the common
case: ``str.isprintable`` tells which steps can change something), about 12 MB/s otherwise.
"""

from __future__ import annotations

import re
import unicodedata

import regex
from datatrove.data import Document

from pipelines.stages.base import CurationStage

_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE = regex.compile(r"[\p{Cc}\p{Cf}\p{Cs}--[\n\t]]+", flags=regex.V1)
# Only runs that change: two or more whitespace characters, or one that is not a plain space.
_HORIZONTAL_SPACE = re.compile(r" [^\S\n]+|[^\S\n ][^\S\n]*")
_SPACE_AROUND_NEWLINE = re.compile(r" \n ?|\n ")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """The normalised form of ``text`` (see the module docstring for the steps).

    Most text is *plain*: printable apart from its ``\n`` (``str.isprintable``: no control, format or
    surrogate characters, no whitespace but the ASCII space). Plain text has nothing for steps 1 and 2
    and only double spaces for step 4, so those patterns run only where they can change something.
    """
    plain = text.replace("\n", " ").isprintable()
    if not plain:
        text = _LINE_BREAKS.sub("\n", text)
        text = _INVISIBLE.sub("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not plain or "  " in text:
        text = _HORIZONTAL_SPACE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


class TextNormalizer(CurationStage):
    """Normalise Unicode and whitespace in place; filter documents left empty."""

    name = "normalize"

    def process(self, doc: Document) -> None:
        doc.text = normalize_text(doc.text)
        if not doc.text:
            self.filter(doc, "empty")
