"""HTML to main text with trafilatura, under a per-document time budget.

Only documents whose ``content_type`` is ``"html"`` are extracted; the others pass untouched.
After extraction ``doc.text`` is the main text (paragraphs separated by newlines, tables as text,
no comments, no title unless the page repeats it inside the main content) and ``content_type``
becomes ``"text"``. The page's declared language (``<html lang>``, else ``<meta
http-equiv="content-language">``), lower-cased, goes to ``metadata["html_lang"]`` ("" when the page
declares none). Fates: ``extract:no_main_text`` (filtered) when trafilatura finds nothing,
``extract:timeout`` (quarantined) when a page takes longer than ``timeout_s``,
``extract:too_large`` (quarantined) for pages over :data:`MAX_HTML_CHARS`, ``extract:error``
(quarantined) when the parser raises.

Time budget
-----------
In the main thread of a process (where datatrove runs its tasks) a ``SIGALRM`` interval timer
interrupts an extraction that runs past ``timeout_s``. Elsewhere (another thread, no ``SIGALRM``
on the platform, or an interval timer already running that is not ours to replace) there is no
interrupt, and the same budget is checked once extraction returns.

A Python signal handler runs between bytecodes, so the alarm cannot cut a single long libxml2
call short, and trafilatura's comparison with its fallback extractors makes such calls grow
faster than linearly with page size: on a synthetic page of 100,000 paragraphs (7 MB) one call
took 8 s. Pages are therefore capped before parsing (trafilatura applies its own ``MAX_FILE_SIZE``
only to bytes it downloads or decompresses): :data:`MAX_HTML_CHARS` is twice Common Crawl's 1 MiB
record truncation, and up to it the longest single call measured stays under half a second, so an
interrupted extraction ends close to its budget.

Settings (measured)
-------------------
1. The page is parsed with lexbor (selectolax) and the outermost ``script`` (except
   ``application/ld+json``), ``style``, ``noscript``, ``template``, ``svg``, ``canvas``, ``iframe``,
   ``object``, ``embed``, ``video``, ``audio``, ``map``, ``nav``, ``footer`` and ``aside`` elements
   are removed (:data:`PRUNED_SELECTOR`): trafilatura would discard them anyway, and every one of its
   XPath passes costs time in proportion to the tree. Lexbor parses, prunes and serialises a page
   in about 1 ms.
2. trafilatura ``fast=True`` (no readability/jusText comparison) on the pruned page,
   ``include_comments=False``, ``include_tables=True``, ``deduplicate=False``, no metadata, the
   document's ``url`` passed when known.
3. When that text is shorter than :data:`FALLBACK_SHARE` (10 %) of the pruned page's visible text,
   the extraction is redone with trafilatura's fallback extractors (6 of the 95 pages below).

Measured with ``benchmarks/extraction.py`` on ``shared/data/web/html/trafilatura`` (95 pages, 290
``with`` and 286 ``without`` snippets; a snippet counts as found when it is a substring of the
extracted text; precision over found snippets, recall over ``with`` snippets); pages per second of
CPU time in one warm process, best of 3 interleaved passes, all rows from one run:

=========================================  =========  ======  =====  =======
extractor                                  precision  recall  F1     pages/s
=========================================  =========  ======  =====  =======
this stage (prune, fast, fallback < 10 %)  0.924      0.928   0.926  64
the same, never falling back               0.920      0.910   0.915  77
the same, fallback under 25 %              0.925      0.934   0.930  49
trafilatura default on the raw page        0.919      0.941   0.930  43
resiliparse ``main_content`` (anchor)      0.751      0.938   0.834  623
=========================================  =========  ======  =====  =======

(Earlier runs of trafilatura alone: ``favor_precision=True`` F1 0.916, ``favor_recall=True`` 0.907,
``fast=True`` on the raw page 0.914.) So the stage is about 1.5x faster than trafilatura's default
at 0.4 F1 points less: +0.5 precision, -1.3 recall. The target of 100 pages/s at F1 >= 0.92 is not
reached by trafilatura-based extraction: even with no fallback at all, trafilatura's own passes
over the pruned tree cost about 13 ms a page. resiliparse is an order of magnitude faster but keeps
menus, teasers and comments (precision 0.75 to 0.81 with its ``comments=False`` and skip options).
The slowest page took 0.2 s, far under the default 5 s budget.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import trafilatura
from datatrove.data import Document
from lxml.html import HtmlElement
from selectolax.lexbor import LexborHTMLParser
from trafilatura.utils import decode_file, load_html

from pipelines.stages.base import CurationStage
from schemas.document import CONTENT_TYPE, URL

HTML_LANG = "html_lang"
MAX_HTML_CHARS = 2**21  # larger pages are quarantined unparsed (see "Time budget")
# Elements removed before extraction (see prune_page), and the share of the pruned page's text
# under which the fast extraction is redone with trafilatura's fallback extractors (see "Settings").
PRUNED_SELECTOR = ",".join(
    (
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "map",
        "nav",
        "footer",
        "aside",
    )
)
FALLBACK_SHARE = 0.1
LANG_SCAN_CHARS = 65_536  # the declared language is looked for in the page's head, within this prefix
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)", re.I)
_META_LANG = re.compile(
    r"<meta\b(?=[^>]*\bhttp-equiv\s*=\s*[\"']?content-language)[^>]*?\bcontent\s*=\s*[\"']?\s*"
    r"([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)",
    re.I,
)


class ExtractionTimeout(BaseException):
    """Raised by the alarm inside trafilatura; a ``BaseException`` so that no ``except Exception`` in
    the extractor's code swallows it."""


