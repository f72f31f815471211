"""The sample's vocabulary: corpus files, languages and topics, expected fates, and text measures.

Shared by ``generate.py`` (documents, JSONL, Parquet, answer key) and ``crawl.py`` (the WARC).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

NEWS = "news.jsonl.gz"
FORUM = "forum.parquet"
CRAWL = "crawl.warc.gz"
LANGS = ("de", "hu", "nl", "en")
TOPICS = (
    "council",
    "notice",
    "recipe",
    "travel",
    "science",
    "review",
    "forum",
    "history",
    "sports",
    "culture",
)

DOCS_PER_TOPIC = 6
WARC_INDEX = 5  # document 5 of every topic but "forum" is published as a web page
# Expected fates (status, reason); a reason ending in ``*`` names the stage, not the exact rule.
FATE = {
    "clean": ("kept", ""),
    "pii": ("kept", ""),  # kept, with the values listed under "pii" redacted
    "decoy": ("kept", ""),  # kept, and the values listed under "not_pii" left alone
    "other_language": ("filtered", "lang:*"),
    "spam": ("filtered", "quality:*"),
    "boilerplate_page": ("filtered", "quality:*"),
    "exact_duplicate": ("duplicate", "exact_dedup:*"),
    "near_duplicate": ("duplicate", "near_dedup:*"),
    "opt_out": ("filtered", "optout:* (TDM opt-out honoured; kept if no stage checks opt-outs)"),
    "bad_record": ("quarantined", "input:*"),
    "non_html": ("quarantined", "input:* (content type)"),
    "http_error": ("filtered", "input:http_404"),  # a well-formed record whose HTTP status is not 200
}


@dataclass
class Doc:
    """A distinct base document (before any deliberate copy is made of it)."""

    key: str
    lang: str
    text: str
    category: str
    topic: str = ""
    home: str = NEWS
    pii: list[dict[str, str]] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)


@dataclass
class Record:
    """One record as written to a corpus file, with its expected fate."""

    file: str
    key: str
    lang: str | None
    category: str
    text: str | None = None
    url: str | None = None
    license: str | None = None
    date: str | None = None
    duplicate_of: str | None = None
    variant: str = ""
    jaccard: float | None = None
    pii: list[dict[str, str]] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)
    note: str = ""
    reason: str = ""  # the exact expected reason, where it is known (else FATE's stage-level reason)
    raw: bytes | None = None  # a JSONL line written as is (broken records)
    fields: dict[str, str] | None = None  # a JSON object written instead of text/url/license/date


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def slugify(text: str, max_words: int = 6) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower())[:max_words])


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]
