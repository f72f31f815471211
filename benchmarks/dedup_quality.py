r"""Dedup quality: pairwise precision / recall / F1 of exact + near dedup on realistic article variants.

    .venv/bin/python benchmarks/dedup_quality.py [--thresholds 0.7 0.8 0.9] [--bands 14 --rows 8 --ngram 5]
    PYTHONPATH=.bench-deps .venv/bin/python benchmarks/dedup_quality.py   # + baseline (from make bench)

The requirement: on publishers the settings were not chosen on, pairwise F1 >= 0.97 with precision
>= 0.99 on realistic variants, short articles under reshuffled chrome included, exactly one document
kept per cluster, and no merges of different articles that share a publisher's template. Only public
APIs are used (``pipelines.stages.dedup``: :class:`DedupSignatures`, :func:`find_duplicates`,
:class:`NearDedupParams`; ``pipelines.stages.boilerplate``: :func:`sign_without_boilerplate`,
:class:`BoilerplateParams`); ``--bands``, ``--rows`` and ``--ngram`` change the near-dedup settings
of every row, ``--thresholds`` adds rows (with boilerplate removal).

Corpus: every gold article of ``../shared/data/web/html/fundus/<country>/<Publisher>.json`` (title,
summary, section headlines and paragraphs), eight documents per article (one gold cluster):

- ``original``: title, summary and paragraphs, one per block (blank line between);
- ``nfd``: the original in Unicode NFD; ``whitespace``: other spacing and line breaks;
- ``dropped_paragraph``: one paragraph (not the first) left out; ``typos``: three typos (or their fix);
- ``syndicated``: without the summary (without the first paragraph when there is no summary);
- ``own_chrome``: the original between its publisher's page chrome (header lines before it,
  footer lines after it); ``other_chrome``: the same with the chrome of another publisher
  (seeded choice among the publishers of the same language).

Chrome comes from the real pages beside the gold JSON (``<Publisher>_<date>.html.gz``; ``meta.info``
gives their URLs): the visible text of the publisher's first page (by file name), one line per block
element (``<head>``, scripts, styles, SVG, iframes and select options dropped), of which the lines
before the article's first gold line are the header and those after its last gold line the footer.
A line is kept when it is short (1 to 12 words, at most 100 characters, with letters) and is not
article text (not a gold title / summary / headline / paragraph, not a 5+ word piece of one and not
containing one; checked against every gold article). The chrome is the first :data:`HEADER_LINES`
header lines and the last :data:`FOOTER_LINES` footer lines (no line twice), at most
:data:`HEADER_WORDS` + :data:`FOOTER_WORDS` words: skip links, navigation, cookie and login prompts
before; section lists, imprint, privacy and copyright lines after. That gives 16-24 lines and 19-83
words per publisher (median ~47), i.e. at most ~13 % of the median gold article (~660 words): a
conservative amount (the pages themselves carry several times more), so that a miss is the dedup's
fault and not an unrealistic template. Every article of a publisher gets the very same lines, which
is what makes "no merges of different articles sharing a template" a test.

Each variant is a page of its publisher's site (the host of its first page's URL in ``meta.info``),
but ``other_chrome``, which is a page of the site whose chrome it carries.

Short articles under reshuffled chrome (:func:`site_corpus`): up to :data:`SHORT_PER_ARTICLE` runs
of consecutive paragraphs of 30-90 words are cut from every gold article (the first under the
article's title), each a cluster of its own, and each appears on :data:`SHORT_COPIES` pages of the
publisher's site, every page under another selection (:data:`CHROME_KEPT` of the lines) and order
of the publisher's real chrome; that pool is a larger share of the page (:data:`POOL_LIMITS`: 27-70
lines, 52-226 words, median ~127), so the chrome outweighs the article. One page per publisher is
chrome alone (a cluster of its own: it must not be made anyone's duplicate).

Site-disjoint evaluation: the publishers are split in two halves by a seeded shuffle of their names
(:func:`split_publishers`); the corpus of a half holds only its publishers' articles and chrome (other
chrome comes from the same half). The boilerplate settings (``BoilerplateParams``' defaults) were
chosen on the tuning half; the evaluation half is reported first, then the tuning half, all
publishers, and the eight variants alone (the corpus before the short articles were added).

Documents are shuffled with a fixed seed (the representative is the first in input order); every
random choice is seeded by the article key, so the corpus is the same on every run.

Scores: pairwise precision / recall / F1 over all pairs of documents put together (gold: same
cluster), the share of clusters of which exactly one document is kept ("one kept"), the number of
pairs of different clusters put together (overall and of the same publisher), the signature and
decision time, and on the evaluation half per kind the share of documents that land in their
reference's cluster (an article's original; a short article's first page) and how many documents of
that kind were put with another cluster. For orientation it prints the true word-5-gram Jaccard
similarity of each kind to its reference (NFC, case-folded ``\w+`` words; the near dedup estimates
this), the highest similarity between different clusters that carry the same template lines, and
the documents that the default settings left apart from their reference.

Also: ``dedup/spdx_license_texts`` (every ``exact_text_group`` must come out whole, with exact
reasons; documents merged with a different text are counted, and scored pairwise against the
manifest's heuristic ``id_prefix_family``, which puts different licences together (``GPL``: versions
1 to 3) and related ones apart (``CC-BY-SA-*`` vs ``CC-BY-*``), so its P/R are only a rough guide) and
``dedup/cs336_fuzzy_license_docs`` (the two MIT texts near duplicates, the third alone).

Baseline, when ``datasketch`` can be imported (it is not a project dependency: e.g.
``pip install --target DIR --no-deps datasketch scipy``, then ``PYTHONPATH=DIR``):
text-dedup's MinHash defaults (5-grams of the text split on every ``\W`` character, lower-cased, no
Unicode normalisation; 256 permutations, seed 42; datasketch ``MinHashLSH`` with threshold 0.7 and
its optimal bands/rows; every candidate pair joined by a union-find, without verification; the first
document of a cluster kept). text-dedup keeps the empty strings between adjacent non-word characters
as tokens, so other spacing changes every shingle; a second row ("words") drops them. For
reference, text-dedup's MinHash reaches F1 0.952 on a public benchmark.

Measured 2026-12-06 (14 bands x 8 rows, word 5-grams; "boilerplate off" is the near_dedup stage's
``boilerplate: {enabled: false}``, the default signs texts without their boilerplate lines):

=======================================  ==============================  ==============================
config                                   evaluation half (658 docs)      all publishers (1,273 docs)
                                         P / R / F1 / one kept           P / R / F1 / one kept
=======================================  ==============================  ==============================
ours, boilerplate off, threshold 0.75    1.000 / 0.758 / 0.863 / 0.355   1.000 / 0.751 / 0.858 / 0.351
ours, default (boilerplate, 0.75)        1.000 / 0.985 / 0.992 / 0.983   1.000 / 0.987 / 0.994 / 0.982
ours, threshold 0.7                      1.000 / 0.985 / 0.992 / 0.983   1.000 / 0.990 / 0.995 / 0.985
ours, threshold 0.8                      1.000 / 0.980 / 0.990 / 0.977   1.000 / 0.973 / 0.986 / 0.970
text-dedup defaults                      1.000 / 0.478 / 0.647 / 0.140   1.000 / 0.475 / 0.644 / 0.144
text-dedup, no empty tokens              1.000 / 0.643 / 0.783 / 0.221   1.000 / 0.640 / 0.780 / 0.222
=======================================  ==============================  ==============================

Tuning half (615 documents): off 0.852, default 0.992. No configuration puts different clusters
together. On the evaluation half, every short article's pages land in one cluster with the default
(0.333 with boilerplate off: each page alone); a chrome-only page is nobody's duplicate. The eight
variants alone (592 documents): F1 0.987 with boilerplate off, 0.993 with it. SPDX: every exact group
whole; cs336: the MIT pair merged, the PyTorch licence alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LOGURU_LEVEL", "WARNING")

import lxml.html  # noqa: E402
import pyarrow as pa  # noqa: E402
from datatrove.data import Document  # noqa: E402
from trafilatura.utils import decode_file  # noqa: E402

from pipelines.stages.boilerplate import BoilerplateParams, sign_without_boilerplate  # noqa: E402
from pipelines.stages.dedup import (  # noqa: E402
    EXACT_REASON,
    KEYS_SCHEMA,
    DedupSignatures,
    NearDedupParams,
    find_duplicates,
)
from schemas.document import CONTENT_KEY, MINHASH, STATUS, URL, Status  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

VARIANT_KINDS = (
    "original",
    "nfd",
    "whitespace",
    "dropped_paragraph",
    "typos",
    "syndicated",
    "own_chrome",
    "other_chrome",
)
SITE_KINDS = (*VARIANT_KINDS, "short_chrome", "chrome_only")  # with the pages of short articles
LANGUAGE = {"at": "de", "ch": "de", "de": "de", "be": "nl", "uk": "en", "us": "en"}  # folder -> language
HEADER_LINES, FOOTER_LINES = 10, 14
HEADER_WORDS, FOOTER_WORDS = 50, 80
MAX_LINE_WORDS, MAX_LINE_CHARS = 12, 100
GOLD_PIECE_WORDS = 5  # a chrome line must not contain (or be) this many words of gold text
SHUFFLE_SEED = 0
SPLIT_SEED = "publishers"
SHORT_WORDS = (30, 90)  # a short article: consecutive paragraphs of this many words
SHORT_PER_ARTICLE = 3  # short articles cut from one gold article, at most
SHORT_COPIES = 3  # pages of each short article, each under another selection of the chrome
CHROME_KEPT = 0.7  # share of the chrome pool's lines on a reshuffled page
DEFAULT_NEAR = NearDedupParams()
DEFAULT_BOILERPLATE = BoilerplateParams()

_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]{2}")
_SKIP_TAGS = ("head", "script", "style", "noscript", "template", "svg", "iframe", "select", "option")
_BLOCK_TAGS = (
    *("address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt"),
    *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6"),
    *("header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td"),
    *("th", "tr", "ul", "a", "button", "label"),
)


# ---------------------------------------------------------------- driving the dedup (public API only)


def kept_doc(text: str, doc_id: str, url: str | None = None) -> Document:
    metadata = {STATUS: Status.KEPT, **({URL: url} if url else {})}
    return Document(text=text, id=doc_id, metadata=metadata)


def signed(docs: Iterable[Document], **kwargs) -> list[Document]:
    return list(DedupSignatures(**kwargs).run(iter(docs)))


def signed_without_boilerplate(
    docs: Iterable[Document],
    near: NearDedupParams = DEFAULT_NEAR,
    boilerplate: BoilerplateParams | None = None,
) -> list[Document]:
    """Content keys of the whole texts, MinHash signatures of the texts without their sites' boilerplate
    lines: what a run's tasks compute with the near_dedup stage's ``boilerplate`` on."""
    keyed = signed(docs, near=None)
    sign_without_boilerplate(keyed, near, boilerplate or BoilerplateParams())
    return keyed


def keys_table(docs: list[Document], orders: Iterable[int] | None = None) -> pa.Table:
    """The dedup keys of kept documents, as the engine hands them to :func:`find_duplicates`."""
    orders = list(range(len(docs))) if orders is None else list(orders)
    return pa.table(
        {
            "id": [d.id for d in docs],
            "order": orders,
            CONTENT_KEY: [d.metadata.get(CONTENT_KEY) for d in docs],
            MINHASH: [d.metadata.get(MINHASH) for d in docs],
        },
        schema=KEYS_SCHEMA,
    )


def decide(
    docs: list[Document], near: NearDedupParams | None = DEFAULT_NEAR, exact: bool = True
) -> dict[str, dict]:
    """id -> {duplicate_of, reason} for the duplicates among ``docs`` (kept, in input order)."""
    result = find_duplicates(keys_table(docs), near, exact)
    return {row["id"]: row for row in result.to_pylist()}


def representatives(ids: Iterable[str], decisions: dict[str, dict]) -> dict[str, str]:
    return {i: decisions[i]["duplicate_of"] if i in decisions else i for i in ids}


# ---------------------------------------------------------------- scores


def pairwise_scores(gold: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """Precision, recall and F1 over all pairs of documents put in the same cluster."""

    def pairs(counts: Iterable[int]) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    both = pairs(Counter((gold[i], predicted[i]) for i in gold).values())
    precision = both / max(pairs(Counter(predicted.values()).values()), 1)
    recall = both / max(pairs(Counter(gold.values()).values()), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def merged_gold_pairs(gold: dict[str, str], predicted: dict[str, str]) -> set[tuple[str, str]]:
    """Pairs of different gold clusters that share a predicted cluster (the wrong merges)."""
    clusters: dict[str, set[str]] = defaultdict(set)
    for doc_id, rep in predicted.items():
        clusters[rep].add(gold[doc_id])
    return {(a, b) for members in clusters.values() for a in members for b in members if a < b}


def one_kept_per_cluster(gold: dict[str, str], predicted: dict[str, str]) -> float:
    """The share of gold clusters of which exactly one document is kept (the others are its duplicates;
    none was put with another cluster's kept document, none stayed apart)."""
    kept: Counter[str] = Counter(gold[i] for i, rep in predicted.items() if rep == i)
    clusters = set(gold.values())
    return sum(
        kept[c] == 1 and all(gold[predicted[i]] == c for i in gold if gold[i] == c) for c in clusters
    ) / max(len(clusters), 1)


def publisher(cluster_key: str) -> str:
    """``<country>/<Publisher>`` of an article key (``.../<version>``) or a key cut from one."""
    return "/".join(cluster_key.split("/")[:2])


def variant_kind(doc_id: str) -> str:
    return doc_id.rsplit("#", 1)[1]


def references(gold: dict[str, str]) -> dict[str, str]:
    """Cluster -> the document the others are compared with: an article's original, else the first id."""
    first: dict[str, str] = {}
    for doc_id, key in sorted(gold.items()):
        first.setdefault(key, doc_id)
    return {key: f"{key}#original" if f"{key}#original" in gold else doc_id for key, doc_id in first.items()}


def kind_recall(gold: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    """Per variant kind: the share of documents in the cluster of their reference (:func:`references`)."""
    reference = references(gold)
    together: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for doc_id, key in gold.items():
        kind = variant_kind(doc_id)
        total[kind] += 1
        together[kind] += predicted[doc_id] == predicted[reference[key]]
    return {kind: together[kind] / total[kind] for kind in total}


def kind_wrong_merges(gold: dict[str, str], predicted: dict[str, str]) -> Counter[str]:
    """Per variant kind: documents whose cluster holds a document of another article."""
    articles: dict[str, set[str]] = defaultdict(set)
    for doc_id, rep in predicted.items():
        articles[rep].add(gold[doc_id])
    return Counter(variant_kind(i) for i, rep in predicted.items() if len(articles[rep]) > 1)


# ---------------------------------------------------------------- gold articles


@dataclass(frozen=True)
class Article:
    key: str  # <country>/<Publisher>/<parser version>
    title: str
    summary: tuple[str, ...]
    paragraphs: tuple[str, ...]  # section headlines and paragraphs, in order

    @property
    def publisher(self) -> str:
        return publisher(self.key)

    @property
    def language(self) -> str:
        return LANGUAGE.get(self.key.split("/", 1)[0], "?")

    @property
    def pieces(self) -> tuple[str, ...]:
        return (self.title, *self.summary, *self.paragraphs)


def fundus_articles(shared_data: Path) -> list[Article]:
    """Every gold article body, publisher by publisher."""
    articles = []
    for path in sorted((shared_data / "web" / "html" / "fundus").glob("*/*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        for version, article in sorted(gold.items()):
            body = article["body"]
            paragraphs = [p for s in body["sections"] for p in s["headline"] + s["paragraphs"]]
            key = f"{path.parent.name}/{path.stem}/{version}"
            articles.append(Article(key, article["title"], tuple(body.get("summary", [])), tuple(paragraphs)))
    return articles


# ---------------------------------------------------------------- page chrome


@dataclass(frozen=True)
class Chrome:
    """A publisher's template lines: header before the article, footer after it."""

    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()

    def wrap(self, text: str) -> str:
        return "\n\n".join(part for part in ("\n".join(self.header), text, "\n".join(self.footer)) if part)

    @property
    def words(self) -> int:
        return sum(word_count(line) for line in (*self.header, *self.footer))


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def page_lines(path: Path) -> list[str]:
    """The visible text lines of an HTML page (``.html.gz``): one line per block element."""
    text = decode_file(gzip.decompress(path.read_bytes()))
    root = lxml.html.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text))
    for element in list(root.iter(*_SKIP_TAGS)):
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.iter(*_BLOCK_TAGS):
        element.text = "\n" + (element.text or "")
        element.tail = "\n" + (element.tail or "")
    body = root.find("body")
    lines = (body if body is not None else root).text_content().split("\n")
    return [" ".join(line.split()) for line in lines if line.strip()]


class GoldText:
    """Tells article text (of any gold article) from template text."""

    def __init__(self, articles: Iterable[Article]) -> None:
        pieces = [" ".join(p.split()).casefold() for a in articles for p in a.pieces]
        self.pieces = set(pieces)
        self.long_pieces = [p for p in pieces if word_count(p) >= GOLD_PIECE_WORDS]
        self.joined = "\n".join(pieces)

    def overlaps(self, line: str) -> bool:
        line = line.casefold()
        if line in self.pieces:
            return True
        if word_count(line) >= GOLD_PIECE_WORDS and line in self.joined:
            return True
        return any(p in line for p in self.long_pieces if len(p) <= len(line))


def is_chrome_line(line: str, gold: GoldText) -> bool:
    short = word_count(line) <= MAX_LINE_WORDS and len(line) <= MAX_LINE_CHARS
    return short and bool(_LETTERS.search(line)) and not gold.overlaps(line)


def first_lines(lines: Iterable[str], max_lines: int, max_words: int, exclude: set[str]) -> list[str]:
    chosen: list[str] = []
    words = 0
    for line in lines:
        if line in exclude or line in chosen:
            continue
        if len(chosen) == max_lines or words + word_count(line) > max_words:
            break
        chosen.append(line)
        words += word_count(line)
    return chosen


@dataclass(frozen=True)
class ChromeLimits:
    """How much of a page's chrome is taken: lines and words before and after the article."""

    header_lines: int = HEADER_LINES
    footer_lines: int = FOOTER_LINES
    header_words: int = HEADER_WORDS
    footer_words: int = FOOTER_WORDS


POOL_LIMITS = ChromeLimits(header_lines=30, footer_lines=40, header_words=150, footer_words=200)


def page_chrome(
    lines: list[str], own: GoldText, every: GoldText, limits: ChromeLimits = ChromeLimits()
) -> Chrome:
    """Header: the first chrome lines before the article (``own`` gold text); footer: the last ones after."""
    in_article = [i for i, line in enumerate(lines) if len(line) > 20 and own.overlaps(line)]
    start, end = (in_article[0], in_article[-1]) if in_article else (len(lines) // 2, len(lines) // 2)
    header = first_lines(
        (x for x in lines[:start] if is_chrome_line(x, every)),
        limits.header_lines,
        limits.header_words,
        set(),
    )
    after = [x for x in lines[end + 1 :] if is_chrome_line(x, every)]
    footer = first_lines(reversed(after), limits.footer_lines, limits.footer_words, set(header))
    return Chrome(tuple(header), tuple(reversed(footer)))


def publisher_pages(shared_data: Path, name: str) -> list[Path]:
    """The real pages of a publisher (``<country>/<Publisher>``), by file name."""
    folder, stem = (shared_data / "web" / "html" / "fundus" / name).parent, Path(name).name
    return sorted(folder.glob(f"{stem}_*.html.gz"))


def fundus_chrome(
    shared_data: Path, articles: list[Article], limits: ChromeLimits = ChromeLimits()
) -> dict[str, Chrome]:
    """Publisher -> the chrome of its first page (by file name), the same lines for all its articles."""
    every = GoldText(articles)
    by_publisher: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        by_publisher[article.publisher].append(article)
    chrome = {}
    for name, own in sorted(by_publisher.items()):
        pages = publisher_pages(shared_data, name)
        chrome[name] = page_chrome(page_lines(pages[0]), GoldText(own), every, limits) if pages else Chrome()
    return chrome


def publisher_hosts(shared_data: Path, publishers: Iterable[str]) -> dict[str, str]:
    """Publisher -> the host of its first page (``meta.info``), else a made-up one: the site of its pages."""
    hosts = {}
    for name in publishers:
        pages = publisher_pages(shared_data, name)
        info_path = shared_data / "web" / "html" / "fundus" / name.split("/", 1)[0] / "meta.info"
        info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
        url = info.get(pages[0].name, {}).get("url", "") if pages else ""
        hosts[name] = urlsplit(url).hostname or f"{name.replace('/', '-').lower()}.example"
    return hosts


# ---------------------------------------------------------------- variants


def with_typos(text: str, rng: random.Random, count: int = 3) -> str:
    """Swap two inner letters of ``count`` words (a typo, or its fix, seen from the other copy)."""
    words = list(re.finditer(r"\w{5,}", text))
    for match in sorted(rng.sample(words, min(count, len(words))), key=lambda m: -m.start()):
        w, i = match.group(), rng.randrange(1, len(match.group()) - 2)
        text = text[: match.start()] + w[:i] + w[i + 1] + w[i] + w[i + 2 :] + text[match.end() :]
    return text


def other_publisher(article: Article, publishers: Sequence[str], rng: random.Random) -> str:
    """A different publisher, of the same language where there is one."""
    others = [p for p in publishers if p != article.publisher]
    same_language = [p for p in others if LANGUAGE.get(p.split("/", 1)[0]) == article.language]
    return rng.choice(same_language or others)


def article_variants(article: Article, rng: random.Random, own: Chrome, other: Chrome) -> dict[str, str]:
    """The eight documents of one article (see the module docstring), by variant kind."""
    title, summary, paragraphs = article.title, list(article.summary), list(article.paragraphs)
    original = "\n\n".join([title, *summary, *paragraphs])
    dropped = rng.randrange(1, len(paragraphs)) if len(paragraphs) > 1 else 0
    return {
        "original": original,
        "nfd": unicodedata.normalize("NFD", original),
        "whitespace": "\n \n".join("  ".join(p.split(" ")) for p in [title, *summary, *paragraphs]) + "\n",
        "dropped_paragraph": "\n\n".join(
            [title, *summary, *paragraphs[:dropped], *paragraphs[dropped + 1 :]]
        ),
        "typos": with_typos(original, rng),
        "syndicated": "\n\n".join([title, *(paragraphs if summary else paragraphs[1:])]),
        "own_chrome": own.wrap(original),
        "other_chrome": other.wrap(original),
    }


def short_articles(article: Article) -> list[tuple[str, str]]:
    """Up to :data:`SHORT_PER_ARTICLE` short articles cut from a gold article: runs of consecutive
    paragraphs of :data:`SHORT_WORDS` words (the first one under the article's title), as
    ``(key, text)``; each is a different text, so a gold cluster of its own."""
    result: list[tuple[str, str]] = []
    run: list[str] = [article.title]
    low, high = SHORT_WORDS
    for paragraph in article.paragraphs:
        run.append(paragraph)
        words = sum(word_count(p) for p in run)
        if words > high:
            run = []
        elif words >= low:
            result.append((f"{article.key}/short-{len(result) + 1}", "\n\n".join(run)))
            run = []
        if len(result) == SHORT_PER_ARTICLE:
            break
    return result


def reshuffled_chrome(pool: Chrome, text: str, rng: random.Random) -> str:
    """``text`` under another selection and order of the site's chrome: each pool line kept with
    probability :data:`CHROME_KEPT`, header lines shuffled before the text, footer lines after it."""
    header = [line for line in pool.header if rng.random() < CHROME_KEPT]
    footer = [line for line in pool.footer if rng.random() < CHROME_KEPT]
    rng.shuffle(header)
    rng.shuffle(footer)
    return Chrome(tuple(header), tuple(footer)).wrap(text)


@dataclass
class VariantCorpus:
    gold: dict[
        str, str
    ]  # document id (``<cluster key>#<kind>``) -> cluster key (an article, a short article)
    docs: list[Document]  # shuffled
    chrome: dict[str, Chrome]
    chrome_of: dict[str, str] = field(default_factory=dict)  # article key -> publisher of other_chrome
    hosts: dict[str, str] = field(default_factory=dict)  # publisher -> the site of its pages
    pools: dict[str, Chrome] = field(default_factory=dict)  # publisher -> the chrome reshuffled pages draw on


def fundus_variant_docs(shared_data: Path, publishers: Collection[str] | None = None) -> VariantCorpus:
    """Eight variants of every gold article (of ``publishers``: all by default), shuffled with a fixed
    seed. Each is a page of its publisher's site (its URL's host), but ``other_chrome``, which is a
    page of the site whose chrome it carries; other chrome comes from ``publishers`` only."""
    articles = [a for a in fundus_articles(shared_data) if publishers is None or a.publisher in publishers]
    chrome = fundus_chrome(shared_data, articles)
    names = sorted(chrome)
    corpus = VariantCorpus({}, [], chrome, hosts=publisher_hosts(shared_data, names))
    for article in articles:
        rng = random.Random(article.key)
        donor = other_publisher(article, names, random.Random(f"{article.key}#chrome"))
        corpus.chrome_of[article.key] = donor
        variants = article_variants(article, rng, chrome[article.publisher], chrome[donor])
        for kind, text in variants.items():
            site = corpus.hosts[donor if kind == "other_chrome" else article.publisher]
            doc_id = f"{article.key}#{kind}"
            corpus.gold[doc_id] = article.key
            corpus.docs.append(kept_doc(text, doc_id, f"https://{site}/{article.key}/{kind}"))
    random.Random(SHUFFLE_SEED).shuffle(corpus.docs)
    return corpus


def site_corpus(shared_data: Path, publishers: Collection[str] | None = None) -> VariantCorpus:
    """:func:`fundus_variant_docs` plus, per publisher, pages whose chrome outweighs the article:
    :data:`SHORT_COPIES` pages of every short article (:func:`short_articles`), each under another
    selection and order of the publisher's real chrome (:func:`reshuffled_chrome`; the pool is a
    larger share of the page's chrome, :data:`POOL_LIMITS`), and one page of chrome alone (a
    cluster of its own), all on the publisher's site; shuffled with a fixed seed."""
    corpus = fundus_variant_docs(shared_data, publishers)
    articles = [a for a in fundus_articles(shared_data) if a.publisher in corpus.chrome]
    corpus.pools = fundus_chrome(shared_data, articles, POOL_LIMITS)
    for article in articles:
        pool, site = corpus.pools[article.publisher], corpus.hosts[article.publisher]
        for key, text in short_articles(article):
            rng = random.Random(key)
            for copy in range(1, SHORT_COPIES + 1):
                doc_id = f"{key}/page-{copy}#short_chrome"
                corpus.gold[doc_id] = key
                corpus.docs.append(
                    kept_doc(reshuffled_chrome(pool, text, rng), doc_id, f"https://{site}/{key}/{copy}")
                )
    for name, pool in sorted(corpus.pools.items()):
        doc_id = f"{name}/chrome#chrome_only"
        corpus.gold[doc_id] = f"{name}/chrome"
        text = reshuffled_chrome(pool, "", random.Random(doc_id))
        corpus.docs.append(kept_doc(text, doc_id, f"https://{corpus.hosts[name]}/{name}/index"))
    random.Random(SHUFFLE_SEED).shuffle(corpus.docs)
    return corpus


def split_publishers(publishers: Iterable[str]) -> tuple[list[str], list[str]]:
    """Publishers split in two halves, tuning and evaluation, by a seeded shuffle of their names
    (the same split on every run; site-disjoint: a publisher's pages and chrome are in one half)."""
    names = sorted(set(publishers))
    random.Random(SPLIT_SEED).shuffle(names)
    half = (len(names) + 1) // 2
    return sorted(names[:half]), sorted(names[half:])


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = _WORD.findall(unicodedata.normalize("NFC", text).casefold())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(len(a | b), 1)


def kind_jaccard(corpus: VariantCorpus) -> dict[str, list[float]]:
    """Per variant kind: the true word-5-gram Jaccard similarity of each variant to its original."""
    texts = {d.id: d.text for d in corpus.docs}
    reference = references(corpus.gold)
    result: dict[str, list[float]] = defaultdict(list)
    for doc_id, key in corpus.gold.items():
        original = shingles(texts[reference[key]])
        result[variant_kind(doc_id)].append(jaccard(shingles(texts[doc_id]), original))
    return result


# ---------------------------------------------------------------- text-dedup baseline (datasketch)


def load_datasketch() -> ModuleType | None:
    try:
        import datasketch
    except ImportError:
        return None
    return datasketch


_NON_ALPHA = re.compile(r"\W", re.UNICODE)


def textdedup_shingles(text: str, n: int = 5, min_length: int = 5, keep_empty: bool = True) -> set[bytes]:
    """text-dedup's MinHash shingles: n-grams of the text split on every ``\\W``, lower-cased.

    As in text-dedup, the empty strings between two adjacent non-word characters are tokens too
    (``keep_empty``), so a text with other spacing shares almost no shingle with the original.
    """
    tokens = [t for t in _NON_ALPHA.split(text) if keep_empty or t]
    if len(tokens) < min_length:
        return set()
    if len(tokens) < n:
        return {" ".join(tokens).lower().encode()}
    return {" ".join(tokens[i : i + n]).lower().encode() for i in range(len(tokens) - n + 1)}


def union_find_roots(size: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    """The smallest member of each element's connected component."""
    parent = list(range(size))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(size)]


def textdedup_representatives(
    datasketch: ModuleType,
    docs: list[Document],
    keep_empty: bool = True,
    threshold: float = 0.7,
    num_perm: int = 256,
) -> dict[str, str]:
    """id -> representative id with text-dedup's MinHash defaults (no verification of candidates)."""
    lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = []
    for i, doc in enumerate(docs):
        minhash = datasketch.MinHash(num_perm=num_perm, seed=42)
        minhash.update_batch(textdedup_shingles(doc.text, keep_empty=keep_empty))
        lsh.insert(i, minhash)
        hashes.append(minhash)
    pairs = ((i, j) for i, minhash in enumerate(hashes) for j in lsh.query(minhash))
    roots = union_find_roots(len(docs), pairs)
    return {doc.id: docs[root].id for doc, root in zip(docs, roots, strict=True)}


# ---------------------------------------------------------------- running configurations


@dataclass
class Run:
    name: str
    predicted: dict[str, str]
    sign_s: float = 0.0
    decide_s: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)
    default: bool = False  # our dedup with the default settings


Dedup = Callable[[list[Document]], Run]


def ours(params: NearDedupParams, boilerplate: BoilerplateParams | None = DEFAULT_BOILERPLATE) -> Dedup:
    """Our dedup; ``boilerplate`` None: whole texts signed (the near_dedup stage's ``boilerplate`` off)."""
    name = f"ours t={params.threshold:g} {params.bands}x{params.rows}"
    if params.ngram != DEFAULT_NEAR.ngram:
        name += f" {params.ngram}-gram"
    if boilerplate is None:
        name += ", boilerplate off"
    elif boilerplate != DEFAULT_BOILERPLATE:
        settings = (boilerplate.min_contents, boilerplate.short_line_words, boilerplate.min_words)
        name += ", boilerplate {}/{}w/{}".format(*settings)
    default = params == DEFAULT_NEAR and boilerplate == DEFAULT_BOILERPLATE
    if default:
        name += " (default)"

    def run(docs: list[Document]) -> Run:
        fresh = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]
        started = time.perf_counter()
        if boilerplate is None:
            keyed = signed(fresh, near=params)
        else:
            keyed = signed_without_boilerplate(fresh, params, boilerplate)
        signed_at = time.perf_counter()
        decisions = decide(keyed, near=params)
        done = time.perf_counter()
        predicted = representatives([d.id for d in docs], decisions)
        reasons = {i: d["reason"] for i, d in decisions.items()}
        return Run(name, predicted, signed_at - started, done - signed_at, reasons, default)

    return run


def baseline(datasketch: ModuleType, keep_empty: bool = True) -> Dedup:
    name = "text-dedup t=0.7 256p" + ("" if keep_empty else " words")

    def run(docs: list[Document]) -> Run:
        started = time.perf_counter()
        predicted = textdedup_representatives(datasketch, docs, keep_empty)
        return Run(name, predicted, time.perf_counter() - started)

    return run


def configurations(args: argparse.Namespace) -> list[Dedup]:
    base = replace(DEFAULT_NEAR, bands=args.bands, rows=args.rows, ngram=args.ngram)
    runs = [ours(replace(base, threshold=DEFAULT_NEAR.threshold), None)]  # before: whole pages signed
    runs += [ours(replace(base, threshold=t)) for t in sorted({*args.thresholds, DEFAULT_NEAR.threshold})]
    datasketch = load_datasketch()
    if datasketch is None:
        print("note: datasketch is not importable, so the text-dedup baseline is skipped")
        print("      (pip install --target DIR --no-deps datasketch scipy; then PYTHONPATH=DIR)\n")
    else:
        runs += [baseline(datasketch), baseline(datasketch, keep_empty=False)]
    return runs


# ---------------------------------------------------------------- reports


def report_sites(shared_data: Path, runs: list[Dedup]) -> None:
    """Every configuration on the evaluation half, the tuning half, all publishers (:func:`site_corpus`),
    and on the eight variants of every article alone (:func:`fundus_variant_docs`)."""
    tuning, evaluation = split_publishers(a.publisher for a in fundus_articles(shared_data))
    print(
        f"publishers split by site: {len(tuning)} tuning (the boilerplate settings were chosen on these), "
        f"{len(evaluation)} evaluation; every page of a publisher and its chrome in one half"
    )
    for name, corpus in (
        ("evaluation half", site_corpus(shared_data, evaluation)),
        ("tuning half", site_corpus(shared_data, tuning)),
        ("all publishers", site_corpus(shared_data)),
        ("eight variants only, all publishers", fundus_variant_docs(shared_data)),
    ):
        results = report_corpus(name, corpus, runs)
        if name == "evaluation half":
            report_kinds(corpus, results)
            report_template_margin(corpus)
            report_misses(corpus, next((r for r in results if r.default), results[0] if results else None))


def report_corpus(name: str, corpus: VariantCorpus, runs: list[Dedup]) -> list[Run]:
    gold = corpus.gold
    kinds = Counter(variant_kind(i) for i in gold)
    sizes = [(len(c.header) + len(c.footer), c.words) for c in (corpus.pools or corpus.chrome).values()]
    lines, words = zip(*sizes, strict=True)
    print(
        f"\n{name}: {len(set(gold.values()))} clusters of {len(corpus.chrome)} publishers, "
        f"{len(gold)} documents ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"{'chrome pool' if corpus.pools else 'chrome'} {min(lines)}-{max(lines)} lines, "
        f"{min(words)}-{max(words)} words (median {statistics.median(words):g})"
    )
    results = [run(corpus.docs) for run in runs]
    width = max(len(r.name) for r in results) + 2
    print(
        f"{'':{width}}{'P':>7}{'R':>8}{'F1':>8}{'one kept':>10}{'wrong pairs':>13}{'same-publisher':>16}"
        f"{'sign s':>9}{'decide s':>10}"
    )
    for r in results:
        p, rec, f1 = pairwise_scores(gold, r.predicted)
        wrong = merged_gold_pairs(gold, r.predicted)
        same = sum(publisher(a) == publisher(b) for a, b in wrong)
        one = one_kept_per_cluster(gold, r.predicted)
        print(
            f"{r.name:{width}}{p:7.4f}{rec:8.4f}{f1:8.4f}{one:10.3f}{len(wrong):13d}{same:16d}"
            f"{r.sign_s:9.3f}{r.decide_s:10.3f}"
        )
    return results


def report_kinds(corpus: VariantCorpus, results: list[Run]) -> None:
    gold = corpus.gold
    print("\nper kind: share in its reference's cluster (documents merged with another cluster)")
    similarity = kind_jaccard(corpus)
    print(
        f"{'kind':18}{'5-gram Jaccard min/median':>26}  "
        + "  ".join(f"{r.name:>{len(r.name)}}" for r in results)
    )
    recalls = [kind_recall(gold, r.predicted) for r in results]
    wrongs = [kind_wrong_merges(gold, r.predicted) for r in results]
    for kind in (k for k in SITE_KINDS if k in similarity):
        sims = similarity[kind]
        cells = [
            f"{f'{rec[kind]:.3f} ({wrong[kind]})':>{len(r.name)}}"
            for r, rec, wrong in zip(results, recalls, wrongs, strict=True)
        ]
        print(f"{kind:18}{f'{min(sims):.3f} / {statistics.median(sims):.3f}':>26}  " + "  ".join(cells))


def chrome_publisher(corpus: VariantCorpus, doc_id: str) -> str | None:
    key, kind = corpus.gold[doc_id], variant_kind(doc_id)
    if kind == "other_chrome":
        return corpus.chrome_of[key]
    return publisher(key) if kind in ("own_chrome", "short_chrome", "chrome_only") else None


def report_template_margin(corpus: VariantCorpus) -> None:
    """The most similar documents of different articles that carry the same template lines."""
    by_template: dict[str, list[str]] = defaultdict(list)
    for doc_id in corpus.gold:
        template = chrome_publisher(corpus, doc_id)
        if template is not None:
            by_template[template].append(doc_id)
    texts = {d.id: shingles(d.text) for d in corpus.docs}
    pairs = [
        (jaccard(texts[a], texts[b]), a, b)
        for members in by_template.values()
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if corpus.gold[a] != corpus.gold[b]
    ]
    if pairs:
        best, a, b = max(pairs)
        print(
            f"\ndifferent articles with the same template lines: {len(pairs)} pairs, "
            f"highest 5-gram Jaccard {best:.3f} ({a} / {b})"
        )


def report_misses(corpus: VariantCorpus, run: Run | None, limit: int = 8) -> None:
    """The documents that ``run`` (the default settings) left out of their reference's cluster."""
    if run is None:
        return
    texts = {d.id: d.text for d in corpus.docs}
    reference = references(corpus.gold)
    missed = {
        doc_id: jaccard(shingles(texts[doc_id]), shingles(texts[reference[key]]))
        for doc_id, key in corpus.gold.items()
        if run.predicted[doc_id] != run.predicted[reference[key]]
    }
    if not missed:
        return
    print(f"\n{run.name}: {len(missed)} documents apart from their reference, lowest Jaccard first:")
    for doc_id in sorted(missed, key=missed.get)[:limit]:
        reference_words = word_count(texts[reference[corpus.gold[doc_id]]])
        print(f"  {doc_id:52} Jaccard {missed[doc_id]:.3f}, reference {reference_words} words")


def report_spdx(shared_data: Path, runs: list[Dedup]) -> None:
    root = shared_data / "dedup" / "spdx_license_texts"
    manifest = [
        json.loads(line)
        for line in (root / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    docs = [kept_doc((root / m["file"]).read_text(encoding="utf-8"), m["id"]) for m in manifest]
    groups: dict[str, list[str]] = defaultdict(list)
    for m in manifest:
        groups[m["exact_text_group"]].append(m["id"])
    exact_groups = [g for g in groups.values() if len(g) > 1]
    family = {m["id"]: m["id_prefix_family"] for m in manifest}
    texts = {d.id: " ".join(d.text.split()).casefold() for d in docs}
    shingled = {d.id: shingles(d.text) for d in docs}
    print(
        f"\nspdx licence texts: {len(docs)} documents, {len(exact_groups)} exact groups "
        f"({sum(len(g) - 1 for g in exact_groups)} exact duplicates), "
        f"{len(set(family.values()))} id-prefix families"
    )
    print(
        "  config: exact groups whole; documents put with a different text (their clusters, how many "
        "across id-prefix families, lowest 5-gram Jaccard to the kept document); pairwise P R F1 "
        "against id_prefix_family"
    )
    for run in runs:
        r = run(docs)
        whole = sum(len({r.predicted[m] for m in g}) == 1 for g in exact_groups)
        exact_ok = all(r.reasons.get(m) == EXACT_REASON for g in exact_groups for m in g[1:])
        near = [i for i in r.predicted if r.predicted[i] != i and texts[i] != texts[r.predicted[i]]]
        clusters = len({r.predicted[i] for i in near})
        cross = sum(family[i] != family[r.predicted[i]] for i in near)
        lowest = min((jaccard(shingled[i], shingled[r.predicted[i]]) for i in near), default=1.0)
        p, rec, f1 = pairwise_scores(family, r.predicted)
        reason = f", exact reasons {'ok' if exact_ok else 'MISSING'}" if r.reasons else ""
        print(
            f"  {r.name}: {whole}/{len(exact_groups)} whole{reason}; {len(near)} with a different text "
            f"({clusters} clusters, {cross} across families, lowest Jaccard to the kept one {lowest:.3f}); "
            f"P={p:.3f} R={rec:.3f} F1={f1:.3f}"
        )


def report_cs336(shared_data: Path, runs: list[Dedup]) -> None:
    root = shared_data / "dedup" / "cs336_fuzzy_license_docs"
    names = ["rails_mit_license.txt", "react_mit_license.txt", "pytorch_license.txt"]
    docs = [kept_doc((root / n).read_text(encoding="utf-8"), n) for n in names]
    mit_a, mit_b, other = shingles(docs[0].text), shingles(docs[1].text), shingles(docs[2].text)
    print(
        f"\ncs336 licences: MIT-MIT Jaccard {jaccard(mit_a, mit_b):.3f}, "
        f"MIT-pytorch {jaccard(mit_a, other):.3f} / {jaccard(mit_b, other):.3f}"
    )
    for run in runs:
        r = run(docs)
        mit_together = r.predicted[names[0]] == r.predicted[names[1]]
        pytorch_alone = list(r.predicted.values()).count(r.predicted[names[2]]) == 1
        verdict = "ok" if mit_together and pytorch_alone else "WRONG"
        print(f"  {r.name}: MIT pair together {mit_together}, pytorch alone {pytorch_alone}: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.7, 0.8, 0.9])
    parser.add_argument("--bands", type=int, default=DEFAULT_NEAR.bands)
    parser.add_argument("--rows", type=int, default=DEFAULT_NEAR.rows)
    parser.add_argument("--ngram", type=int, default=DEFAULT_NEAR.ngram)
    args = parser.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(
            f"error: the shared test data is absent ({SHARED_DATA}); it lives beside the project",
            file=sys.stderr,
        )
        return 2
    runs = configurations(args)
    report_sites(SHARED_DATA, runs)
    report_spdx(SHARED_DATA, runs)
    report_cs336(SHARED_DATA, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
