"""Language identification with heliport: tag kept documents, filter those outside the configured set.

heliport (HeLI-OTS, models inside the wheel, no network) ranks ~220 languages by a HeLI score
(a mean negative log-probability: lower is better). The stage asks it for the two best languages
of a bounded prefix of the text and takes the *gap* between them as the evidence for the winner.

Score calibration
-----------------
``lang_score = 1 - exp(-2 * gap)``, where ``gap`` (>= 0) is the runner-up's HeLI score minus the
winner's (what heliport's ``identify_with_score`` calls confidence). It is monotone, maps a tie
to 0.0 and tends to 1.0 as the winner pulls away: gap 0.11 -> 0.2, 0.35 -> 0.5, 1.0 -> 0.86,
2.0 -> 0.98. Typical clean text (median gap of correctly tagged lines >= 40 characters): de 1.10
(0.89), hu 2.46 (0.99), nl 0.88 (0.83), en 1.79 (0.97); 2000-character documents are more stable
(1st percentile: de 0.79, hu 1.98, nl 0.34, en 1.55).

Default thresholds (measured)
-----------------------------
Measured on ``shared/data/lang``: gold lines de/hu/nl/en plus every confuser file (af, bar, da,
et, fi, fy, fy-nl-mixed, gsw, lb, nb, nds, sv), lines of at least 40 characters (9733 target,
2370 confuser lines). Thresholds were swept per language on the calibrated score, then set to
round values on the flat part of the curve (not fitted to single lines):

=============================  =========  =====================  ===========================
thresholds                     macro-F1   confuser lines tagged   per language F1
=============================  =========  =====================  ===========================
none (heliport's top-1 only)   0.9927     1.77 %                  de .994 hu .998 nl .985 en .993
de .2  hu .2  nl .25  en .2    0.9912     0.84 %                  de .992 hu .998 nl .982 en .992
=============================  =========  =====================  ===========================

(All lines, short ones included: macro-F1 0.9664, confusers tagged 1.17 %.) The remaining
confuser hits are Low Saxon in Dutch spelling (nds -> nl) and Frisian-Dutch code switching; the
remaining misses are mostly Belgian Dutch that heliport calls West Flemish (``vls``) and German
names/headlines it calls Bavarian or Swiss German. Folding those varieties into nl/de (accept the
target when it is runner-up within 0.1-0.3 of vls / bar, gsw, pfl, ksh) was measured and rejected:
macro-F1 +0.0004..0.001, confuser lines tagged 1.0-1.3 % instead of 0.84 %.

Two-word snippets (``lang/short``, informational) are hard: kept with the right tag de 80 %,
hu 93 %, nl 67 %, en 88 %; confuser snippets tagged as one of the four: af 4.5 %, others <= 1 %.

Speed: about 3,000 documents/s per process through the stage (documents of ~4,200 characters,
classified on their 2000-character prefix; one core). heliport's ``par_identify_with_score`` is
1.4x faster on two cores, but it applies heliport's own per-language cut-offs (hun: 0.40) and
datatrove already runs one task per core, so documents are classified one at a time.
"""

from __future__ import annotations

import math
import re
from functools import cache
from itertools import islice

import heliport
from datatrove.data import Document

from pipelines.stages.base import CurationStage
from schemas.document import LANG, LANG_SCORE, Status, set_fate

REASON_PREFIX = "lang"
PREFIX_CHARS = 2000  # classify at most this many characters, cut back to a whitespace
MIN_LETTERS = 10  # fewer letters than this (about two short words): too little text to identify
GAP_SCALE = 2.0  # lang_score = 1 - exp(-GAP_SCALE * gap)
DEFAULT_THRESHOLD = 0.2
DEFAULT_THRESHOLDS: dict[str, float] = {"de": 0.2, "hu": 0.2, "nl": 0.25, "en": 0.2}
LETTER_RE = re.compile(r"[^\W\d_]")
UNDETERMINED = frozenset({"und", "zxx"})

