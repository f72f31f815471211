"""HTML to main text (an own lexbor extractor checked by trafilatura), under a time budget.

Only documents whose ``content_type`` is ``"html"`` are extracted; the others pass untouched.
After extraction ``doc.text`` is the main text (paragraphs separated by newlines, tables as text,
no comments, no title unless the page repeats it inside the main content) and ``content_type``
becomes ``"text"``. The page's declared language (``<html lang>``, else ``<meta
http-equiv="content-language">``), lower-cased, goes to ``metadata["html_lang"]`` ("" when the page
declares none). Fates: ``extract:no_main_text`` (filtered) when no main text is found,
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

Settings
--------
1. Own extractor (:func:`own_extraction`) on lexbor (selectolax), boilerpipe/readability-style:
   the page is parsed and the outermost chrome is removed: :data:`PRUNED_SELECTOR` (scripts, styles,
   media, ``nav``, ``footer``, ``aside``) plus ``figcaption``, form controls, ``[hidden]``,
   ``aria-hidden`` and navigation/complementary/contentinfo roles (:data:`DROPPED_SELECTOR`), then
   elements whose class or id contains a boilerplate name (:data:`BOILERPLATE_NAMES`: comment, share,
   related, cookie, sidebar, menu ...) unless the name also says content (article, post, entry ...)
   or the element is a wrapper (holds an article/``main``/``h1``, or over :data:`WRAPPER_SHARE` of
   the page's text). Paragraph text (blocks of 25+ characters, weighted by 1 - link density) is summed
   up the tree; the content container is the deepest element with :data:`CONTAINER_SHARE` (80 %) of
   it, widened to an enclosing ``article``/``main`` for the headline and lead. Inside it link lists
   and empty boxes are dropped, and every block element becomes its own line.
2. Second opinion and agreement (:mod:`pipelines.stages.extract_agreement`): trafilatura
   (``fast=True``) reads the region around the container (its ancestor :data:`REGION_LEVELS` up,
   so the headline, bylines and boxes next to the article are judged in context), and the stage
   keeps the own lines that trafilatura's text confirms, with the section headings between them;
   when trafilatura confirms too little of the own text it has lost the article, and the own lines
   stay whole. Why: the own extractor finds the article on nearly every page but keeps chrome inside
   and around its container on sites it was not developed on; trafilatura's per-element rules drop
   most of that chrome but sometimes drop real content. A line both keep is main text with more
   confidence than either's alone, and the decision uses no signal fitted to particular sites.
   Reading only the region (not the page) is what keeps the second opinion cheap.
3. When the own text is shorter than :data:`OWN_MIN_CHARS` (1000 characters: little text, or the
   container choice failed), the page goes to the trafilatura path (:func:`trafilatura_main_text`):
   the page pruned to :data:`PRUNED_SELECTOR` by lexbor; trafilatura ``fast=True``
   (``include_comments=False``, ``include_tables=True``, ``deduplicate=False``, no metadata, the
   document's ``url`` passed when known), redone with trafilatura's fallback extractors when it
   finds under :data:`FALLBACK_SHARE` (10 %) of the pruned page's visible text. If trafilatura
   finds nothing either, the own extractor's short text is kept.

Their quality and speed against trafilatura and resiliparse, and the variants that were tried,
are measured by ``benchmarks/extraction.py`` (its docstring has the table; the README's
performance section the summary).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import trafilatura
from datatrove.data import Document
from lxml.html import HtmlElement
from selectolax.lexbor import LexborHTMLParser, LexborNode
from trafilatura.utils import decode_file, load_html

from pipelines.stages.base import CurationStage
from pipelines.stages.extract_agreement import combine
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
# The own extractor (see "Settings"): pages where it finds under OWN_MIN_CHARS characters go to trafilatura.
OWN_MIN_CHARS = 1000
DROPPED_SELECTOR = ",".join(
    (PRUNED_SELECTOR, "figcaption", "form", "button", "select", "input", "textarea", "dialog", "menu")
    + ("[hidden]", "[aria-hidden=true]", "[role=navigation]", "[role=complementary]", "[role=contentinfo]")
    + ("[role=dialog]", "[role=menu]")
)
BOILERPLATE_NAMES = (
    "comment", "disqus", "sidebar", "footer", "menu", "nav", "breadcrumb", "share", "social", "related",
    "cookie", "consent", "newsletter", "banner", "widget", "promo", "sponsor", "advert", "pagination",
    "pager", "popup", "modal", "recommend", "teaser", "subscribe", "signup", "login", "tags", "masthead",
    "skip", "toolbar", "print", "author-box", "rss", "shoutbox", "skyscraper", "combx",
)  # fmt: skip
WRAPPER_SHARE = 0.4
CONTAINER_SHARE = 0.8
WIDEN_LIMIT = 1.3
WIDENED_MIN_CHARS = 40  # lines the widening adds are kept from this length on (and the <h1>)
REGION_LEVELS = 4  # trafilatura's second opinion reads the container's ancestor this many levels up
_BOILERPLATE_SELECTOR = ",".join(f"[class*={name} i],[id*={name} i]" for name in BOILERPLATE_NAMES)
_CONTENT_NAME = re.compile(r"article|body|column|content|main|shadow|post|entry|story|text", re.I)
_STRONG_BOILERPLATE = re.compile(
    r"comment|disqus|cookie|consent|share|social|related|newsletter|recommend", re.I
)
_POSITIVE = re.compile(r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story", re.I)
_NEGATIVE = re.compile(
    r"hidden|banner|combx|comment|com-|contact|foot|footnote|masthead|media|meta|outbrain|promo|related|"
    r"scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|tool|widget|teaser|nav|menu|social|cookie",
    re.I,
)
_WRAPPER_MARKS = "article,main,h1,[itemprop=articleBody]"
_PARAGRAPHS = "p,pre,td,blockquote,div,section,article,main,dd,li"
_BLOCKS = (
    "p,h1,h2,h3,h4,h5,h6,li,pre,blockquote,tr,dd,dt,caption,div,section,article,main,header,ul,ol,dl,"
    "table,br,hr,address,figure,details,summary"
)
_BLOCK_BREAK, _CORE_START, _CORE_END = "\u2029", "\ue000", "\ue001"  # markers inserted while serialising
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


def _trafilatura(page: HtmlElement | str, url: str | None, fast: bool) -> str:
    """trafilatura's text of a parsed page (which it copies, so that the tree stays intact for a
    second pass) or of HTML (which it parses itself, as :func:`trafilatura.utils.load_html` does)."""
    text = trafilatura.extract(
        page,
        url=url,
        fast=fast,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    return (text or "").strip()


def trafilatura_main_text(html: str, url: str | None = None) -> str:
    """The fallback: trafilatura ``fast=True`` on the pruned page, redone with trafilatura's fallback
    extractors when that finds under :data:`FALLBACK_SHARE` of the pruned page's text."""
    pruned, page_chars = prune_page(html)
    tree = load_html(pruned)
    if tree is None:
        return ""
    text = _trafilatura(tree, url, fast=True)
    if len(text) < FALLBACK_SHARE * page_chars:
        text = _trafilatura(tree, url, fast=False)
    return text


