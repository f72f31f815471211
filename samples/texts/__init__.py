"""Text banks for the embedded sample, written for JAIF (no copied text, no real persons)."""

from __future__ import annotations

from . import de, en, hu, nl

BANKS: dict[str, dict[str, list[str]]] = {
    "de": de.TOPICS,
    "hu": hu.TOPICS,
    "nl": nl.TOPICS,
    "en": en.TOPICS,
}
HEADLINES: dict[str, dict[str, str]] = {
    "de": de.HEADLINES,
    "hu": hu.HEADLINES,
    "nl": nl.HEADLINES,
    "en": en.HEADLINES,
}