# ISO 639-3 (as heliport reports it) -> ISO 639-1 where a two-letter code exists.
ISO639_3_TO_1: dict[str, str] = {
    "abk": "ab", "afr": "af", "amh": "am", "ara": "ar", "asm": "as", "ayr": "ay", "aze": "az",
    "bak": "ba", "bel": "be", "ben": "bn", "bod": "bo", "bre": "br", "bul": "bg", "cat": "ca",
    "ces": "cs", "che": "ce", "chv": "cv", "cmn": "zh", "cor": "kw", "cos": "co", "cym": "cy",
    "dan": "da", "deu": "de", "div": "dv", "ell": "el", "eng": "en", "epo": "eo", "est": "et",
    "eus": "eu", "ewe": "ee", "fao": "fo", "fij": "fj", "fin": "fi", "fra": "fr", "fry": "fy",
    "gaz": "om", "gla": "gd", "gle": "ga", "glg": "gl", "glv": "gv", "grn": "gn", "guj": "gu",
    "hat": "ht", "heb": "he", "hin": "hi", "hmo": "ho", "hun": "hu", "hye": "hy", "ibo": "ig",
    "ido": "io", "iku": "iu", "ina": "ia", "isl": "is", "ita": "it", "jpn": "ja", "kal": "kl",
    "kan": "kn", "kat": "ka", "kaz": "kk", "khm": "km", "kir": "ky", "kmr": "ku", "kor": "ko",
    "lao": "lo", "lat": "la", "lav": "lv", "lin": "ln", "lit": "lt", "ltz": "lb", "lug": "lg",
    "mal": "ml", "mar": "mr", "mkd": "mk", "mlg": "mg", "mlt": "mt", "mon": "mn", "mri": "mi",
    "msa": "ms", "mya": "my", "nav": "nv", "nep": "ne", "nld": "nl", "nno": "nn", "nob": "nb",
    "oci": "oc", "ori": "or", "oss": "os", "pan": "pa", "pbt": "ps", "pes": "fa", "pol": "pl",
    "por": "pt", "que": "qu", "roh": "rm", "ron": "ro", "rus": "ru", "sag": "sg", "sin": "si",
    "slk": "sk", "slv": "sl", "sme": "se", "sna": "sn", "snd": "sd", "som": "so", "sot": "st",
    "spa": "es", "sqi": "sq", "srd": "sc", "swa": "sw", "swe": "sv", "tam": "ta", "tat": "tt",
    "tel": "te", "tgk": "tg", "tgl": "tl", "tha": "th", "tir": "ti", "tso": "ts", "tuk": "tk",
    "tur": "tr", "twi": "tw", "uig": "ug", "ukr": "uk", "urd": "ur", "uzn": "uz", "vie": "vi",
    "vol": "vo", "wln": "wa", "yid": "yi", "yor": "yo", "zul": "zu",
}  # fmt: skip


@cache
def identifier() -> heliport.Identifier:
    """heliport's model (~1.7 s, ~130 MB), loaded on first use and once per process."""
    return heliport.Identifier()


def to_iso639_1(code: str) -> str:
    """Two-letter code where one exists, else the code unchanged."""
    return ISO639_3_TO_1.get(code, code)


def calibrate(gap: float) -> float:
    """heliport's winner-to-runner-up gap as a score in [0, 1] (see the module docstring)."""
    return 1.0 - math.exp(-GAP_SCALE * max(gap, 0.0))


def text_prefix(text: str, limit: int = PREFIX_CHARS) -> str:
    """At most ``limit`` characters from the start, cut at the last whitespace when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(" "), head.rfind("\n"))
    return head[:cut] if cut > limit // 2 else head


def identify(text: str) -> tuple[str, float]:
    """(language code, calibrated score) of a text; ``("und", 0.0)`` when there is nothing to identify."""
    prefix = text_prefix(text)
    if len(list(islice(LETTER_RE.finditer(prefix), MIN_LETTERS))) < MIN_LETTERS:
        return "und", 0.0
    ranked = identifier().identify_topk_with_score(prefix, 2)
    code = ranked[0][0]
    if code in UNDETERMINED:
        return "und", 0.0
    gap = ranked[1][1] - ranked[0][1] if len(ranked) > 1 else math.inf
    return to_iso639_1(code), calibrate(gap)


class LanguageTagger(CurationStage):
    """Sets ``lang`` and ``lang_score``; filters documents outside ``languages`` or below their threshold.

    Reasons: ``lang:undetermined`` (fewer than ``MIN_LETTERS`` letters, or heliport says und/zxx;
    lang is set to ``"und"`` with score 0.0), ``lang:not_configured`` (identified, but not one of
    ``languages``; lang and lang_score stay set), ``lang:below_threshold`` (a configured language
    scoring below its threshold). Codes are ISO 639-1 where one exists, else heliport's ISO 639-3;
    configured codes may be given either way. ``thresholds`` override the measured defaults per
    language; a configured language without either uses ``DEFAULT_THRESHOLD``.
    """

    name = "language"

    def __init__(
        self,
        languages: list[str] = ["de", "hu", "nl", "en"],  # noqa: B006 (never mutated; the config's shape)
        thresholds: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.languages = frozenset(to_iso639_1(lang) for lang in languages)
        overrides = {to_iso639_1(lang): value for lang, value in (thresholds or {}).items()}
        self.thresholds = {**DEFAULT_THRESHOLDS, **overrides}

    def filter(self, doc: Document, rule: str) -> None:
        """Reasons are ``lang:<rule>`` (the ledger's vocabulary), though the stage kind is ``language``."""
        set_fate(doc, Status.FILTERED, f"{REASON_PREFIX}:{rule}")

    def threshold(self, lang: str) -> float:
        return self.thresholds.get(lang, DEFAULT_THRESHOLD)

    def process(self, doc: Document) -> None:
        lang, score = identify(doc.text)
        doc.metadata[LANG] = lang
        doc.metadata[LANG_SCORE] = score
        if lang == "und":
            self.filter(doc, "undetermined")
        elif lang not in self.languages:
            self.filter(doc, "not_configured")
        elif score < self.threshold(lang):
            self.filter(doc, "below_threshold")
