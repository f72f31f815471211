"""Generate the embedded multilingual sample in ``samples/corpus/`` and its answer key.

Run ``.venv/bin/python samples/generate.py``. The output is byte-identical on every run: every random
choice comes from a ``random.Random`` seeded with a fixed string, timestamps are fixed, gzip headers carry
mtime 0, JSON keys are sorted and WARC record ids are uuid5 values derived from the URL.

Writes
    corpus/news.jsonl.gz     JSON Lines (text, url, license, date), incl. four broken lines
    corpus/forum.parquet     zstd Parquet (text, url, license), incl. one row without text
    corpus/crawl.warc.gz     WARC 1.0 with warcinfo, request and response records
    expected.json            the answer key: every record's category and expected fate

The sample is built from sentence banks (``texts/``): each base document takes sentences of one topic,
drawn so that no two base documents share more than two sentences, and the generator asserts that every
pair of distinct documents has a word-5-gram Jaccard similarity below 0.2. Duplicates, near duplicates,
spam, personal data and broken records are then added on purpose; ``samples/README.md`` lists them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import unicodedata
from collections import Counter
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

import identifiers
import pyarrow as pa
import pyarrow.parquet as pq
from crawl import SECTIONS, build_crawl, write_crawl
from model import (
    CRAWL,
    DOCS_PER_TOPIC,
    FATE,
    FORUM,
    LANGS,
    NEWS,
    TOPICS,
    WARC_INDEX,
    Doc,
    Record,
    jaccard,
    paragraphs,
    shingles,
    slugify,
)
from texts import BANKS
from texts.other import OTHER_LANGUAGE_DOCS
from texts.pii import DECOY_ADDITIONS, PII_ADDITIONS
from texts.spam import SPAM_DOCS
from texts.variants import ADDED_SENTENCE, SYNDICATION

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
EXPECTED = HERE / "expected.json"
MAX_SHARED_SENTENCES = 2
WORD_TARGET = (90, 135)
LONG_WORD_TARGET = 190
MIN_WORDS, MAX_WORDS = 80, 400
MAX_DISTINCT_JACCARD = 0.2
COMPOSE_JACCARD = 0.17  # margin below MAX_DISTINCT_JACCARD while composing
MIN_NEAR_DUP_JACCARD = 0.85  # the sample config's MinHash threshold is 0.75
# Base documents that get a dropped-paragraph near duplicate must have four paragraphs or more.
LONG_DOCS = {("de", "history", 1), ("nl", "travel", 1), ("en", "science", 1)}
NEWS_HOSTS = {
    "de": ("westwind-kurier.example", "lindenfelder-anzeiger.example"),
    "hu": ("alfoldi-naplo.example", "kohidvari-ujsag.example"),
    "nl": ("lindendamse-courant.example", "westkust-dagblad.example"),
    "en": ("northshore-herald.example", "wend-valley-news.example"),
    "fr": ("echo-des-pres.example",),
    "es": ("diario-del-valle.example",),
    "it": ("gazzetta-del-borgo.example",),
    "pl": ("kurier-nadrzeczny.example",),
    "da": ("lokalavisen-nord.example",),
    "sv": ("bygdebladet.example",),
    "af": ("karoo-koerant.example",),
    "lb": ("gemengebuet.example",),
    "fy": ("doarpskrante.example",),
    "cs": ("zpravy-z-udoli.example",),
}

FORUM_URLS = {
    "de": (
        "https://gartenfreunde-forum.example/thread/{n}#post-{m}",
        "https://testberichte-portal.example/bewertung/{n}",
    ),
    "hu": ("https://kertbarat-forum.example/tema/{n}#hsz-{m}", "https://velemenyter.example/ertekeles/{n}"),
    "nl": ("https://tuinforum.example/topic/{n}#bericht-{m}", "https://reviewhoek.example/review/{n}"),
    "en": ("https://allotment-talk.example/thread/{n}#post-{m}", "https://honest-reviews.example/review/{n}"),
    "fr": ("https://forum-velo.example/sujet/{n}#message-{m}", ""),
    "es": ("", "https://opiniones-moviles.example/opinion/{n}"),
    "pl": ("https://forum-dzialkowca.example/temat/{n}#post-{m}", ""),
}

# Deliberate duplicates: (variant, base key, file the copy goes to).
EXACT_DUPLICATES = [
    ("verbatim", "de/travel/3", FORUM),
    ("verbatim", "hu/culture/3", FORUM),
    ("verbatim", "nl/sports/4", FORUM),
    ("verbatim", "en/history/3", FORUM),
    ("verbatim", "de/notice/0", FORUM),  # a PII document, copied
    ("verbatim", "nl/forum/3", FORUM),  # a forum post submitted twice
    ("mirror", "hu/science/4", NEWS),
    ("mirror", "en/sports/3", NEWS),
    ("mirror", "nl/recipe/3", NEWS),
    ("whitespace", "de/science/3", NEWS),
    ("lowercase", "en/recipe/4", NEWS),
    ("nfd", "de/travel/4", NEWS),
    ("nfd", "hu/history/3", NEWS),
    ("verbatim", "other/fr/0", NEWS),  # filtered by language before dedup sees it
    ("verbatim", "spam/en/seo_keyword_stuffing", FORUM),  # filtered by quality before dedup sees it
]

NEAR_DUPLICATES = [
    ("dropped_paragraph", "de/history/1", FORUM),
    ("dropped_paragraph", "nl/travel/1", FORUM),
    ("dropped_paragraph", "en/science/1", FORUM),
    ("typos", "de/recipe/2", NEWS),
    ("typos", "hu/council/2", NEWS),
    ("typos", "en/travel/2", NEWS),
    ("added_sentence", "de/council/3", NEWS),
    ("added_sentence", "hu/notice/3", NEWS),
    ("added_sentence", "nl/council/3", NEWS),
    ("syndicated", "de/culture/2", NEWS),
    ("syndicated", "hu/sports/2", NEWS),
    ("syndicated", "nl/history/2", NEWS),
    ("syndicated", "en/council/2", NEWS),
]

# The outlet a syndicated copy names in its header line (texts/variants.py) publishes the original.
SYNDICATED_FROM = {
    "de": "lindenfelder-anzeiger.example",
    "hu": "alfoldi-naplo.example",
    "nl": "lindendamse-courant.example",
    "en": "northshore-herald.example",
}


def collapse_whitespace(text: str) -> str:
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()))


def group_paragraphs(sentences: list[str], rng: random.Random, closing: bool = False) -> str:
    """Split sentences into at least three paragraphs of two or three sentences each (as even as possible).

    With ``closing`` the last sentence stands alone as a short closing paragraph.
    """
    body = sentences[:-1] if closing else sentences
    count = max(3, -(-len(body) // 3))
    sizes = [len(body) // count + (1 if i < len(body) % count else 0) for i in range(count)]
    rng.shuffle(sizes)
    groups, start = [], 0
    for size in sizes:
        groups.append(" ".join(body[start : start + size]))
        start += size
    if closing:
        groups.append(sentences[-1])
    return "\n\n".join(groups)


def compose_topic(lang: str, topic: str) -> list[str]:
    """Six documents from one topic's sentences; any two share at most MAX_SHARED_SENTENCES sentences."""
    bank = BANKS[lang][topic]
    lengths = [len(s.split()) for s in bank]
    for attempt in range(1000):
        rng = random.Random(f"compose/{lang}/{topic}/{attempt}")
        usage = [0] * len(bank)
        chosen: list[set[int]] = []
        for index in range(DOCS_PER_TOPIC):
            target = LONG_WORD_TARGET if (lang, topic, index) in LONG_DOCS else rng.randint(*WORD_TARGET)
            order = sorted(range(len(bank)), key=lambda i: (usage[i], rng.random()))
            picked: set[int] = set()
            total = 0
            for i in order:
                if any(len(prev & (picked | {i})) > MAX_SHARED_SENTENCES for prev in chosen):
                    continue
                picked.add(i)
                total += lengths[i]
                if total >= target:
                    break
            if total < target:
                break
            text = " ".join(bank[i] for i in sorted(picked))
            if any(
                jaccard(text, " ".join(bank[i] for i in sorted(prev))) >= COMPOSE_JACCARD for prev in chosen
            ):
                break
            chosen.append(picked)
            for i in picked:
                usage[i] += 1
        if len(chosen) == DOCS_PER_TOPIC:
            return [
                group_paragraphs([bank[i] for i in sorted(picked)], rng, (lang, topic, index) in LONG_DOCS)
                for index, picked in enumerate(chosen)
            ]
    raise AssertionError(f"cannot compose {DOCS_PER_TOPIC} distinct documents from {lang}/{topic}")


