"""The sample crawl: pages on invented sites (``sites.py``) written as a deterministic WARC 1.0 file.

Every article page shows one base document; the crawl also holds the same article under another site's
chrome, a news item republished as a web page, a section index, a consent wall, a 404 page, a PNG and a
PDF, and pages that carry machine-readable text-and-data-mining opt-outs.
"""

from __future__ import annotations

import io
import random
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from model import CRAWL, LANGS, TOPICS, WARC_INDEX, Doc, Record, paragraphs, slugify
from sites import SITES, Page, Teaser, render
from texts import HEADLINES
from texts.variants import REPUBLISHED_HEADLINE
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SECTIONS = {
    "de": {
        "council": "Politik",
        "notice": "Bekanntmachungen",
        "recipe": "Ratgeber",
        "travel": "Reise",
        "science": "Wetter",
        "review": "Ratgeber",
        "history": "Stadtgeschichte",
        "sports": "Sport",
        "culture": "Kultur",
    },
    "hu": {
        "council": "Közélet",
        "notice": "Közlemények",
        "recipe": "Receptek",
        "travel": "Utazás",
        "science": "Időjárás",
        "review": "Tesztek",
        "history": "Helytörténet",
        "sports": "Sport",
        "culture": "Kultúra",
    },
    "nl": {
        "council": "Bestuur",
        "notice": "Bekendmakingen",
        "recipe": "Wonen",
        "travel": "Reizen",
        "science": "Weer",
        "review": "Wonen",
        "history": "Geschiedenis",
        "sports": "Sport",
        "culture": "Vrije tijd",
    },
    "en": {
        "council": "Politics",
        "notice": "Notices",
        "recipe": "Recipes",
        "travel": "Travel",
        "science": "Weather",
        "review": "Reviews",
        "history": "Heritage",
        "sports": "Sport",
        "culture": "What's On",
    },
}

# Which site publishes the web page of each topic (document WARC_INDEX of the topic).
SITE_TOPICS = {
    "de": {
        "rheinblick": "council recipe travel science sports review",
        "lindenfeld": "notice history culture",
    },
    "hu": {
        "dunaparti": "council notice travel science sports history culture",
        "konyhakert": "recipe review",
    },
    "nl": {
        "lindendam": "notice council history culture",
        "polderpost": "recipe travel science sports review",
    },
    "en": {"gazette": "council notice sports culture history", "greenfork": "recipe travel science review"},
}
WARC_SITE = {
    lang: {topic: site for site, topics in sites.items() for topic in topics.split()}
    for lang, sites in SITE_TOPICS.items()
}

AUTHORS = {
    "de": ("Laura Brinkmann", "Henrik Stolberg", "Miriam Ahlers"),
    "hu": ("Varga Eszter", "Molnár Ádám", "Balogh Réka"),
    "nl": ("Lotte van Dam", "Pieter Zwart", "Inge Mulder"),
    "en": ("Sarah Penrose", "James Whitlock", "Amira Cole"),
}

SITE_IPS = {name: f"192.0.2.{10 + i}" for i, name in enumerate(sorted(SITES))}
# Per-page signals in the crawl: (lang, topic) of the page -> what is special about it.
TDM_META = {("de", "travel"), ("hu", "culture")}  # <meta name="tdm-reservation" content="1">
TDM_HEADER = {("en", "recipe")}  # HTTP header tdm-reservation: 1
NOAI_HEADER = {("nl", "review")}  # X-Robots-Tag: noai, noimageai
NOINDEX_HEADER = {("en", "history")}  # X-Robots-Tag: noindex (not a TDM opt-out)
WRONG_HTML_LANG = {("nl", "science"): "en"}  # CMS declares the wrong language
# The two crawl copies equal their originals once the chrome is removed; a lossy extractor leaves them near.
SAME_AFTER_EXTRACTION = "exact_dedup:* or near_dedup:* (identical after clean extraction)"
CRAWL_START = datetime(2024, 11, 5, 8, 0, 0, tzinfo=UTC)


@dataclass
class Response:
    """One fetched URL: the page (or bytes), its HTTP status and headers, and its answer-key record."""

    url: str
    site: str
    status: str
    content_type: str
    body: bytes
    record: Record
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x1f\x6f\x3a"))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    stream = b"BT /F1 18 Tf 72 760 Td (Afvalkalender 2024 - Gemeente Lindendam) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << "
            b"/Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def teaser(page: Page) -> Teaser:
    """A sidebar teaser: the page's headline and the first ten words of its article."""
    return Teaser(page.headline, page.url, " ".join(page.paragraphs[0].split()[:10]) + " …")


