"""Invented identifiers with valid check digits (and validators), for the sample's PII documents.

Everything here is deterministic given the ``random.Random`` passed in. The validators are the
reference a PII detector's tests can compare against.
"""

from __future__ import annotations

import random
import string

_HU_WEIGHTS = (9, 7, 3, 1)


def _iban_numeric(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces allowed)."""
    compact = iban.replace(" ", "").upper()
    if len(compact) < 15 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    if not compact.isalnum():
        return False
    return _iban_numeric(compact[4:] + compact[:4]) % 97 == 1


def _iban_from_bban(country: str, bban: str) -> str:
    check = 98 - _iban_numeric(bban + country + "00") % 97
    return f"{country}{check:02d}{bban}"


def _hu_check_digit(digits: str) -> str:
    total = sum(int(d) * _HU_WEIGHTS[i % 4] for i, d in enumerate(digits))
    return str((10 - total % 10) % 10)


def _digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    head = str(rng.randint(1, 9)) if first_nonzero else str(rng.randint(0, 9))
    return head + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def make_iban(rng: random.Random, country: str) -> str:
    """A compact, checksum-valid IBAN for DE, NL or HU with invented bank and account numbers."""
    if country == "DE":
        bban = _digits(rng, 8, first_nonzero=True) + _digits(rng, 10)
    elif country == "NL":
        bank = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
        bban = bank + _digits(rng, 10)
    elif country == "HU":
        branch = _digits(rng, 7, first_nonzero=True)
        account = _digits(rng, 15)
        bban = branch + _hu_check_digit(branch) + account + _hu_check_digit(account)
    else:
        raise ValueError(f"unsupported IBAN country {country!r}")
    iban = _iban_from_bban(country, bban)
    assert iban_is_valid(iban)
    return iban


def break_iban(iban: str) -> str:
    """The same IBAN with one BBAN digit changed: mod 97 catches every single-digit error."""
    compact = iban.replace(" ", "")
    pos = len(compact) - 3
    digit = compact[pos]
    changed = str((int(digit) + 3) % 10)
    broken = compact[:pos] + changed + compact[pos + 1 :]
    assert not iban_is_valid(broken)
    return broken


def group4(text: str) -> str:
    """Print format: groups of four characters."""
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def bsn_is_valid(bsn: str) -> bool:
    """Dutch burgerservicenummer: the 11-check with weights 9..2 and -1."""
    digits = bsn.replace(".", "").replace(" ", "")
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def make_bsn(rng: random.Random) -> str:
    while True:
        head = _digits(rng, 8, first_nonzero=True)
        last = sum(int(d) * w for d, w in zip(head, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            bsn = head + str(last)
            assert bsn_is_valid(bsn)
            return bsn


def taj_is_valid(taj: str) -> bool:
    """Hungarian TAJ number: CDV check digit = (3·odd + 7·even positions of the first eight) mod 10."""
    digits = taj.replace(" ", "").replace("-", "")
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 == 0 else 7) for i, d in enumerate(digits[:8]))
    return total % 10 == int(digits[8])


def make_taj(rng: random.Random) -> str:
    head = _digits(rng, 8, first_nonzero=True)
    total = sum(int(d) * (3 if i % 2 == 0 else 7) for i, d in enumerate(head))
    taj = head + str(total % 10)
    assert taj_is_valid(taj)
    return f"{taj[:3]} {taj[3:6]} {taj[6:]}"


def _steuer_id_check_digit(first10: str) -> int:
    product = 10
    for ch in first10:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return 0 if check == 10 else check


def steuer_id_is_valid(tax_id: str) -> bool:
    """German steuerliche Identifikationsnummer: 11 digits, no leading zero, exactly one digit of the
    first ten repeated (twice, or three times but not three in a row), ISO 7064 MOD 11,10 check digit."""
    digits = tax_id.replace(" ", "")
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    counts = [digits[:10].count(d) for d in string.digits]
    repeated = [c for c in counts if c > 1]
    if len(repeated) != 1 or repeated[0] > 3:
        return False
    if repeated[0] == 3:
        digit = string.digits[counts.index(3)]
        if digit * 3 in digits[:10]:
            return False
    return _steuer_id_check_digit(digits[:10]) == int(digits[10])


def make_steuer_id(rng: random.Random) -> str:
    while True:
        pool = list(string.digits)
        rng.shuffle(pool)
        nine = pool[:9]
        first10 = nine + [rng.choice(nine)]
        rng.shuffle(first10)
        if first10[0] == "0":
            continue
        head = "".join(first10)
        tax_id = head + str(_steuer_id_check_digit(head))
        if steuer_id_is_valid(tax_id):
            return f"{tax_id[:2]} {tax_id[2:5]} {tax_id[5:8]} {tax_id[8:]}"


def isbn13_is_valid(isbn: str) -> bool:
    digits = isbn.replace("-", "")
    if len(digits) != 13 or not digits.isdigit():
        return False
    return sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0


def make_isbn13(rng: random.Random) -> str:
    body = "978" + _digits(rng, 9)
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    isbn = f"{body[:3]}-{body[3]}-{body[4:9]}-{body[9:]}-{check}"
    assert isbn13_is_valid(isbn)
    return isbn