MARKUP = re.compile(r"\{\{(\w+)(?::([^}]*))?\}\}")


def fill_markup(template: str, rng: random.Random) -> tuple[str, list[dict[str, str]], list[str]]:
    """Replace ``{{kind:value}}`` markup (see texts/pii.py); return text, PII values and decoys."""
    pii: list[dict[str, str]] = []
    decoys: list[str] = []

    def replace(match: re.Match[str]) -> str:
        kind, arg = match.group(1), match.group(2) or ""
        if kind in ("email", "phone", "ip"):
            pii.append({"type": kind, "value": arg})
            return arg
        if kind == "iban":
            country, _, style = arg.partition(":")
            iban = identifiers.make_iban(rng, country)
            shown = iban if style == "compact" else identifiers.group4(iban)
            pii.append({"type": "iban", "value": shown})
            return shown
        if kind in ("bsn", "taj", "steuer_id"):
            make = {
                "bsn": identifiers.make_bsn,
                "taj": identifiers.make_taj,
                "steuer_id": identifiers.make_steuer_id,
            }
            value = make[kind](rng)
            pii.append({"type": "national_id", "scheme": kind, "value": value})
            return value
        if kind == "bad_iban":
            value = identifiers.group4(identifiers.break_iban(identifiers.make_iban(rng, arg)))
        elif kind == "isbn":
            value = identifiers.make_isbn13(rng)
        elif kind == "decoy":
            value = arg
        else:
            raise ValueError(f"unknown markup {match.group(0)}")
        decoys.append(value)
        return value

    return MARKUP.sub(replace, template), pii, decoys