def _text_len(node: LexborNode) -> int:
    return len(" ".join(node.text(deep=True).split()))


def _link_density(node: LexborNode, text_len: int) -> float:
    if not text_len:
        return 0.0
    return sum(len(" ".join(a.text(deep=True).split())) for a in node.css("a")) / text_len


def _class_weight(node: LexborNode) -> int:
    attrs = node.attributes
    label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return 25 * (bool(_POSITIVE.search(label)) - bool(_NEGATIVE.search(label)))


def _remove_outermost(nodes: list[LexborNode]) -> None:
    """Decompose the nodes that have no selected ancestor (their subtrees go with them; a node is never
    touched after an ancestor of it was freed)."""
    selected = {node.mem_id for node in nodes}
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in selected:
            parent = parent.parent
        if parent is None:
            node.decompose()


def _prune_boilerplate(tree: LexborHTMLParser, body: LexborNode) -> None:
    """Remove the chrome: :data:`DROPPED_SELECTOR`, then elements whose class or id names boilerplate
    (:data:`BOILERPLATE_NAMES`) unless the name also says content, or the element holds an article, a
    heading or more than :data:`WRAPPER_SHARE` of the page's text (a page wrapper named after its
    sidebar layout is not a sidebar)."""
    _remove_outermost(tree.css(DROPPED_SELECTOR))
    body_chars = _text_len(body)
    doomed = []
    for node in body.css(_BOILERPLATE_SELECTOR):
        if node.tag in ("body", "article", "main"):
            continue
        attrs = node.attributes
        label = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if _CONTENT_NAME.search(label) and not _STRONG_BOILERPLATE.search(label):
            continue
        if _text_len(node) > WRAPPER_SHARE * body_chars or node.css_first(_WRAPPER_MARKS) is not None:
            continue
        doomed.append(node)
    _remove_outermost(doomed)


def _clean_container(root: LexborNode) -> None:
    """Drop the link lists and empty boxes inside the chosen container."""
    for node in root.css("ul,ol,dl,div,section,table,header"):
        if node.parent is None:
            continue
        chars = _text_len(node)
        if not chars:
            if node.css_first("img") is None:
                node.decompose()
            continue
        density = _link_density(node, chars)
        if (density > 0.2 and _class_weight(node) < 0) or (density > 0.5 and chars < 1000):
            node.decompose()


