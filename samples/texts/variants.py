"""Text used to turn a base document into a near duplicate of itself."""

from __future__ import annotations

# A syndicated copy: the same article with another outlet's header and footer line.
SYNDICATION: dict[str, tuple[str, str]] = {
    "de": (
        "Dieser Beitrag erschien zuerst im Lindenfelder Anzeiger.",
        "Übernahme mit freundlicher Genehmigung der Redaktion.",
    ),
    "hu": (
        "Ez a cikk először az Alföldi Naplóban jelent meg.",
        "A cikket a szerkesztőség engedélyével közöljük.",
    ),
    "nl": (
        "Dit artikel verscheen eerder in de Lindendamse Courant.",
        "Overgenomen met toestemming van de redactie.",
    ),
    "en": (
        "This article was first published in the Northshore Herald.",
        "Republished with the permission of the editors.",
    ),
}

# An updated version of an article: one sentence added at the end.
ADDED_SENTENCE: dict[str, str] = {
    "de": "Eine Sprecherin der Stadt kündigte an, dass weitere Informationen in den kommenden Tagen auf der Internetseite veröffentlicht werden.",
    "hu": "A város szóvivője jelezte, hogy a további részleteket a következő napokban teszik közzé a honlapon.",
    "nl": "Een woordvoerder van de gemeente liet weten dat er de komende dagen meer informatie op de website verschijnt.",
    "en": "A spokesperson for the council said that further details would be published on its website in the coming days.",
}

# A headline for an article that a second site republishes under its own title.
REPUBLISHED_HEADLINE: dict[str, str] = {
    "hu": "Nyári kirándulások a Balaton környékén és azon túl",
}