def home_file(topic: str, index: int) -> str:
    if index == WARC_INDEX and topic != "forum":
        return CRAWL
    if topic in ("review", "forum"):
        return FORUM
    return NEWS


def build_documents() -> dict[str, Doc]:
    docs: dict[str, Doc] = {}
    rng = random.Random("pii-values")
    for lang in LANGS:
        for topic in TOPICS:
            for index, text in enumerate(compose_topic(lang, topic)):
                key = f"{lang}/{topic}/{index}"
                doc = Doc(key, lang, text, "clean", topic, home_file(topic, index))
                for additions, category in ((PII_ADDITIONS, "pii"), (DECOY_ADDITIONS, "decoy")):
                    template = additions.get((lang, topic, index))
                    if template:
                        extra, doc.pii, doc.decoys = fill_markup(template, rng)
                        doc.text += "\n\n" + extra
                        doc.category = category
                docs[key] = doc
    for lang, topic, index in list(PII_ADDITIONS) + list(DECOY_ADDITIONS):
        assert f"{lang}/{topic}/{index}" in docs, f"addition for a missing document {lang}/{topic}/{index}"
    per_lang: Counter[str] = Counter()
    for lang, kind, text in OTHER_LANGUAGE_DOCS:
        key = f"other/{lang}/{per_lang[lang]}"
        per_lang[lang] += 1
        home = FORUM if kind in ("forum", "review") else NEWS
        docs[key] = Doc(key, lang, text, "other_language", kind, home)
    for lang, kind, where, text in SPAM_DOCS:
        key = f"spam/{lang}/{kind}"
        assert key not in docs, key
        docs[key] = Doc(key, lang, text, "spam", kind, NEWS if where == "news" else FORUM)
    return docs