def _content_container(body: LexborNode) -> tuple[LexborNode | None, dict[int, float]]:
    """The deepest element holding :data:`CONTAINER_SHARE` of the page's paragraph text (text of
    blocks of 25+ characters, less their link text; None when there is none), and the paragraph text
    under each element (by ``mem_id``)."""
    sums: dict[int, float] = {}
    total = 0.0
    for para in body.css(_PARAGRAPHS):
        own = para.tag in ("div", "section", "article", "main", "li")  # their own text, not their blocks'
        text = " ".join(para.text(deep=not own).split())
        if len(text) < 25:
            continue
        good = len(text) * (1 - min(1.0, _link_density(para, len(text))))
        if good <= 0:
            continue
        total += good
        node: LexborNode | None = para
        while node is not None:
            sums[node.mem_id] = sums.get(node.mem_id, 0.0) + good
            if node.tag == "body":
                break
            node = node.parent
    if not total:
        return None, sums
    top = body
    descended = True
    while descended:
        descended = False
        for child in top.iter(include_text=False):
            if sums.get(child.mem_id, 0.0) >= CONTAINER_SHARE * total:
                top, descended = child, True
                break
    return top, sums


@dataclass(frozen=True)
class OwnExtraction:
    """What the own extractor finds on a page: its main-text lines, the section headings among them,
    and the HTML of the region around its content container (trafilatura's input for the agreement)."""

    lines: list[str]
    headings: frozenset[str]
    region: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _region(core: LexborNode) -> LexborNode:
    """The container's ancestor :data:`REGION_LEVELS` up (below ``<body>``): the container with the
    headline, bylines and boxes around it, so that trafilatura judges them in their context. It is
    serialised after the link lists inside the widened container were dropped (less for trafilatura
    to read; those lines are not among the own lines anyway)."""
    node = core
    for _ in range(REGION_LEVELS):
        parent = node.parent
        if parent is None or parent.tag in ("body", "html"):
            break
        node = parent
    return node


def own_extraction(html: str) -> OwnExtraction | None:
    """Main text by this stage's own extractor on lexbor (see "Settings"); None when it finds none.

    The content container is widened to an enclosing ``<article>``/``<main>`` (up to 5 levels up) that
    adds at most ``WIDEN_LIMIT - 1`` of its paragraph text: the headline and lead above the body. Of
    the lines the widening adds, only the ``<h1>`` and lines of :data:`WIDENED_MIN_CHARS` or more stay
    (dates, bylines and category labels are short)."""
    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return None
    _prune_boilerplate(tree, body)
    core, sums = _content_container(body)
    if core is None:
        return None
    top = core
    limit = WIDEN_LIMIT * sums[core.mem_id]
    node, level = core.parent, 0
    while node is not None and level < 5 and node.tag != "body":
        if node.tag in ("article", "main") and sums.get(node.mem_id, 0.0) <= limit:
            top = node
        node, level = node.parent, level + 1
    _clean_container(top)
    region = _region(core).html or ""
    titles: set[str] = set()
    if top is not core:
        titles = {" ".join(h.text().split()) for h in top.css("h1")}
        core.insert_before(_CORE_START)
        core.insert_after(_CORE_END)
    headings = frozenset(" ".join(h.text().split()) for h in top.css("h2,h3,h4,h5,h6"))
    for block in top.css(_BLOCKS):
        block.insert_before(_BLOCK_BREAK)
        block.insert_after(_BLOCK_BREAK)
    lines = []
    inside = top is core
    for chunk in top.text(deep=True, separator="").split(_BLOCK_BREAK):
        if _CORE_START in chunk:
            inside, chunk = True, chunk.replace(_CORE_START, "")
        if _CORE_END in chunk:
            inside, chunk = False, chunk.replace(_CORE_END, "")
        line = " ".join(chunk.split())
        if line and (inside or len(line) >= WIDENED_MIN_CHARS or line in titles):
            lines.append(line)
    return OwnExtraction(lines, headings, region)


def own_main_text(html: str) -> str:
    """The own extractor's main text alone ("" when it finds none), for comparison."""
    own = own_extraction(html)
    return own.text if own is not None else ""


def trafilatura_region_text(region: str, url: str | None = None) -> str:
    """trafilatura ``fast=True`` on the own extractor's region (the second opinion, see "Settings").

    The region goes to trafilatura as HTML: it parses it once and reads that tree (a tree handed to
    it would be copied first)."""
    return _trafilatura(f"<html><body>{region}</body></html>", url, fast=True)


def extract_main_text(html: str, url: str | None = None) -> str:
    """The main text of a page ("" when none), with this stage's settings (see the module docstring)."""
    own = own_extraction(html)
    text = own.text if own is not None else ""
    if own is None or len(text) < OWN_MIN_CHARS:
        return trafilatura_main_text(html, url) or text
    return "\n".join(combine(own.lines, own.headings, trafilatura_region_text(own.region, url)))


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