def build_crawl(docs: dict[str, Doc], originals: dict[str, Record]) -> list[Response]:
    rng = random.Random("crawl")
    pages: list[tuple[Page, Record, list[tuple[str, str]]]] = []
    day = date(2024, 10, 1)
    for lang in LANGS:
        for topic in TOPICS:
            if topic == "forum":
                continue
            doc = docs[f"{lang}/{topic}/{WARC_INDEX}"]
            site = SITES[WARC_SITE[lang][topic]]
            day += timedelta(days=1)
            headline = HEADLINES[lang][topic]
            section = SECTIONS[lang][topic]
            url = f"https://{site.host}/{slugify(section, 2)}/{day.year}/{day.month:02d}/{slugify(headline)}"
            meta: list[tuple[str, str]] = []
            headers: list[tuple[str, str]] = []
            category, note = doc.category, ""
            if (lang, topic) in TDM_META:
                meta = [("tdm-reservation", "1"), ("tdm-policy", f"https://{site.host}/tdm-policy.json")]
                category, note = "opt_out", '<meta name="tdm-reservation" content="1">'
            if (lang, topic) in TDM_HEADER:
                headers.append(("tdm-reservation", "1"))
                category, note = "opt_out", "HTTP header tdm-reservation: 1"
            if (lang, topic) in NOAI_HEADER:
                headers.append(("X-Robots-Tag", "noai, noimageai"))
                category, note = "opt_out", "HTTP header X-Robots-Tag: noai, noimageai"
            if (lang, topic) in NOINDEX_HEADER:
                headers.append(("X-Robots-Tag", "noindex"))
                note = "X-Robots-Tag: noindex is a search-engine directive, not a TDM opt-out: keep"
            if (lang, topic) in WRONG_HTML_LANG:
                note = f'html lang="{WRONG_HTML_LANG[(lang, topic)]}" is wrong: the article is {lang}'
            page = Page(
                site=site,
                url=url,
                kind="article",
                headline=headline,
                paragraphs=paragraphs(doc.text),
                author=rng.choice(AUTHORS[lang]),
                date=day.isoformat(),
                section=section,
                meta=meta,
                html_lang=WRONG_HTML_LANG.get((lang, topic)),
            )
            record = Record(
                CRAWL,
                doc.key,
                lang,
                category,
                text=doc.text,
                url=url,
                pii=doc.pii,
                decoys=doc.decoys,
                note=note,
            )
            pages.append((page, record, headers))

    # The same article under another site's chrome, and a news item republished as a web page.
    council = next(p for p, r, _ in pages if r.key == "de/council/5")
    municipal = SITES["lindenfeld"]
    dup_url = f"https://{municipal.host}/pressemitteilungen/{slugify(council.headline)}"
    dup_page = Page(
        municipal,
        dup_url,
        "article",
        council.headline,
        council.paragraphs,
        "",
        council.date,
        "Pressemitteilungen",
    )
    dup_record = Record(
        CRAWL,
        "de/council/5~other_chrome",
        "de",
        "near_duplicate",
        text=docs["de/council/5"].text,
        url=dup_url,
        duplicate_of="de/council/5",
        variant="other_chrome",
        jaccard=1.0,
        reason=SAME_AFTER_EXTRACTION,
        note="same article as de/council/5 under the municipal site's chrome; identical after extraction",
    )
    travel = docs["hu/travel/0"]
    repub_headline = REPUBLISHED_HEADLINE["hu"]
    repub_url = f"https://{SITES['dunaparti'].host}/utazas/2024/10/{slugify(repub_headline)}"
    repub_page = Page(
        SITES["dunaparti"],
        repub_url,
        "article",
        repub_headline,
        paragraphs(travel.text),
        rng.choice(AUTHORS["hu"]),
        "2024-10-28",
        "Utazás",
    )
    repub_record = Record(
        CRAWL,
        "hu/travel/0~web_page",
        "hu",
        "near_duplicate",
        text=travel.text,
        url=repub_url,
        duplicate_of="hu/travel/0",
        variant="web_page",
        jaccard=1.0,
        reason=SAME_AFTER_EXTRACTION,
        note=f"news item hu/travel/0 ({originals['hu/travel/0'].url}) republished as a web page",
    )
    pages += [(dup_page, dup_record, []), (repub_page, repub_record, [])]

    # Teasers: every page's sidebar lists other articles of its own site, so chrome differs per page.
    by_site: dict[str, list[Page]] = {}
    for page, record, _ in pages:
        if record.duplicate_of is None:
            by_site.setdefault(page.site.host, []).append(page)
    for page, _, _ in pages:
        siblings = [p for p in by_site.get(page.site.host, []) if p.url != page.url]
        start = rng.randrange(len(siblings)) if siblings else 0
        chosen = (siblings[start:] + siblings[:start])[:4]
        page.teasers = [teaser(p) for p in chosen]

    polder, gazette, rheinblick, lindendam = (
        SITES[n] for n in ("polderpost", "gazette", "rheinblick", "lindendam")
    )
    index_page = Page(polder, f"https://{polder.host}/regio/", "index", "Regio")
    index_page.teasers = [teaser(p) for p in by_site[polder.host]]
    wall_page = Page(gazette, f"https://{gazette.host}/news/2024/10/harbour-dredging-plan", "consent_wall")
    missing_page = Page(
        rheinblick, f"https://{rheinblick.host}/lokales/2023/05/alter-artikel-4711", "not_found"
    )
    missing_page.teasers = [teaser(p) for p in by_site[rheinblick.host][:3]]

    html = "text/html; charset=utf-8"
    responses = [
        Response(page.url, page.site.host, "200 OK", html, render(page).encode(), record, headers)
        for page, record, headers in pages
    ]
    specials = [
        (index_page, "200 OK", html, b"", "crawl/polderpost-index", "nl", "boilerplate_page",
         "section index: only headlines and teaser snippets, no article"),
        (wall_page, "200 OK", html, b"", "crawl/gazette-consent-wall", "en", "boilerplate_page",
         "consent wall: the article is loaded by script, the HTML holds only the cookie text"),
        (missing_page, "404 Not Found", html, b"", "crawl/rheinblick-404", "de", "http_error",
         "HTTP 404 with an HTML error page"),
        (Page(rheinblick, f"https://{rheinblick.host}/static/logo.png", "file"), "200 OK", "image/png",
         png_bytes(), "crawl/rheinblick-logo", None, "non_html", "image/png"),
        (Page(lindendam, f"https://{lindendam.host}/documenten/afvalkalender-2024.pdf", "file"), "200 OK",
         "application/pdf", pdf_bytes(), "crawl/lindendam-pdf", "nl", "non_html",
         "application/pdf (a one-page waste calendar)"),
    ]  # fmt: skip
    for page, status, content_type, body, key, lang, category, note in specials:
        reason = "input:unsupported_content_type" if category == "non_html" else ""
        record = Record(CRAWL, key, lang, category, url=page.url, note=note, reason=reason)
        responses.append(
            Response(page.url, page.site.host, status, content_type, body or render(page).encode(), record)
        )
    # Crawl order: site by site, as a polite crawler would fetch them.
    responses.sort(key=lambda r: (r.site, r.url))
    return responses