def check_documents(docs: dict[str, Doc]) -> None:
    """Every distinct document is prose of the right length and no two are near duplicates."""
    for doc in docs.values():
        if doc.category != "spam":
            n = len(doc.text.split())
            assert MIN_WORDS <= n <= MAX_WORDS, f"{doc.key}: {n} words"
            assert len(paragraphs(doc.text)) >= 3, f"{doc.key}: fewer than three paragraphs"
            assert all(p.rstrip()[-1] in ".!?" for p in paragraphs(doc.text)), (
                f"{doc.key}: paragraph without end mark"
            )
    for key in ("de/history/1", "nl/travel/1", "en/science/1"):
        assert len(paragraphs(docs[key].text)) >= 4, key
    sets = {key: shingles(doc.text) for key, doc in docs.items()}
    worst = 0.0
    for a, b in combinations(sorted(sets), 2):
        sa, sb = sets[a], sets[b]
        score = len(sa & sb) / len(sa | sb)
        worst = max(worst, score)
        assert score < MAX_DISTINCT_JACCARD, f"{a} and {b} are too similar: Jaccard {score:.3f}"
    print(f"checked {len(docs)} distinct documents: max pairwise 5-gram Jaccard {worst:.3f}")


def with_typos(text: str, rng: random.Random, count: int = 3) -> str:
    """Swap two inner letters in ``count`` neighbouring long words of one sentence (an uncorrected draft)."""
    tokens = re.split(r"(\W+)", text)
    long_words = [i for i, t in enumerate(tokens) if t.isalpha() and len(t) >= 6]
    # the tightest run of ``count`` long words changes the fewest word 5-grams
    start = min(
        range(len(long_words) - count + 1), key=lambda k: (long_words[k + count - 1] - long_words[k], k)
    )
    for i in long_words[start : start + count]:
        word = tokens[i]
        j = rng.randint(1, len(word) - 3)
        tokens[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return "".join(tokens)


def drop_paragraph(text: str) -> str:
    parts = paragraphs(text)
    shortest = min(range(1, len(parts)), key=lambda i: (len(parts[i].split()), i))
    return "\n\n".join(p for i, p in enumerate(parts) if i != shortest)


def whitespace_variant(text: str) -> str:
    """Doubled spaces, tabs, trailing blanks and CRLF paragraph breaks; equal after collapsing whitespace."""
    body = "\r\n\r\n\r\n".join(p.replace(". ", ".  ").replace(", ", ",\t ") + "  " for p in paragraphs(text))
    return "\n \t" + body + "\t\n\n"


def make_variant(kind: str, doc: Doc, rng: random.Random) -> str:
    if kind in ("verbatim", "mirror"):
        return doc.text
    if kind == "whitespace":
        return whitespace_variant(doc.text)
    if kind == "lowercase":
        return doc.text.lower()
    if kind == "nfd":
        return unicodedata.normalize("NFD", doc.text)
    if kind == "typos":
        return with_typos(doc.text, rng)
    if kind == "dropped_paragraph":
        return drop_paragraph(doc.text)
    if kind == "added_sentence":
        return doc.text + " " + ADDED_SENTENCE[doc.lang]
    if kind == "syndicated":
        header, footer = SYNDICATION[doc.lang]
        return f"{header}\n\n{doc.text}\n\n{footer}"
    raise ValueError(kind)


def check_exact_variant(kind: str, original: str, copy: str) -> None:
    if kind in ("verbatim", "mirror"):
        assert copy == original
    elif kind == "whitespace":
        assert copy != original and collapse_whitespace(copy) == collapse_whitespace(original)
    elif kind == "lowercase":
        assert copy != original and copy == original.lower()
    elif kind == "nfd":
        assert copy != original and unicodedata.normalize("NFC", copy) == original


def iso_day(rng: random.Random, year: int = 2024) -> str:
    return (date(year, 1, 1) + timedelta(days=rng.randint(0, 330))).isoformat()


def news_url(doc: Doc, day: str, rng: random.Random, host: str | None = None) -> str:
    hosts = NEWS_HOSTS[doc.lang]
    host = host or hosts[rng.randrange(len(hosts))]
    section = slugify(SECTIONS.get(doc.lang, {}).get(doc.topic, doc.topic), 2) or "news"
    return f"https://{host}/{section}/{day[:4]}/{day[5:7]}/{slugify(doc.text)}-{rng.randint(1000, 9999)}"


def forum_url(doc: Doc, rng: random.Random) -> str:
    thread, review = FORUM_URLS[doc.lang]
    pattern = review if doc.topic == "review" or not thread else thread
    return pattern.format(n=rng.randint(10000, 99999), m=rng.randint(1, 40))


def spam_url(doc: Doc, rng: random.Random) -> str:
    return f"https://{slugify(doc.text, 3)}.example/{doc.topic.replace('_', '-')}-{rng.randint(100, 999)}"


def license_for(rng: random.Random, file: str) -> str:
    if file == FORUM:
        return rng.choice(("CC-BY-SA-4.0",) * 4 + ("CC-BY-4.0",))
    return rng.choice(("CC-BY-4.0",) * 7 + ("CC-BY-SA-4.0",) * 2 + ("CC0-1.0",))


def base_record(doc: Doc, rng: random.Random) -> Record:
    day = iso_day(rng)
    if doc.category == "spam":
        url = spam_url(doc, rng)
    elif doc.home == FORUM:
        url = forum_url(doc, rng)
    else:
        url = news_url(doc, day, rng)
    return Record(
        file=doc.home,
        key=doc.key,
        lang=doc.lang,
        category=doc.category,
        text=doc.text,
        url=url,
        license=license_for(rng, doc.home),
        date=day if doc.home == NEWS else None,
        pii=doc.pii,
        decoys=doc.decoys,
        reason="quality:* or lang:* (may be tagged Latin)" if doc.topic == "lorem_ipsum" else "",
    )


def variant_record(
    kind: str, doc: Doc, original: Record, target: str, rng: random.Random, exact: bool
) -> Record:
    text = make_variant(kind, doc, rng)
    if exact:
        check_exact_variant(kind, doc.text, text)
    score = jaccard(text, doc.text)
    if not exact:
        assert MIN_NEAR_DUP_JACCARD <= score < 1.0, f"{doc.key} {kind}: Jaccard {score:.3f}"
    if target == FORUM:
        url = forum_url(doc, rng) if doc.category != "spam" else spam_url(doc, rng)
    elif kind == "mirror":
        url = (original.url or "").replace("https://", "https://archiv.", 1)
    else:
        host = None
        if kind == "syndicated":  # the header names the first outlet; the copy runs on the other one
            host = next(h for h in NEWS_HOSTS[doc.lang] if h != SYNDICATED_FROM[doc.lang])
        url = news_url(doc, original.date or iso_day(rng), rng, host)
        if url == original.url:
            url += "-2"
    if doc.category in ("other_language", "spam"):
        category = doc.category  # the filter that drops the original drops the copy first
        note = f"exact copy of {doc.key}; filtered before dedup sees it"
    else:
        category = "exact_duplicate" if exact else "near_duplicate"
        note = f"{kind} copy of {doc.key}"
    return Record(
        file=target,
        key=f"{doc.key}~{kind}",
        lang=doc.lang,
        category=category,
        text=text,
        url=url,
        license=original.license,
        date=(original.date or iso_day(rng)) if target == NEWS else None,
        duplicate_of=doc.key,
        variant=kind,
        jaccard=round(score, 3),
        pii=doc.pii if kind in ("verbatim", "mirror") else [],
        decoys=doc.decoys,
        note=note,
    )


def bad_news_records() -> list[Record]:
    truncated = (
        b'{"date": "2024-05-02", "license": "CC-BY-4.0", '
        b'"text": "Der Export dieses Datensatzes brach mitten im Satz ab, und'
    )
    latin1 = (
        '{"date": "2024-06-11", "license": "CC-BY-4.0", "text": "Gr\u00fc\u00dfe aus dem S\u00fcden: '
        'Dieser Datensatz wurde als Latin-1 statt als UTF-8 gespeichert.", '
        '"url": "https://westwind-kurier.example/archiv/kodierung-1"}'
    ).encode("latin-1")
    return [
        Record(
            NEWS,
            "bad/invalid_json",
            None,
            "bad_record",
            raw=truncated,
            reason="input:invalid_json",
            note="line is not valid JSON (truncated)",
        ),
        Record(
            NEWS,
            "bad/invalid_utf8",
            None,
            "bad_record",
            raw=latin1,
            reason="input:invalid_utf8",
            note="line is Latin-1 encoded, not UTF-8",
        ),
        Record(
            NEWS,
            "bad/missing_text",
            "de",
            "bad_record",
            url="https://westwind-kurier.example/lokales/2024/04/ohne-text-feld",
            fields={
                "body": "Dieser Datensatz hat ein Feld body statt text.",
                "date": "2024-04-19",
                "license": "CC-BY-4.0",
                "url": "https://westwind-kurier.example/lokales/2024/04/ohne-text-feld",
            },
            reason="input:missing_text",
            note="record has no text field",
        ),
        Record(
            NEWS,
            "bad/empty_text",
            None,
            "bad_record",
            text="",
            url="https://northshore-herald.example/news/2024/07/untitled",
            license="CC-BY-4.0",
            date="2024-07-30",
            reason="input:empty_text",
            note="text is the empty string",
        ),
    ]


def place(records: list[Record], later: list[Record], rng: random.Random) -> list[Record]:
    """Insert each record of ``later`` at a random position after its original (if in the same file)."""
    order = list(records)
    for record in later:
        keys = [r.key for r in order]
        start = keys.index(record.duplicate_of) + 1 if record.duplicate_of in keys else 0
        order.insert(rng.randint(start, len(order)), record)
    return order


def build_files(docs: dict[str, Doc]) -> tuple[list[Record], list[Record], dict[str, Record]]:
    rng = random.Random("records")
    originals = {key: base_record(doc, rng) for key, doc in docs.items() if doc.home != CRAWL}
    for kind, key, _ in NEAR_DUPLICATES:
        if kind == "syndicated":
            original = originals[key]
            assert original.url
            original.url = original.url.replace(
                original.url.split("/")[2], SYNDICATED_FROM[original.lang or ""], 1
            )
    copies: list[Record] = []
    vrng = random.Random("variants")
    for duplicates, exact in ((EXACT_DUPLICATES, True), (NEAR_DUPLICATES, False)):
        for kind, key, target in duplicates:
            doc = docs[key]
            assert doc.category not in ("pii", "decoy") or key == "de/notice/0", (
                f"{key} is not a plain document"
            )
            copies.append(variant_record(kind, doc, originals[key], target, vrng, exact))
    order_rng = random.Random("order")
    by_file: dict[str, list[Record]] = {}
    for file in (NEWS, FORUM):
        bases = [r for r in originals.values() if r.file == file]
        order_rng.shuffle(bases)
        by_file[file] = place(bases, [c for c in copies if c.file == file], order_rng)
    news = by_file[NEWS]
    for position, bad in zip((17, 61, 118, 175), bad_news_records(), strict=True):
        news.insert(position, bad)
    forum = by_file[FORUM]
    forum.insert(
        23,
        Record(
            FORUM,
            "bad/null_text",
            None,
            "bad_record",
            text=None,
            url="https://allotment-talk.example/thread/40404#post-1",
            license="CC-BY-SA-4.0",
            reason="input:missing_text",
            note="text is null (post deleted by its author)",
        ),
    )
    return news, forum, originals


def jsonl_line(record: Record) -> bytes:
    if record.raw is not None:
        return record.raw
    obj = record.fields or {
        "date": record.date,
        "license": record.license,
        "text": record.text,
        "url": record.url,
    }
    return json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")


def write_news(path: Path, records: list[Record]) -> None:
    data = b"".join(jsonl_line(r) + b"\n" for r in records)
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def write_forum(path: Path, records: list[Record]) -> None:
    schema = pa.schema([("text", pa.string()), ("url", pa.string()), ("license", pa.string())])
    table = pa.table(
        {
            "text": [r.text for r in records],
            "url": [r.url for r in records],
            "license": [r.license for r in records],
        },
        schema=schema,
    )
    pq.write_table(
        table, path, compression="zstd", compression_level=9, use_dictionary=False, write_statistics=True
    )


def expected_row(record: Record, locator: int, text_in_key: bool) -> dict[str, object]:
    status, reason = FATE[record.category]
    reason = record.reason or reason
    row: dict[str, object] = {
        "file": record.file,
        "locator": locator,
        "key": record.key,
        "url": record.url,
        "lang": record.lang,
        "category": record.category,
        "expected_status": status,
        "expected_reason": reason,
    }
    if record.duplicate_of:
        row["duplicate_of"] = record.duplicate_of
        row["variant"] = record.variant
        row["jaccard_to_original"] = record.jaccard
    if record.pii:
        row["pii"] = record.pii
    if record.decoys:
        row["not_pii"] = record.decoys
    if record.note:
        row["note"] = record.note
    if record.text:
        row["n_words"] = len(record.text.split())
    if text_in_key and record.text:
        row["article_text"] = record.text
    return row


def summarize(rows: list[dict[str, object]], records: list[Record]) -> dict[str, object]:
    def count(*fields: str) -> dict[str, int]:
        counter = Counter("/".join(str(row.get(f)) for f in fields) for row in rows)
        return dict(sorted(counter.items()))

    return {
        "records": len(rows),
        "by_file": count("file"),
        "by_category": count("category"),
        "by_expected_status": count("expected_status"),
        "by_file_category": count("file", "category"),
        "by_lang_category": count("lang", "category"),
        "pii_values": dict(sorted(Counter(p["type"] for r in records for p in r.pii).items())),
    }


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    docs = build_documents()
    check_documents(docs)
    news, forum, originals = build_files(docs)
    crawl = build_crawl(docs, originals)
    write_news(CORPUS / NEWS, news)
    write_forum(CORPUS / FORUM, forum)
    write_crawl(CORPUS / CRAWL, crawl)

    rows = [expected_row(r, i, False) for i, r in enumerate(news)]
    rows += [expected_row(r, i, False) for i, r in enumerate(forum)]
    # WARC locator: index of the response among the file's records (0 = warcinfo, request, response, ...).
    rows += [expected_row(r.record, 2 + 2 * i, True) for i, r in enumerate(crawl)]
    records = news + forum + [r.record for r in crawl]
    answer = {
        "about": "Expected fate of every record in samples/corpus (generated by samples/generate.py). "
        "locator: 0-based line (news.jsonl.gz), row (forum.parquet) or WARC record index of the response "
        "(crawl.warc.gz; warcinfo is record 0, each page is a request then a response). Within a duplicate "
        "cluster exactly one record is kept; which one depends on the pipeline's representative rule.",
        "summary": summarize(rows, records),
        "records": rows,
    }
    EXPECTED.write_text(
        json.dumps(answer, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8"
    )
    for path in sorted(CORPUS.iterdir()) + [EXPECTED]:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(HERE)}  {path.stat().st_size:>8} bytes  sha256 {digest[:16]}")
    print(json.dumps(answer["summary"], indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
