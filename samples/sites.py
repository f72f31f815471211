"""Invented web sites for the sample WARC: their chrome, and three page templates.

Three templates (``portal``, ``blog``, ``municipal``) are shared by eight sites in four languages, so
menus, cookie banners, sidebars and footers repeat across the pages of a site while the articles differ.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Site:
    host: str
    name: str
    lang: str
    template: str  # "portal" | "blog" | "municipal"
    tagline: str
    nav: tuple[str, ...]
    cookie_text: str
    cookie_buttons: tuple[str, ...]
    sidebar_heading: str
    footer_links: tuple[str, ...]
    footer_note: str
    search_label: str = ""
    byline_label: str = ""
    share_labels: tuple[str, ...] = ()
    newsletter: str = ""
    not_found: tuple[str, str] = ("", "")
    service_links: tuple[str, ...] = ()
    mega_nav: tuple[tuple[str, tuple[str, ...]], ...] = ()
    service_box: tuple[str, ...] = ()
    author_heading: str = ""
    author_bio: str = ""
    categories: tuple[str, ...] = ()
    comments_label: str = ""
    ad_label: str = ""
    skip_label: str = ""


@dataclass(frozen=True)
class Teaser:
    headline: str
    url: str
    snippet: str


@dataclass
class Page:
    """One HTML page: an article (or an index / error / consent page) on a site."""

    site: Site
    url: str
    kind: str  # "article" | "index" | "not_found" | "consent_wall" | "file" (bytes, not rendered)
    headline: str = ""
    paragraphs: list[str] = field(default_factory=list)
    author: str = ""
    date: str = ""  # ISO date
    section: str = ""
    meta: list[tuple[str, str]] = field(default_factory=list)  # extra <meta name=… content=…>
    html_lang: str | None = None  # overrides site.lang (a misconfigured CMS)
    teasers: list[Teaser] = field(default_factory=list)


SITES: dict[str, Site] = {
    "rheinblick": Site(
        host="rheinblick-nachrichten.example",
        name="Rheinblick Nachrichten",
        lang="de",
        template="portal",
        tagline="Ihre Zeitung für die Region",
        nav=("Startseite", "Lokales", "Politik", "Sport", "Kultur", "Reise", "Ratgeber", "Wetter"),
        cookie_text=(
            "Wir verwenden Cookies und ähnliche Technologien, um Ihnen ein optimales "
            "Nutzungserlebnis zu bieten. Weitere Informationen finden Sie in unserer "
            "Datenschutzerklärung."
        ),
        cookie_buttons=("Alle akzeptieren", "Nur notwendige", "Einstellungen"),
        sidebar_heading="Meistgelesen",
        footer_links=("Impressum", "Datenschutz", "AGB", "Barrierefreiheit", "Abo", "Mediadaten", "Kontakt"),
        footer_note="© 2024 Rheinblick Nachrichten. Alle Rechte vorbehalten.",
        search_label="Suche",
        ad_label="Anzeige",
        byline_label="Von",
        share_labels=("Teilen", "Drucken", "Merken"),
        newsletter="Jeden Morgen das Wichtigste aus der Region: Jetzt den Newsletter abonnieren!",
        not_found=(
            "Seite nicht gefunden",
            (
                "Die von Ihnen aufgerufene Seite existiert leider nicht mehr. Vielleicht finden "
                "Sie über die Suche, was Sie suchen."
            ),
        ),
    ),
    "lindenfeld": Site(
        host="stadt-lindenfeld.example",
        name="Stadt Lindenfeld",
        lang="de",
        template="municipal",
        tagline="Offizielles Stadtportal",
        nav=(),
        cookie_text="Diese Website verwendet ausschließlich technisch notwendige Cookies.",
        cookie_buttons=("Verstanden",),
        sidebar_heading="Aktuelles",
        footer_links=("Impressum", "Datenschutz", "Barrierefreiheitserklärung", "Sitemap"),
        footer_note="Stadt Lindenfeld · Marktplatz 1 · 51234 Lindenfeld",
        service_links=("Leichte Sprache", "Gebärdensprache", "Kontakt", "English"),
        skip_label="Zum Inhalt springen",
        mega_nav=(
            ("Rathaus & Politik", ("Bürgermeisterin", "Stadtrat", "Verwaltung", "Bekanntmachungen")),
            ("Bürgerservice", ("Bürgerbüro", "Abfall", "Formulare", "Fundbüro")),
            ("Leben in Lindenfeld", ("Kinder & Familie", "Schulen", "Senioren", "Vereine")),
            ("Freizeit & Kultur", ("Museum", "Bibliothek", "Freibad", "Veranstaltungen")),
        ),
        service_box=(
            "Bürgerbüro",
            "Marktplatz 1, 51234 Lindenfeld",
            "Mo–Fr 8–12 Uhr, Do 14–18 Uhr",
            "Telefon 0221 4710100",
            "buergerbuero@stadt-lindenfeld.example",
        ),
    ),
    "dunaparti": Site(
        host="dunaparti-hirek.example",
        name="Dunaparti Hírek",
        lang="hu",
        template="portal",
        tagline="Helyi hírek minden nap",
        nav=("Címlap", "Helyi hírek", "Közélet", "Sport", "Kultúra", "Utazás", "Életmód", "Időjárás"),
        cookie_text=(
            "Weboldalunk sütiket használ a jobb felhasználói élmény érdekében. Az Elfogadom "
            "gombra kattintva hozzájárul a sütik használatához."
        ),
        cookie_buttons=("Elfogadom", "Csak a szükségesek", "Beállítások"),
        sidebar_heading="Legolvasottabb",
        footer_links=("Impresszum", "Adatvédelem", "ÁSZF", "Médiaajánlat", "Kapcsolat"),
        footer_note="© 2024 Dunaparti Hírek. Minden jog fenntartva.",
        search_label="Keresés",
        ad_label="Hirdetés",
        byline_label="Írta:",
        share_labels=("Megosztás", "Nyomtatás", "Mentés"),
        newsletter="Iratkozzon fel hírlevelünkre, és minden reggel megkapja a legfontosabb helyi híreket!",
        not_found=("Az oldal nem található", "A keresett oldal nem létezik vagy megszűnt."),
    ),
    "konyhakert": Site(
        host="konyhakert-blog.example",
        name="Konyhakert Blog",
        lang="hu",
        template="blog",
        tagline="Főzés, kert és vidéki élet",
        nav=("Kezdőlap", "Receptek", "Kert", "Tesztek", "Rólam", "Kapcsolat"),
        cookie_text="Ez az oldal sütiket használ. Részletek az adatkezelési tájékoztatóban.",
        cookie_buttons=("Rendben",),
        sidebar_heading="Ezek is érdekelhetnek",
        footer_links=("Adatkezelés", "Impresszum"),
        footer_note="© 2024 Konyhakert Blog",
        byline_label="Szerző:",
        newsletter="Ne maradj le az új receptekről: iratkozz fel a hírlevélre!",
        author_heading="A szerzőről",
        author_bio=(
            "Vidéken élek, hétvégente a kertben vagy a konyhában találsz, és itt írok mindarról, ami bevált."
        ),
        categories=("Levesek", "Sütemények", "Zöldségek", "Tesztek", "Kertészkedés"),
        comments_label="hozzászólás",
    ),
    "polderpost": Site(
        host="polderpost.example",
        name="De Polderpost",
        lang="nl",
        template="portal",
        tagline="Nieuws uit de regio",
        nav=("Home", "Regio", "Politiek", "Sport", "Cultuur", "Reizen", "Wonen", "Weer"),
        cookie_text=(
            "Wij gebruiken cookies om onze website goed te laten werken en om het gebruik te "
            "analyseren. Lees meer in onze cookieverklaring."
        ),
        cookie_buttons=("Alles accepteren", "Alleen noodzakelijk", "Instellingen"),
        sidebar_heading="Meest gelezen",
        footer_links=("Colofon", "Privacy", "Voorwaarden", "Adverteren", "Contact"),
        footer_note="© 2024 De Polderpost. Alle rechten voorbehouden.",
        search_label="Zoeken",
        ad_label="Advertentie",
        byline_label="Door",
        share_labels=("Delen", "Printen", "Bewaren"),
        newsletter=(
            "Elke ochtend het belangrijkste nieuws uit de regio in je mailbox? Meld je aan voor "
            "de nieuwsbrief!"
        ),
        not_found=("Pagina niet gevonden", "De pagina die u zoekt bestaat niet meer."),
    ),
    "lindendam": Site(
        host="gemeente-lindendam.example",
        name="Gemeente Lindendam",
        lang="nl",
        template="municipal",
        tagline="Officiële website van de gemeente",
        nav=(),
        cookie_text="Deze website gebruikt alleen functionele cookies.",
        cookie_buttons=("Oké",),
        sidebar_heading="Nieuws",
        footer_links=("Privacyverklaring", "Toegankelijkheid", "Proclaimer", "Sitemap"),
        footer_note="Gemeente Lindendam · Raadhuisplein 1 · Lindendam",
        service_links=("Eenvoudige taal", "Contact", "English"),
        skip_label="Direct naar de inhoud",
        mega_nav=(
            ("Bestuur", ("Burgemeester", "Gemeenteraad", "Bekendmakingen")),
            ("Wonen en leven", ("Afval", "Parkeren", "Vergunningen")),
            ("Ondernemen", ("Bedrijventerreinen", "Markt")),
            ("Vrije tijd", ("Bibliotheek", "Zwembad", "Evenementen")),
        ),
        service_box=(
            "Gemeentehuis",
            "Raadhuisplein 1, Lindendam",
            "ma t/m vr 8.30–12.30 uur",
            "Telefoon 020-5550100",
            "info@lindendam.example",
        ),
    ),
    "gazette": Site(
        host="harbourton-gazette.example",
        name="The Harbourton Gazette",
        lang="en",
        template="portal",
        tagline="News from the estuary since 1881",
        nav=("Home", "News", "Politics", "Sport", "What's On", "Travel", "Property", "Weather"),
        cookie_text=(
            "We use cookies to give you the best experience on our website and to show you "
            "relevant adverts. You can change your preferences at any time."
        ),
        cookie_buttons=("Accept all", "Reject non-essential", "Manage settings"),
        sidebar_heading="Most read",
        footer_links=(
            "About us",
            "Contact",
            "Privacy notice",
            "Terms and conditions",
            "Advertise",
            "Subscriptions",
        ),
        footer_note="© 2024 Harbourton Gazette. All rights reserved.",
        search_label="Search",
        ad_label="Advertisement",
        byline_label="By",
        share_labels=("Share", "Print", "Save"),
        newsletter="Get the day's top local stories delivered to your inbox every morning.",
        not_found=("Page not found", "The page you were looking for has moved or no longer exists."),
    ),
    "greenfork": Site(
        host="greenfork-kitchen.example",
        name="Green Fork Kitchen",
        lang="en",
        template="blog",
        tagline="Home cooking, gardens and days out",
        nav=("Home", "Recipes", "Garden", "Travel", "Reviews", "About", "Contact"),
        cookie_text="This site uses cookies. By continuing to browse you agree to their use.",
        cookie_buttons=("Got it",),
        sidebar_heading="You might also like",
        footer_links=("Privacy", "Disclosure policy"),
        footer_note="© 2024 Green Fork Kitchen",
        byline_label="Posted by",
        newsletter="Get new recipes in your inbox every Friday.",
        author_heading="About the author",
        author_bio=(
            "I am a home cook and allotment keeper who writes about food, weekends away and the "
            "gadgets in my kitchen."
        ),
        categories=("Soups", "Baking", "Vegetables", "Days out", "Reviews"),
        comments_label="comments",
    ),
}

_MONTHS = {
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "en": "January February March April May June July August September October November December",
    "hu": "január február március április május június július augusztus szeptember október november december",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}


def human_date(iso: str, lang: str) -> str:
    year, month, day = (int(part) for part in iso.split("-"))
    name = _MONTHS[lang].split()[month - 1]
    if lang == "hu":
        return f"{year}. {name} {day}."
    if lang == "de":
        return f"{day}. {name} {year}"
    return f"{day} {name} {year}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _slug(label: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in label)
    return "-".join(part for part in keep.split("-") if part)


def _head(page: Page, description: str) -> list[str]:
    site = page.site
    title = f"{page.headline} | {site.name}" if page.headline else site.name
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{page.html_lang or site.lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="description" content="{_e(description)}">',
    ]
    if page.kind == "article":
        lines += [
            f'<meta property="og:title" content="{_e(page.headline)}">',
            '<meta property="og:type" content="article">',
            f'<meta property="og:site_name" content="{_e(site.name)}">',
            f'<meta name="author" content="{_e(page.author)}">',
            f'<meta property="article:published_time" content="{page.date}T07:30:00Z">',
            f'<link rel="canonical" href="{_e(page.url)}">',
        ]
    lines += [f'<meta name="{_e(name)}" content="{_e(content)}">' for name, content in page.meta]
    lines += [f'<link rel="stylesheet" href="/static/{site.template}.css">', "</head>"]
    return lines


def _cookie_banner(site: Site) -> list[str]:
    buttons = "".join(f'<button type="button">{_e(label)}</button>' for label in site.cookie_buttons)
    return [
        '<div id="cookie-consent" class="cookie-banner" role="dialog" aria-live="polite">',
        f"<p>{_e(site.cookie_text)}</p>",
        f'<div class="cookie-actions">{buttons}</div>',
        "</div>",
    ]


def _nav(site: Site) -> str:
    items = "".join(
        f'<li><a href="/{"" if i == 0 else _slug(label) + "/"}">{_e(label)}</a></li>'
        for i, label in enumerate(site.nav)
    )
    return f'<nav class="main-nav" aria-label="main"><ul>{items}</ul></nav>'


def _teaser_list(page: Page, tag: str = "ol") -> list[str]:
    lines = [f'<{tag} class="teasers">']
    for teaser in page.teasers:
        lines.append(
            f'<li><a href="{_e(teaser.url)}">{_e(teaser.headline)}</a><p class="teaser-text">'
            f"{_e(teaser.snippet)}</p></li>"
        )
    lines.append(f"</{tag}>")
    return lines


def _article_body(page: Page) -> list[str]:
    return [f"<p>{_e(paragraph)}</p>" for paragraph in page.paragraphs]


def _footer_links(site: Site) -> str:
    return " ".join(f'<a href="/{_slug(label)}">{_e(label)}</a>' for label in site.footer_links)


def _render_portal(page: Page) -> list[str]:
    site = page.site
    lines = ["<body>", *_cookie_banner(site)]
    lines += [
        '<header class="site-header">',
        f'<a class="logo" href="/">{_e(site.name)}</a> <span class="tagline">{_e(site.tagline)}</span>',
        _nav(site),
        (
            f'<form class="search" action="/suche" role="search"><input type="search" name="q" '
            f'placeholder="{_e(site.search_label)}"></form>'
        ),
        "</header>",
        f'<div class="newsletter-strip"><p>{_e(site.newsletter)}</p></div>',
        '<div class="layout">',
    ]
    if page.kind == "article":
        share = " ".join(f'<a href="#">{_e(label)}</a>' for label in site.share_labels)
        lines += [
            "<main>",
            '<article class="article">',
            (
                f'<nav class="breadcrumb"><a href="/">{_e(site.nav[0])}</a> › <a '
                f'href="/{_slug(page.section)}/">{_e(page.section)}</a></nav>'
            ),
            f"<h1>{_e(page.headline)}</h1>",
            f'<p class="byline">{_e(site.byline_label)} <span class="author">{_e(page.author)}</span> · '
            f'<time datetime="{page.date}">{human_date(page.date, site.lang)}</time></p>',
            '<div class="article-body">',
            *_article_body(page),
            "</div>",
            f'<div class="share">{share}</div>',
            "</article>",
            "</main>",
        ]
    elif page.kind == "index":
        lines += ["<main>", f"<h1>{_e(page.headline)}</h1>", *_teaser_list(page, "ul"), "</main>"]
    elif page.kind == "not_found":
        title, text = site.not_found
        lines += ["<main>", f"<h1>{_e(title)}</h1>", f"<p>{_e(text)}</p>", "</main>"]
    if page.kind != "index":
        lines += [
            '<aside class="sidebar">',
            f"<h2>{_e(site.sidebar_heading)}</h2>",
            *_teaser_list(page),
            f'<div class="ad-slot">{_e(site.ad_label)}</div>',
            "</aside>",
        ]
    lines += [
        "</div>",
        '<footer class="site-footer">',
        f"<nav>{_footer_links(site)}</nav>",
        f"<p>{_e(site.footer_note)}</p>",
        "</footer>",
        '<script src="/static/app.js" defer></script>',
        "</body>",
    ]
    return lines


def _render_blog(page: Page) -> list[str]:
    site = page.site
    nav = " ".join(f'<a href="/{_slug(label)}/">{_e(label)}</a>' for label in site.nav)
    categories = "".join(f'<li><a href="/category/{_slug(c)}/">{_e(c)}</a></li>' for c in site.categories)
    related = [f'<li><a href="{_e(t.url)}">{_e(t.headline)}</a></li>' for t in page.teasers]
    comments = 2 + len(page.headline) % 5
    return [
        '<body class="blog single-post">',
        f'<div class="topbar"><p>{_e(site.newsletter)}</p></div>',
        '<header class="blog-header">',
        f'<div class="brand"><a href="/">{_e(site.name)}</a><p class="tagline">{_e(site.tagline)}</p></div>',
        f'<nav class="menu">{nav}</nav>',
        "</header>",
        '<div class="wrap">',
        '<main id="content">',
        '<article class="post">',
        '<header class="entry-header">',
        f'<p class="breadcrumbs"><a href="/">{_e(site.nav[0])}</a> » {_e(page.section)}</p>',
        f'<h1 class="entry-title">{_e(page.headline)}</h1>',
        f'<div class="entry-meta">{_e(site.byline_label)} {_e(page.author)} · '
        f'<time datetime="{page.date}">{human_date(page.date, site.lang)}</time> · '
        f"{comments} {_e(site.comments_label)}</div>",
        "</header>",
        '<div class="entry-content">',
        *_article_body(page),
        "</div>",
        "</article>",
        '<section class="author-box">',
        f"<h3>{_e(site.author_heading)}</h3>",
        f"<p>{_e(site.author_bio)}</p>",
        "</section>",
        '<section class="related-posts">',
        f"<h3>{_e(site.sidebar_heading)}</h3>",
        "<ul>",
        *related,
        "</ul>",
        "</section>",
        "</main>",
        '<aside class="widgets">',
        f'<section class="widget"><ul class="categories">{categories}</ul></section>',
        (
            f'<section class="widget newsletter"><p>{_e(site.newsletter)}</p><form><input '
            f'type="email" name="email"><button type="submit">OK</button></form></section>'
        ),
        "</aside>",
        "</div>",
        f'<footer class="blog-footer"><p>{_e(site.footer_note)} · {_footer_links(site)}</p></footer>',
        (
            f'<div class="cookie-notice"><p>{_e(site.cookie_text)}</p><button type="button">'
            f"{_e(site.cookie_buttons[0])}</button></div>"
        ),
        "</body>",
    ]


def _render_municipal(page: Page) -> list[str]:
    site = page.site
    service_links = " | ".join(f'<a href="/{_slug(label)}">{_e(label)}</a>' for label in site.service_links)
    mega = []
    for group, entries in site.mega_nav:
        links = "".join(
            f'<li><a href="/{_slug(group)}/{_slug(entry)}">{_e(entry)}</a></li>' for entry in entries
        )
        mega.append(f'<li class="group"><span>{_e(group)}</span><ul>{links}</ul></li>')
    box_title, *box_lines = site.service_box
    news = [f'<li><a href="{_e(t.url)}">{_e(t.headline)}</a></li>' for t in page.teasers]
    return [
        "<body>",
        f'<a class="skip-link" href="#inhalt">{_e(site.skip_label)}</a>',
        '<header class="portal-header">',
        (
            f'<a href="/" class="coat-of-arms"><img src="/static/wappen.svg" '
            f'alt="{_e(site.name)}" width="48" height="56"> {_e(site.name)}</a>'
        ),
        f'<div class="service-links">{service_links}</div>',
        f'<nav class="mega-menu"><ul>{"".join(mega)}</ul></nav>',
        "</header>",
        '<div class="page">',
        '<main id="inhalt">',
        f'<p class="breadcrumb"><a href="/">{_e(site.name)}</a> / {_e(page.section)}</p>',
        f"<h1>{_e(page.headline)}</h1>",
        '<div class="content">',
        *_article_body(page),
        "</div>",
        (
            f'<p class="last-modified"><time datetime="{page.date}">{human_date(page.date, site.lang)}</time>'
            f"</p>"
        ),
        "</main>",
        '<aside class="service">',
        f"<h2>{_e(box_title)}</h2>",
        *[f"<p>{_e(line)}</p>" for line in box_lines],
        f"<h2>{_e(site.sidebar_heading)}</h2>",
        "<ul>",
        *news,
        "</ul>",
        "</aside>",
        "</div>",
        '<footer class="portal-footer">',
        f"<address>{_e(site.footer_note)}</address>",
        f"<nav>{_footer_links(site)}</nav>",
        "</footer>",
        *_cookie_banner(site),
        "</body>",
    ]


def _render_consent_wall(page: Page) -> list[str]:
    site = page.site
    buttons = "".join(f'<button type="button">{_e(label)}</button>' for label in site.cookie_buttons)
    return [
        '<body class="consent-required">',
        '<div class="consent-wall" role="dialog">',
        f"<h2>{_e(site.name)}</h2>",
        f"<p>{_e(site.cookie_text)}</p>",
        f"<div>{buttons}</div>",
        "</div>",
        '<div id="app"></div>',
        '<script src="/static/consent.js"></script>',
        "</body>",
    ]


def render(page: Page) -> str:
    """The complete HTML document for ``page``."""
    description = page.paragraphs[0][:150] if page.paragraphs else page.site.tagline
    if page.kind == "consent_wall":
        body = _render_consent_wall(page)
    elif page.site.template == "portal" or page.kind in ("index", "not_found"):
        body = _render_portal(page)
    elif page.site.template == "blog":
        body = _render_blog(page)
    else:
        body = _render_municipal(page)
    return "\n".join([*_head(page, description), *body, "</html>"]) + "\n"
