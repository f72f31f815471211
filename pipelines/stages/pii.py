"""Personal data redaction: e-mail, IP, phone, IBAN and national-id numbers become typed placeholders.

Each configured type is replaced by ``<EMAIL>``, ``<IP>``, ``<PHONE>``, ``<IBAN>`` or
``<NATIONAL_ID>``; ``metadata["pii_counts"]`` counts replacements per configured type (zeros
included). Every detector runs whatever the configuration, so that a number that is part of an
IBAN is never taken for a phone number when only phones are redacted; where two findings overlap
the earlier type in :data:`PRIORITY` wins. Digits inside URLs (``http(s)://``, ``www.``) are not
read as phones, IBANs or national ids (article ids, tracking numbers); e-mails and IPs inside
URLs are.

What each detector takes, and what it leaves alone
--------------------------------------------------
- **email**: ``local@domain.tld`` with Unicode letters, the common local-part symbols ``._%+-``
  and a letter TLD; also the bracketed obfuscations ``name(at)example(dot)de`` / ``[at]`` /
  ``(punkt)`` / ``(pont)`` / ``(punt)``. Not ``icon@2x.png``-style asset names (image, font,
  style and script extensions are not TLDs).
- **ip**: IPv4 dotted quads (exactly four octets 0-255 without leading zeros, not part of a longer
  dotted number such as ``1.2.3.4.5``), and IPv6 validated by :mod:`ipaddress`. Addresses that
  name no host are left: unspecified (``0.0.0.0``, ``::``), loopback, multicast and reserved ranges
  (which hold the broadcast address and netmasks such as ``255.255.255.0``); a dotted quad right
  after a version or section word (``Version 1.2.3.4``, ``§ 1.2.3.4``) is left too; a four-part
  version number after a product name (``Firefox 115.0.2.1``) is taken for an address.
- **phone**: a fast search finds numbers that start like a phone number: international ``+CC`` /
  ``(+CC)`` / ``00CC`` (an optional ``(0)``), or national with a trunk ``0`` (German ``030 ...``,
  Hungarian ``06 ...``, Dutch ``020 ...`` / ``06-...``), groups separated by single spaces, ``-`` or
  ``/`` and parentheses around an area code; Hungarian numbers with the trunk and the area code
  together in parentheses, ``(06 72) 788 810`` / ``(06-1) 234-5678`` (a space or ``-`` inside, the
  subscriber number starting with 1-9); North American ``(415) 555-2671`` / ``415-555-2671`` /
  ``713.853.3102`` / ``1-876-499-0169``. A national or ``00`` number written without any separator
  needs a phone word (Tel., Telefon, phone, Fax, mobil, telefoon, telefon, ...) shortly before it.
  Never: dates (``06/12/2024``, ``2024-01-15``, ``06 12 2024``, ``(06 72) 12 2024``; dots are not
  separators of European numbers, so ``15.01.2024`` and ``1.299,00`` never start one), amounts
  followed by a currency or ``%``, numbers after a book, tax, court, bank, article, order or invoice
  number word (``ISBN``, ``Steuernummer``, ``Az.``, ``Konto``, ``Bestellnummer``, ...), national
  numbers whose first group is a lone ``0`` (ISBN-10 ``0-306-40615-2``) or made of digit pairs other
  than the ten digits of ``06 12 34 56 78`` (lottery numbers), more than six groups (tables of
  figures). A candidate that passes these rules is then checked against the numbering plans of
  Google's libphonenumber (:mod:`phonenumbers`, :func:`phone_is_dialable`): in international form it
  needs a length that its country allows; a national number must lie in a range that the plan of one
  of :data:`PHONE_REGIONS` assigns (the Hungarian plan for the bracketed form, the North American one
  for its forms). So years, postcodes and other numbers that no plan gives (too few or too many
  digits, unassigned area codes) are left.
- **iban**: country code, check digits and BBAN, compact or in groups separated by single
  spaces, of the exact length that the ISO 13616 registry gives the country (DE 22, NL 18, HU 28,
  ...; :data:`IBAN_LENGTHS`, read from python-stdnum's copy of the registry) and accepted by
  python-stdnum (:func:`iban_is_valid`: the country's BBAN format, the mod-97 check, national check
  digits where it knows them).
- **national_id**: only the first number after a keyword (starting within :data:`ID_WINDOW`
  characters of it, not part of a longer number) and only with a valid check digit: Dutch BSN
  (9 digits, python-stdnum's 11-check; keywords BSN, burgerservicenummer, sofinummer), Hungarian TAJ
  (9 digits, CDV: weights 3,7,3,7,... on the first eight digits, sum mod 10; our own check, as
  python-stdnum has none; keywords TAJ, tajszám, társadalombiztosítási azonosító jel), German
  Steuer-ID (11 digits, python-stdnum's IdNr check: ISO 7064 MOD 11,10 and exactly one digit of the
  first ten two or three times, and not three times in a row; keywords Steuer-ID,
  Steueridentifikationsnummer, Identifikationsnummer, IdNr).

Speed
-----
Each pattern is tried only where it can match, found by literal searches in the text or in its
character classes (one byte per character, :func:`_char_classes`), so a document without findings
costs a few fast scans. What the detectors find on real text, and how fast, is measured by
``benchmarks/quality_and_pii.py``.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
import regex
from datatrove.data import Document
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult
from stdnum import iban as stdnum_iban
from stdnum import numdb
from stdnum.de import idnr
from stdnum.nl import bsn

from pipelines.stages.base import CurationStage
from schemas.config import PII_TYPES
from schemas.document import PII_COUNTS

PLACEHOLDERS = {
    "email": "<EMAIL>",
    "ip": "<IP>",
    "phone": "<PHONE>",
    "iban": "<IBAN>",
    "national_id": "<NATIONAL_ID>",
}
PRIORITY = ("email", "iban", "national_id", "ip", "phone")  # who wins when two findings overlap
URL_BLIND = frozenset({"phone", "iban", "national_id"})  # types never looked for inside a URL
ID_WINDOW = 50  # characters after a national-id keyword in which its number must start
CONTEXT_WINDOW = 25  # characters before a number searched for a phone / version / ISBN word

_SP = "[ \u00a0\u202f]"  # a space as it appears between digit groups (before or after normalisation)

# ---------------------------------------------------------------- e-mail
_ASSET_EXTENSIONS = "png|jpe?g|gif|svg|webp|avif|bmp|ico|tiff?|css|js|json|pdf|mp[34]|webm|woff2?|ttf|eot"
_AT = r"(?:@|\s?[\[({]\s?(?i:at)\s?[\])}]\s?)"
_DOT = r"(?:\.|\s?[\[({]\s?(?i:dot|punkt|pont|punt)\s?[\])}]\s?)"
_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?"
_LOCAL = r"[\p{L}\p{N}_%+.-]"  # a character of a local part (the dot only between others)
_EMAIL = regex.compile(
    rf"(?<!{_LOCAL})(?>[\p{{L}}\p{{N}}_%+-]+(?:\.[\p{{L}}\p{{N}}_%+-]+)*){_AT}(?:{_LABEL}{_DOT})+"
    rf"(?!(?i:{_ASSET_EXTENSIONS})\b)(?:\p{{L}}{{2,63}}|xn--[a-z0-9-]{{2,59}})(?![\p{{L}}\p{{N}}_-])"
)
_AT_WORD = re.compile(r"[\[({]\s?at\s?[\])}]", re.IGNORECASE)
# Read backwards from where an "@" or a bracketed "at" begins: the local part before it. An _EMAIL
# match can only start where this run starts (its lookbehind), so each "at" gives one place to try.
_LOCAL_RUN_BEFORE = regex.compile(rf"(?r){_LOCAL}+")

# ---------------------------------------------------------------- IP
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # ASCII digits: ipaddress reads only those
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w-]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![\w:])"
)
# The first dot of every dotted quad; it starts with a literal, so re looks for it fast (a pattern that
# starts with a lookbehind or a character class is tried at every position).
_IPV4_HINT = re.compile(r"\.(?<=\d\.)(?=\d{1,3}\.\d{1,3}\.\d)")
_VERSION_WORD = re.compile(
    r"(?i)(?:\bv|version|\bver\.?|\brev\.?|release|build|§|\bnr\.?|section|kapitel|abschnitt)\s*$"
)

# ---------------------------------------------------------------- phone
_PHONE = re.compile(
    rf"""
    (?<![\w+(/.,-])(?<!\d{_SP})                   # not glued to a word, a number or a separator
    (?P<prefix>\+|\(\+|00(?=[1-9])|\(0(?=[1-9])|0(?=[1-9]))
    \d{{1,5}}\)?                                   # country code, or trunk 0 + area code
    (?:(?:{_SP}?[-/]{_SP}?|{_SP})?(?:\(0\)|\(\d{{1,5}}\)|\d{{1,8}}))*+
    (?![\w]|[.,]\d)
    """,
    re.VERBOSE,
)
_NANP = re.compile(
    rf"(?<![\w+(/.,-])(?:1[-. ])?(?:\([2-9]\d\d\){_SP}?[2-9]\d\d-|[2-9]\d\d([-.])[2-9]\d\d\1)\d{{4}}"
    r"(?![\w]|[.,-]?\d)"
)
# Hungarian trunk prefix and area code in one pair of parentheses, "(06 72) 788 810", "(06-1) 234-5678".
# _PHONE reads only "(06 72" of these (too few digits: never a phone), and a _PHONE match starts wherever
# a _PHONE_HU match does (same lookbehinds, and a "(" in the text is never inside an earlier _PHONE
# match unless "(0)" or "(030)"-like); so _PHONE_HU is tried only at the _PHONE matches that start with
# "(06" and are not phones. The subscriber digits are counted in _is_hungarian_phone.
_PHONE_HU = re.compile(
    rf"""
    (?<![\w+(/.,-])(?<!\d{_SP})                   # as _PHONE: not glued to a word, a number or a separator
    \(06(?:{_SP}|-)(?P<area>1|[2-9]\d)\){_SP}?
    (?P<subscriber>[1-9]\d*+(?:(?:{_SP}?[-/]{_SP}?|{_SP})\d++)*+)
    (?![\w]|[.,]\d)
    """,
    re.VERBOSE,
)
_DAY_AND_YEAR = re.compile(rf"\d{{1,2}}(?:{_SP}?[-/]{_SP}?|{_SP})(?:19|20)\d\d")
# Where a _PHONE match can start with a trunk or 00 prefix: its lookbehinds and prefix, but the "0"
# first (a literal), so that re skips fast to the candidates. "+" and "(" are found as characters.
_ZERO_START = re.compile(rf"0(?<![\w+(/.,-]0)(?<!\d{_SP}0)(?=0?[1-9])")
# The separator before the last four digits of every _NANP match; tried only where the character
# classes (see _char_classes) read "000-0000" or "000.0000".
_NANP_HINT = re.compile(r"[-.](?<=[2-9]\d\d[-.])(?=\d{4})")
_DATE_LIKE = re.compile(
    r"\b\d{1,2}([-/])\d{1,2}\1(?:\d{4}|\d{2})\b"  # 06/12/2024, 06-12-24
    r"|\b(?:19|20)\d\d-\d{1,2}-\d{1,2}\b"  # 2024-01-15
    r"|\b(?:0?[1-9]|1[0-2])/(?:19|20)\d\d\b"  # 06/2024
    r"|^\d{1,2} \d{1,2} (?:19|20)\d\d$"  # 06 12 2024
)
_AMOUNT_AFTER = re.compile(r"(?i)\s?(?:%|€|\$|£|EUR\b|Euro|USD\b|HUF\b|Ft\b|forint|Prozent|procent)")
_NOT_PHONE_WORD = re.compile(  # numbers that are not phones: book, tax, court, bank, order, invoice numbers
    r"(?i)(?:isbn|issn|\bean\b|gtin|steuer-?\s?(?:nr|nummer)|st\.-?nr|aktenzeichen|\baz\.|konto|\bkto|\bblz|"
    r"artikel|\bart\.-?nr|bestell|kunden|rechnung|auftrag|\border\s?(?:no|number|#)|invoice)[^\d\n]{0,15}$"
)
_PHONE_WORD = re.compile(
    r"(?i)(?:\btel\b|telef|teleph|phone|\bfon\b|\bfax\b|mobil|mobiel|handy|\bcell|\bruf|\bbel\b|bellen|hív|\bgsm\b)"
    r"[^\d\n]{0,20}$"
)
PHONE_MAX_GROUPS = 6
# Countries whose national numbering plans a number written with a trunk prefix (``030 ...``, ``06 ...``)
# is read in: those where German, Hungarian, Dutch and English are spoken in Europe. A number is a phone
# when one of them assigns it, whatever the document's language: a German number in a Hungarian text is
# as personal as in a German one. North American ``(415) 555-2671`` is read in the US plan (all of +1),
# the Hungarian ``(06 72) 788 810`` in the Hungarian one.
PHONE_REGIONS = ("DE", "AT", "CH", "LI", "LU", "BE", "NL", "HU", "GB", "IE")
NANP_REGION = "US"
HUNGARY = "HU"
_PLAIN_SPACES = str.maketrans("\u00a0\u202f", "  ")
_INTERNATIONAL_PREFIX = re.compile(r"\(?(?:\+|00)")  # how a _PHONE match in international form starts


# ---------------------------------------------------------------- IBAN
def _iban_lengths() -> dict[str, int]:
    """IBAN length per country (country code, check digits, BBAN) from python-stdnum's copy of the
    ISO 13616 registry, whose BBAN formats are fixed-length parts such as ``8!n10!n``."""
    registry = numdb.get("iban")
    lengths = {}
    for country in map("".join, itertools.product(string.ascii_uppercase, repeat=2)):
        bban = registry.info(country)[0][1].get("bban")
        if bban:
            lengths[country] = 4 + sum(map(int, re.findall(r"(\d+)!", bban)))
    return lengths


IBAN_LENGTHS = _iban_lengths()
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})\d\d(?=[ \u00a0]?[A-Z0-9])")

# ---------------------------------------------------------------- national ids
_ID_WORD = re.compile(  # one pass over the text for every keyword; the group names the id
    r"(?i)\b(?=[bcsti])(?:(?P<bsn>bsn|burgerservicenummer|sofi-?\s?nummer|citizen service number)"
    r"|(?P<taj>taj|társadalombiztosítási azonosító jel)"
    r"|(?P<steuer_id>steuer-?\s?id|steuer-?identifikationsnummer|identifikationsnummer|idnr|tax id))"
)

# Lower-case literals, one of which every _ID_WORD match contains; texts with characters that re's
# case-insensitive matching folds differently from str.lower (dotless i, long s, dotted capital I)
# are always searched with _ID_WORD itself.
_ID_WORD_HINTS = (
    "bsn",
    "burgerservicenummer",
    "sofi",
    "citizen service number",
    "taj",
    "társadalombiztosítási azonosító jel",
    "steuer",
    "identifikationsnummer",
    "idnr",
    "tax id",
)
_FOLDS_UNLIKE_LOWER = ("ı", "ſ", "İ")


def _may_name_an_id(text: str) -> bool:
    if any(c in text for c in _FOLDS_UNLIKE_LOWER):
        return True
    lower = text.lower()
    return any(hint in lower for hint in _ID_WORD_HINTS)


def _digit_run(length: int) -> re.Pattern[str]:
    """``length`` digits, each pair optionally split by one space, dot, hyphen or slash, standing alone."""
    return re.compile(rf"(?<![\w.,-])\d(?:[ .\-/]?\d){{{length - 1}}}(?![\w]|[ .\-/]?\d)")


_DIGIT = re.compile(r"\d")
_NINE_DIGITS = _digit_run(9)
_ELEVEN_DIGITS = _digit_run(11)
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")

# ---------------------------------------------------------------- character classes
# The text as one byte per character, in which cheap literal searches rule detectors out or find where
# their patterns can start (see _char_classes). Non-ASCII characters are read by the first byte of their
# UTF-8 encoding only. A first byte that some decimal digit (``\d``: Arabic-Indic, Devanagari, fullwidth,
# ... digits) has too reads as a digit, and so does every first byte of a four-byte character (planes
# 1-16, which hold many digit sets); tests/test_stage_pii_prefilters.py checks this list against every
# character.
_DIGIT_LEAD_BYTES = frozenset((0xD9, 0xDB, 0xDF, 0xE0, 0xE1, 0xEA, 0xEF, *range(0xF0, 0x100)))


def _byte_class(byte: int) -> int:
    if 0x30 <= byte <= 0x39 or byte in _DIGIT_LEAD_BYTES:
        return ord("0")  # an ASCII digit, or a character that may be a digit of another script
    if 0x41 <= byte <= 0x5A:
        return ord("A")
    if 0x61 <= byte <= 0x7A:
        return ord("a")
    return byte if byte < 0x80 else ord("u")  # other ASCII stays; "u": other non-ASCII character


_BYTE_CLASSES = bytes(map(_byte_class, range(256)))
_UTF8_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))
_ID_NUMBER_HINT = re.compile(rb"0(?:[ .\-/]?0){8}")  # in the classes of every _NINE_DIGITS match


def _char_classes(text: str) -> bytes:
    """One byte per character of ``text``, at the same index: ``0`` for a digit (or a non-ASCII character
    that may be one), ``A`` for an ASCII capital, ``a`` for an ASCII small letter, ``u`` for another
    non-ASCII character; other ASCII characters stand for themselves."""
    encoded = text.encode("utf-8", "surrogatepass")  # lone surrogates: three bytes, one of them first
    return encoded.translate(_BYTE_CLASSES, _UTF8_CONTINUATION_BYTES)


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    type: str


# ---------------------------------------------------------------- validators
def iban_is_valid(iban: str) -> bool:
    """An IBAN (without spaces) that python-stdnum accepts: the country's registry length and BBAN
    format (``4!a10!n``: four letters, ten digits for NL), the ISO 7064 mod-97 check digits, and the
    national check digits python-stdnum knows (Belgium, Spain, Montenegro, Norway)."""
    return len(iban) == IBAN_LENGTHS.get(iban[:2]) and stdnum_iban.is_valid(iban)


def bsn_is_valid(digits: str) -> bool:
    """Dutch BSN (nine digits): python-stdnum's 11-check."""
    return len(digits) == 9 and bsn.is_valid(digits)


def taj_is_valid(digits: str) -> bool:
    """Hungarian TAJ CDV: weights 3, 7, 3, 7, ... on the first eight digits; sum mod 10 is the ninth.
    Our own: python-stdnum has no TAJ (its Hungarian module is the company VAT number, ANUM)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 == 0 else 7) for i, d in enumerate(digits[:8]))
    return total % 10 == int(digits[8])


def steuer_id_is_valid(digits: str) -> bool:
    """German Steuer-ID (IdNr): python-stdnum's check (11 digits, no leading 0, exactly one of the first
    ten digits twice or three times, ISO 7064 MOD 11,10 check digit), and the rule it leaves out: a digit
    that occurs three times does not stand three times in a row."""
    if not idnr.is_valid(digits) or len(digits) != 11:
        return False
    return not any(digits[i] == digits[i + 1] == digits[i + 2] for i in range(8))


def phone_number_readings(number: str, regions: Sequence[str]) -> Iterator[PhoneNumber]:
    """How phonenumbers reads a candidate: once in international form (``+CC``, ``(+CC``, ``00CC``; a
    ``(0)`` after the country code is read as the trunk prefix it is), otherwise once as a national
    number of each region in turn, lazily. phonenumbers reads only plain spaces between digit groups."""
    number = number.translate(_PLAIN_SPACES)
    if international := _INTERNATIONAL_PREFIX.match(number):
        number, regions = "+" + number[international.end() :], (None,)
    for region in regions:
        try:
            yield phonenumbers.parse(number, region)
        except NumberParseException:
            continue


def phone_is_dialable(number: str, regions: Sequence[str] = PHONE_REGIONS) -> bool:
    """Whether a phone-shaped candidate is a phone number. In international form the writer names the
    country: the number needs a length that country's plan allows (``is_possible_number``, not only a
    local number); ranges the plan has not assigned pass, such as those kept for fiction (``+44 1632
    960...``). A national number must be in a range that the plan of one of ``regions`` assigns
    (``is_valid_number``), which tells phone numbers from other numbers of the same shape."""
    readings = phone_number_readings(number, regions)
    if _INTERNATIONAL_PREFIX.match(number):
        possible = ValidationResult.IS_POSSIBLE
        return any(phonenumbers.is_possible_number_with_reason(n) == possible for n in readings)
    return any(map(phonenumbers.is_valid_number, readings))


# ---------------------------------------------------------------- detectors
def _occurrences(classes: bytes, what: bytes) -> Iterator[int]:
    i = classes.find(what)
    while i >= 0:
        yield i
        i = classes.find(what, i + 1)


def _email_anchors(text: str, classes: bytes) -> list[int]:
    """Where the local part of an e-mail can end: at every "@" and before every bracketed "at"."""
    anchors = list(_occurrences(classes, b"@"))
    for bracket in (b"(", b"[", b"{"):
        for i in _occurrences(classes, bracket):
            if _AT_WORD.match(text, i):
                anchors.append(i - 1 if i and text[i - 1].isspace() else i)
    return anchors


def _find_emails(text: str, classes: bytes) -> Iterator[tuple[int, int]]:
    """``_EMAIL.finditer(text)`` where ``text`` has an "@" or a bracketed "at", trying the pattern only
    at the start of the local part before each of them (where every match starts)."""
    runs = (_LOCAL_RUN_BEFORE.match(text, 0, anchor) for anchor in _email_anchors(text, classes))
    end = 0
    for start in sorted({run.start() for run in runs if run}):
        if start >= end and (m := _EMAIL.match(text, start)):
            end = m.end()
            yield m.span()


def find_emails(text: str) -> Iterator[tuple[int, int]]:
    return _find_emails(text, _char_classes(text))


def _names_a_host(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (address.is_unspecified or address.is_loopback or address.is_multicast or address.is_reserved)


def _ipv4_matches(text: str) -> Iterator[re.Match[str]]:
    """``_IPV4.finditer(text)``, trying the pattern only one to three characters before the first dot of
    something that looks like a dotted quad (where every match starts)."""
    dots = [m.start() for m in _IPV4_HINT.finditer(text)]
    end = 0
    for start in sorted({dot - n for dot in dots for n in (1, 2, 3) if dot >= n}):
        if start >= end and (m := _IPV4.match(text, start)):
            end = m.end()
            yield m


def _may_hold_ipv6(classes: bytes) -> bool:
    """Whether the text has "::" or at least seven colons (found colon by colon: faster than ``in``)."""
    for n, i in enumerate(_occurrences(classes, b":"), start=1):
        if n >= 7 or classes[i + 1 : i + 2] == b":":
            return True
    return False


def _find_ips(text: str, classes: bytes) -> Iterator[tuple[int, int]]:
    for m in _ipv4_matches(text):
        before = text[max(0, m.start() - CONTEXT_WINDOW) : m.start()]
        try:
            address = ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        if _names_a_host(address) and not _VERSION_WORD.search(before):
            yield m.span()
    if _may_hold_ipv6(classes):
        for m in _IPV6.finditer(text):
            candidate = m.group()
            try:
                address = ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            if _names_a_host(address) and sum(c != ":" for c in candidate) >= 4:
                yield m.span()


def find_ips(text: str) -> Iterator[tuple[int, int]]:
    return _find_ips(text, _char_classes(text))


def _is_phone(text: str, m: re.Match[str], regions: Sequence[str]) -> bool:
    """The context and shape rules of a phone candidate, then :func:`phone_is_dialable`."""
    number = m.group()
    before = text[max(0, m.start() - CONTEXT_WINDOW) : m.start()]
    after_phone_word = bool(_PHONE_WORD.search(before))
    if _DATE_LIKE.search(number) or _AMOUNT_AFTER.match(text, m.end()):
        return False
    if not after_phone_word and _NOT_PHONE_WORD.search(before):
        return False
    groups = re.findall(r"\d+", number.replace("(0)", ""))
    if len(groups) > PHONE_MAX_GROUPS:
        return False
    if len(groups) == 1 and number[0] != "+" and not after_phone_word:
        return False  # no separator at all: a phone only after a phone word, or as +CC...
    if not _INTERNATIONAL_PREFIX.match(number):
        if max(map(len, groups)) <= 2 and len("".join(groups)) != 10:
            return False  # pairs of digits (lottery numbers, scores): only the ten digits of 06 12 34 56 78
        if len(groups[0]) < 2:
            return False  # a lone first digit: ISBN-10 "0-306-40615-2"
    return phone_is_dialable(number, regions)


def _phone_matches(text: str, classes: bytes | None = None) -> Iterator[re.Match[str]]:
    """``_PHONE.finditer(text)``, trying the pattern only where a match can start (much faster): at each
    "+" and "(", and at each "0" that _ZERO_START finds."""
    if classes is None:
        classes = _char_classes(text)
    starts = [m.start() for m in _ZERO_START.finditer(text)]
    starts += _occurrences(classes, b"+")
    starts += _occurrences(classes, b"(")
    end = 0
    for start in sorted(starts):
        if start >= end and (m := _PHONE.match(text, start)):
            end = m.end()
            yield m


def _is_hungarian_phone(text: str, m: re.Match[str]) -> bool:
    return not _DAY_AND_YEAR.fullmatch(m["subscriber"]) and _is_phone(text, m, (HUNGARY,))


def _overlaps_any(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


def _nanp_matches(text: str, classes: bytes) -> Iterator[re.Match[str]]:
    """``_NANP.finditer(text)``, trying the pattern only seven to eleven characters before a separator
    that _NANP_HINT takes (where every match starts: ``(415) 555-``, ``1-415-555-``, ...)."""
    separators = [
        i + 3
        for digits in (b"000-0000", b"000.0000")
        for i in _occurrences(classes, digits)
        if _NANP_HINT.match(text, i + 3)
    ]
    end = 0
    for start in sorted({sep - n for sep in separators for n in range(7, 12) if sep >= n}):
        if start >= end and (m := _NANP.match(text, start)):
            end = m.end()
            yield m


def _find_phones(text: str, classes: bytes) -> Iterator[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    bracketed: list[int] = []  # where a Hungarian "(06 72) 788 810" can start
    for m in _phone_matches(text, classes):
        if _is_phone(text, m, PHONE_REGIONS):
            found.append(m.span())
            yield m.span()
        elif text.startswith("(06", m.start()):
            bracketed.append(m.start())
    for m in _nanp_matches(text, classes):
        if not _AMOUNT_AFTER.match(text, m.end()) and phone_is_dialable(m.group(), (NANP_REGION,)):
            found.append(m.span())
            yield m.span()
    for start in bracketed:
        m = _PHONE_HU.match(text, start)
        if m and _is_hungarian_phone(text, m) and not _overlaps_any(m.span(), found):
            yield m.span()


def find_phones(text: str) -> Iterator[tuple[int, int]]:
    return _find_phones(text, _char_classes(text))


def _iban_end(text: str, start: int) -> int | None:
    """Where the IBAN starting at ``start`` ends (its registry length reached at a group boundary)."""
    length = IBAN_LENGTHS.get(text[start : start + 2])
    if length is None:
        return None
    chars: list[str] = []
    i = start
    while i < len(text) and len(chars) < length:
        c = text[i]
        if c.isascii() and c.isalnum() and (c.isdigit() or c.isupper()):
            chars.append(c)
        elif not (c in " \u00a0" and chars and text[i - 1] not in " \u00a0"):
            return None
        i += 1
    if len(chars) < length or (i < len(text) and text[i].isalnum()):
        return None
    return i if iban_is_valid("".join(chars)) else None


def _find_ibans(text: str, classes: bytes) -> Iterator[tuple[int, int]]:
    # Every _IBAN_START match starts at two ASCII capitals and two digits ("AA00" in the classes); no
    # two matches overlap, so trying each such place is finditer.
    for start in _occurrences(classes, b"AA00"):
        if _IBAN_START.match(text, start) and (end := _iban_end(text, start)) is not None:
            yield start, end


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    return _find_ibans(text, _char_classes(text))


_NATIONAL_IDS: dict[str, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    "bsn": (_NINE_DIGITS, bsn_is_valid),
    "taj": (_NINE_DIGITS, taj_is_valid),
    "steuer_id": (_ELEVEN_DIGITS, steuer_id_is_valid),
}


def _ascii_digits(number: str) -> str:
    """The digits of ``number`` as ASCII digits (python-stdnum reads only those; ``١٢٣`` is ``123``)."""
    return "".join(str(int(d)) for d in _DIGIT.findall(number))


def _find_national_ids(text: str, classes: bytes) -> Iterator[tuple[int, int]]:
    if not _ID_NUMBER_HINT.search(classes) or not _may_name_an_id(text):
        return  # no run of nine digits (an id number has nine or eleven), or no keyword
    for k in _ID_WORD.finditer(text):
        number, is_valid = _NATIONAL_IDS[k.lastgroup or ""]
        first_digit = _DIGIT.search(text, k.end(), k.end() + ID_WINDOW)
        m = first_digit and number.match(text, first_digit.start())
        if m and is_valid(_ascii_digits(m.group())):
            yield m.span()


def find_national_ids(text: str) -> Iterator[tuple[int, int]]:
    """The first number after an id keyword, if it starts within :data:`ID_WINDOW` and its check holds."""
    return _find_national_ids(text, _char_classes(text))


DETECTORS: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
    "email": find_emails,
    "ip": find_ips,
    "phone": find_phones,
    "iban": find_ibans,
    "national_id": find_national_ids,
}


class _Occupied:
    """Sorted, non-overlapping character spans already claimed."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.ends, start + 1)  # first span that ends after ``start``
        return i < len(self.starts) and self.starts[i] < end

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def _url_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _URL.finditer(text)] if "www." in text or "://" in text else []


def find_pii(text: str) -> list[Finding]:
    """Every finding of every type, non-overlapping (:data:`PRIORITY` decides), in text order."""
    classes = _char_classes(text)
    detections = {  # what DETECTORS give, with the character classes computed once
        "email": _find_emails(text, classes),
        "ip": _find_ips(text, classes),
        "phone": _find_phones(text, classes),
        "iban": _find_ibans(text, classes),
        "national_id": _find_national_ids(text, classes),
    }
    urls: list[tuple[int, int]] | None = None  # looked for at the first finding that a URL can hide
    taken = _Occupied()
    findings: list[Finding] = []
    for pii_type in PRIORITY:
        for start, end in detections[pii_type]:
            if pii_type in URL_BLIND:
                if urls is None:
                    urls = _url_spans(text)
                if any(s <= start < e for s, e in urls):
                    continue
            if not taken.overlaps(start, end):
                taken.add(start, end)
                findings.append(Finding(start, end, pii_type))
    return sorted(findings)


def redact(text: str, types: Sequence[str] = PII_TYPES) -> tuple[str, dict[str, int]]:
    """``text`` with the findings of ``types`` replaced by their placeholders, and counts per type."""
    counts = dict.fromkeys(types, 0)
    parts: list[str] = []
    last = 0
    for finding in find_pii(text):
        if finding.type in counts:
            parts += (text[last : finding.start], PLACEHOLDERS[finding.type])
            last = finding.end
            counts[finding.type] += 1
    parts.append(text[last:])
    return "".join(parts), counts


class PiiRedactor(CurationStage):
    """Replace personal data in kept documents by typed placeholders; count them in ``pii_counts``."""

    name = "pii"

    def __init__(self, types: Sequence[str] = PII_TYPES):
        super().__init__()
        unknown = sorted(set(types) - set(PLACEHOLDERS))
        if unknown or not types:
            raise ValueError(f"PII types must be a non-empty subset of {list(PLACEHOLDERS)}: {list(types)}")
        self.types = tuple(dict.fromkeys(types))

    def process(self, doc: Document) -> None:
        doc.text, counts = redact(doc.text, self.types)
        doc.metadata[PII_COUNTS] = counts
        for pii_type, n in counts.items():
            if n:
                self.stat_update(pii_type, value=n)
