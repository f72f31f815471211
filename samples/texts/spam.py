"""Spam and boilerplate documents that a quality filter should drop.

Each entry is ``(lang, kind, file, text)``; ``file`` says where the generator places it
("news" = news.jsonl.gz, "forum" = forum.parquet). ``kind`` names the defect.
"""

from __future__ import annotations

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
    "aliquip ex ea commodo consequat."
)

SPAM_DOCS: list[tuple[str, str, str, str]] = [
    (
        "de",
        "seo_keyword_stuffing",
        "news",
        "Kredit ohne Schufa sofort Kredit online Kredit günstig Kredit ohne Schufa Sofortkredit Kredit trotz Schufa "
        "Kredit für Selbstständige Kredit ohne Schufa sofort Auszahlung Kredit online beantragen günstiger Kredit "
        "Kredit Vergleich Kredit ohne Schufa Kredit sofort Kredit günstig online Kredit ohne Einkommensnachweis "
        "Kredit ohne Schufa seriös Kredit ohne Schufa sofort Kredit online Kredit günstig Kredit Kredit Kredit.\n\n"
        "Jetzt Kredit ohne Schufa beantragen! Kredit ohne Schufa sofort! Kredit günstig, Kredit online, Kredit ohne Schufa!",
    ),
    (
        "en",
        "seo_keyword_stuffing",
        "news",
        "cheap flights cheap flights london cheap flights deals best cheap flights book cheap flights now last minute "
        "cheap flights cheap flights to spain cheap holiday flights cheap flights cheap flights compare cheap flights "
        "cheapest flights online cheap airline tickets cheap flights today cheap flights tomorrow cheap flights deals "
        "cheap flights cheap flights cheap flights.\n\n"
        "Book cheap flights! Cheap flights london! Cheap flights deals, cheap flights now, cheapest cheap flights!",
    ),
    (
        "nl",
        "seo_keyword_stuffing",
        "news",
        "zonnepanelen kopen goedkope zonnepanelen zonnepanelen prijs beste zonnepanelen zonnepanelen installateur "
        "zonnepanelen offerte goedkope zonnepanelen kopen zonnepanelen aanbieding zonnepanelen subsidie zonnepanelen "
        "kopen zonnepanelen goedkoop zonnepanelen zonnepanelen zonnepanelen beste prijs zonnepanelen nu kopen.\n\n"
        "Zonnepanelen kopen? Goedkope zonnepanelen! Zonnepanelen offerte, zonnepanelen prijs, zonnepanelen aanbieding!",
    ),
    (
        "hu",
        "seo_keyword_stuffing",
        "forum",
        "olcsó szállás Balaton olcsó szállás Siófok olcsó szállás Balaton szállás akció szállás Balaton olcsón "
        "szállás Balaton last minute olcsó szállás Balatonfüred olcsó szállás Balaton olcsó szállás szállás szállás "
        "Balaton szállás foglalás olcsó szállás Balaton akció szállás Balaton olcsó olcsó olcsó.\n\n"
        "Olcsó szállás Balaton! Szállás akció! Olcsó szállás Siófok, olcsó szállás Balatonfüred, olcsó szállás most!",
    ),
    (
        "de",
        "menu_links",
        "news",
        "Startseite | Über uns | Leistungen | Referenzen | Kontakt\n"
        "Impressum | Datenschutz | AGB | Sitemap\n"
        "Nachrichten\nLokales\nSport\nKultur\nWetter\nAnzeigen\nAbo\nLogin\nRegistrieren\nNewsletter\n"
        "Facebook | Instagram | YouTube\n© 2024",
    ),
    (
        "en",
        "menu_links",
        "news",
        "Home | About us | Services | Blog | Shop | Contact\n"
        "Privacy Policy | Terms of Use | Cookie Settings | Accessibility\n"
        "Categories\nNews\nSport\nWhat's On\nProperty\nJobs\nMotors\nSign in\nSubscribe\n"
        "Follow us on Facebook | Instagram | YouTube",
    ),
    (
        "nl",
        "menu_links",
        "forum",
        "Home | Over ons | Diensten | Contact\n"
        "Nieuws\nAgenda\nFoto's\nLinks\nGastenboek\n"
        "Inloggen | Registreren\n"
        "Privacyverklaring | Disclaimer | Cookieverklaring",
    ),
    (
        "hu",
        "repeated_lines",
        "news",
        "\n".join(["Akciós ajánlat csak ma, kattintson ide a részletekért!"] * 20),
    ),
    (
        "nl",
        "repeated_lines",
        "forum",
        "\n".join(["Bekijk nu onze nieuwe collectie met gratis verzending!"] * 16),
    ),
    (
        "de",
        "cookie_banner",
        "news",
        "Wir verwenden Cookies und ähnliche Technologien, um Inhalte zu personalisieren, Funktionen für soziale Medien "
        "anzubieten und die Zugriffe auf unsere Website zu analysieren. Sie können Ihre Einwilligung jederzeit in den "
        "Einstellungen widerrufen.\n"
        "Alle akzeptieren\nNur notwendige Cookies\nEinstellungen\nDatenschutzerklärung | Impressum",
    ),
    (
        "en",
        "cookie_banner",
        "news",
        "This website uses cookies to improve your experience. We also use third-party cookies that help us analyse "
        "how you use this website. By clicking Accept all you consent to our use of cookies.\n"
        "Accept all\nReject all\nManage preferences\nCookie Policy | Privacy Policy",
    ),
    (
        "en",
        "lorem_ipsum",
        "news",
        _LOREM
        + "\n\n"
        + _LOREM
        + "\n\n"
        + "Curabitur pretium tincidunt lacus. Nulla gravida orci a odio. "
        + _LOREM,
    ),
    (
        "de",
        "lorem_ipsum",
        "news",
        "Überschrift hier einfügen\n\n"
        "Lorem ipsum dolor sit amet, hier kommt der Teaser hin. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
        "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.\n\n"
        "Hier steht ein Blindtext für die Vorschau der neuen Seite.\n\n"
        "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem "
        "aperiam eaque ipsa quae ab illo inventore veritatis.\n\n"
        "Bildunterschrift hier einfügen",
    ),
    (
        "en",
        "word_salad",
        "news",
        "Synergy blockchain paradigm leverage holistic scalable disruptive ecosystem omnichannel bandwidth deliverables "
        "stakeholder alignment cloud-native frictionless onboarding growth hacking thought leadership mindshare pivot "
        "agile sprint velocity dashboard visibility monetisation roadmap innovation funnel engagement metrics "
        "best-in-class turnkey solutions seamless integration next-generation platform empowerment.",
    ),
    (
        "de",
        "word_salad",
        "forum",
        "Premium Qualität Sonderangebot Rabatt versandkostenfrei Markenware Bestpreis Top-Deal Schnäppchen Gratisversand "
        "Neuware Originalverpackung Sofortkauf Lagerräumung Restposten Topseller Kundenliebling Preisknaller "
        "Tiefpreisgarantie Expressversand Wunschartikel Exklusivangebot Aktionspreis Sparpaket Vorteilsset.",
    ),
    ("de", "too_short", "forum", "Danke für den Hinweis!"),
    ("hu", "too_short", "forum", "Köszi, nagyon hasznos volt!"),
    ("nl", "too_short", "forum", "Helemaal mee eens."),
    ("en", "too_short", "news", "Great post, thanks for sharing."),
    (
        "en",
        "code_junk",
        "news",
        "function initSlider(){var e=document.querySelectorAll('.slide');for(var t=0;t<e.length;t++)"
        "{e[t].style.display='none'}e[0].style.display='block'}window.addEventListener('load',initSlider);\n"
        ".slide{position:absolute;top:0;left:0;width:100%}.slide img{max-width:100%;height:auto}\n"
        "var _q=_q||[];_q.push(['trackPageView']);_q.push(['enableLinkTracking']);",
    ),
    (
        "de",
        "all_caps_advert",
        "news",
        "JETZT ZUGREIFEN!!! NUR HEUTE 90% RABATT AUF ALLES!!!\n"
        "GRATIS VERSAND!!! SOLANGE DER VORRAT REICHT!!!\n"
        "KLICKEN SIE HIER UND SICHERN SIE SICH IHR GESCHENK!!!",
    ),
    (
        "en",
        "hashtags",
        "forum",
        "#sale #deal #discount #blackfriday #shopping #fashion #musthave #instagood #love #style #ootd #bargain "
        "#cheap #freeshipping #giveaway #followme #like4like #shopnow",
    ),
]