def declared_language(html: str) -> str:
    """The language a page declares in ``<html lang>`` or a content-language ``<meta>``, or ""."""
    head = html[:LANG_SCAN_CHARS]
    match = _HTML_LANG.search(head) or _META_LANG.search(head)
    return match.group(1).lower().replace("_", "-") if match else ""


def _prune(tree: LexborHTMLParser) -> None:
    matches = tree.css(PRUNED_SELECTOR)
    selected = {node.mem_id for node in matches}
    for node in matches:
        if (
            node.tag == "script"
            and (node.attributes.get("type") or "").strip().lower() == "application/ld+json"
        ):
            continue
        parent = node.parent
        while parent is not None and parent.mem_id not in selected:
            parent = parent.parent
        if parent is None:  # outermost: nothing above it is removed
            node.decompose()


def prune_page(html: str) -> tuple[str, int]:
    """The page without the elements in :data:`PRUNED_SELECTOR` (parsed and serialised with lexbor),
    and the length of the pruned page's visible text, whitespace collapsed.

    Scripts of type ``application/ld+json`` stay (trafilatura's baseline reads article bodies from
    them). Only the outermost matching elements are removed, each with its whole subtree; the text
    around them stays.
    """
    tree = LexborHTMLParser(html)
    _prune(tree)
    body = tree.body
    text = body.text(separator=" ") if body is not None else ""
    return tree.html or "", len(" ".join(text.split()))


def _trafilatura(tree: HtmlElement, url: str | None, fast: bool) -> str:
    text = trafilatura.extract(
        tree,  # trafilatura works on a copy: the tree stays intact for a second pass
        url=url,
        fast=fast,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    return (text or "").strip()


def extract_main_text(html: str, url: str | None = None) -> str:
    """The main text of a page ("" when none), with this stage's settings (see the module docstring)."""
    pruned, page_chars = prune_page(html)
    tree = load_html(pruned)
    if tree is None:
        return ""
    text = _trafilatura(tree, url, fast=True)
    if len(text) < FALLBACK_SHARE * page_chars:
        text = _trafilatura(tree, url, fast=False)
    return text


def trafilatura_default(html: str, url: str | None = None) -> str:
    """trafilatura's default extraction of the whole page, for comparison (benchmarks, tests)."""
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True, deduplicate=False)
    return (text or "").strip()


def _can_interrupt() -> bool:
    """Whether a SIGALRM timer may be armed here: main thread, POSIX, and no timer already set."""
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise ExtractionTimeout


@contextmanager
def interrupt_after(seconds: float) -> Iterator[None]:
    """Raise :class:`ExtractionTimeout` in the block if it runs longer than ``seconds`` (when
    :func:`_can_interrupt`; otherwise the block runs uninterrupted)."""
    if not _can_interrupt():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        # One-shot timer: if it fires in here, the handler is still restored by the inner finally.
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


class HtmlExtractor(CurationStage):
    """Replace an HTML document's text by its main text (see the module docstring)."""

    name = "extract"

    def __init__(self, timeout_s: float = 5.0):
        super().__init__()
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s

    def process(self, doc: Document) -> None:
        if doc.metadata.get(CONTENT_TYPE) != "html":
            return
        html = doc.text if isinstance(doc.text, str) else decode_file(doc.text)
        if len(html) > MAX_HTML_CHARS:
            self.quarantine(doc, "too_large")
            return
        started = time.monotonic()
        try:
            with interrupt_after(self.timeout_s):
                text = extract_main_text(html, doc.metadata.get(URL) or None)
        except ExtractionTimeout:
            self.quarantine(doc, "timeout")
            return
        except Exception:  # a parser failure on one page must not stop the run: that page is set aside
            self.quarantine(doc, "error")
            return
        if time.monotonic() - started > self.timeout_s:
            self.quarantine(doc, "timeout")
            return
        doc.metadata[HTML_LANG] = declared_language(html)
        if not text:
            self.filter(doc, "no_main_text")
            return
        doc.text = text
        doc.metadata[CONTENT_TYPE] = "text"
