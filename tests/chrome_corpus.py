"""A generated site whose chrome outweighs its short articles, as JSONL records with URLs.

Six short articles appear three times each on ``news.example``, every page under another selection
and order of the site's chrome (menu, teaser and footer lines); two pages are chrome alone; one
article of another site carries no chrome. Records are shuffled with a fixed seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SITE = "https://www.news.example"
MENU = ["Startseite", "Politik", "Wirtschaft", "Sport", "Kultur", "Wissen", "Reise", "Video", "Podcast"]
FOOTER = ["Impressum", "Datenschutz", "Kontakt", "Cookie-Einstellungen", "Abo kündigen", "Newsletter", "Jobs"]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(f"w{rng.randrange(4000)}" for _ in range(count))


def chrome_pool(rng: random.Random) -> tuple[list[str], list[str]]:
    """Header lines (menu and teaser headlines) and footer lines of the site."""
    teasers = [_words(rng, rng.randint(5, 10)).capitalize() for _ in range(12)]
    notices = [f"© 2026 News Verlag {_words(rng, 4)}", "Alle Rechte vorbehalten"]
    return MENU + teasers[:6], teasers[6:] + FOOTER + notices


def page(article: str, header: list[str], footer: list[str], rng: random.Random) -> str:
    """``article`` under a selection (70 %) of the chrome lines, each part in a new order."""
    top = [line for line in header if rng.random() < 0.7]
    bottom = [line for line in footer if rng.random() < 0.7]
    rng.shuffle(top)
    rng.shuffle(bottom)
    return "\n\n".join(part for part in ("\n".join(top), article, "\n".join(bottom)) if part)


def chrome_site_records(seed: int = 3) -> tuple[list[dict], dict[str, str]]:
    """The records (``id``, ``text``, ``url``) and the gold cluster of each record id."""
    rng = random.Random(seed)
    header, footer = chrome_pool(rng)
    records: list[tuple[str, str, str]] = []  # (id, text, url)
    gold: dict[str, str] = {}
    for a in range(6):
        article = "\n\n".join(_words(rng, rng.randint(18, 26)) + "." for _ in range(2))
        for copy in range(3):
            doc_id = f"article-{a}-copy-{copy}"
            gold[doc_id] = f"article-{a}"
            records.append((doc_id, page(article, header, footer, rng), f"{SITE}/artikel/{a}?v={copy}"))
    for index in range(2):
        doc_id = f"index-{index}"
        gold[doc_id] = doc_id
        records.append((doc_id, page("", header, footer, rng), f"{SITE}/rubrik/{index}"))
    gold["other-site"] = "other-site"
    records.append(("other-site", _words(rng, 60), "https://elsewhere.example/story"))
    rng.shuffle(records)
    return [{"id": i, "text": t, "url": u} for i, t, u in records], gold


def write_chrome_site(folder: Path, files: int = 2, seed: int = 3) -> dict[str, str]:
    """The records as ``files`` JSONL files in ``folder`` (dealt in turn); returns the gold clusters."""
    records, gold = chrome_site_records(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = [json.dumps(r) for r in records[f::files]]
        (folder / f"site-{f}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return gold