def record_id(kind: str, url: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{kind}:{url}')}>"


def write_crawl(path: Path, responses: list[Response]) -> None:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.0")
    info_id = record_id("warcinfo", "crawl.warc.gz")
    fields = (
        b"software: samples/generate.py (JAIF sample generator, warcio)\r\n"
        b"format: WARC File Format 1.0\r\n"
        b"conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
        b"isPartOf: jaif-embedded-sample\r\n"
        b"description: Invented pages on invented .example sites, written for the JAIF test "
        b"sample. Not a real crawl.\r\n"
        b"robots: classic\r\n"
        b"operator: JAIF project\r\n"
    )
    when = CRAWL_START
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(fields),
            length=len(fields),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Record-ID": info_id,
                "WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "WARC-Filename": "crawl.warc.gz",
            },
        )
    )
    for response in responses:
        when += timedelta(seconds=3)
        warc_date = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        path_part = "/" + response.url.split("/", 3)[3] if response.url.count("/") >= 3 else "/"
        host = response.url.split("/")[2]
        lang = response.record.lang or "en"
        response_id = record_id("response", response.url)
        request_headers = StatusAndHeaders(
            f"GET {path_part} HTTP/1.1",
            [
                ("Host", host),
                ("User-Agent", "JAIF-sample-crawler/1.0 (+https://jaif.example/crawler)"),
                ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
                ("Accept-Language", f"{lang},en;q=0.5"),
                ("Accept-Encoding", "identity"),
                ("Connection", "close"),
            ],
            is_http_request=True,
        )
        writer.write_record(
            writer.create_warc_record(
                response.url,
                "request",
                http_headers=request_headers,
                warc_headers_dict={
                    "WARC-Record-ID": record_id("request", response.url),
                    "WARC-Date": warc_date,
                    "WARC-Concurrent-To": response_id,
                    "WARC-Warcinfo-ID": info_id,
                },
            )
        )
        headers = [
            ("Date", format_datetime(when, usegmt=True)),
            ("Server", "nginx"),
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            ("Cache-Control", "max-age=300"),
            *response.extra_headers,
            ("Connection", "close"),
        ]
        writer.write_record(
            writer.create_warc_record(
                response.url,
                "response",
                payload=io.BytesIO(response.body),
                length=len(response.body),
                http_headers=StatusAndHeaders(response.status, headers, protocol="HTTP/1.1"),
                warc_headers_dict={
                    "WARC-Record-ID": response_id,
                    "WARC-Date": warc_date,
                    "WARC-IP-Address": SITE_IPS[next(k for k, s in SITES.items() if s.host == response.site)],
                    "WARC-Warcinfo-ID": info_id,
                },
            )
        )
    path.write_bytes(out.getvalue())
