"""IBAN validation and normalisation, by python-stdnum's rules (Belgian BBANs are converted by the CODA reader).

``is_iban`` checks what ``stdnum.iban.validate(check_country=False)`` checks (the mod-97 checksum and the
country's BBAN structure, from stdnum's own registry) without walking the registry for every number: stdnum
looks each IBAN up bank by bank, 70 µs a number, which a statement of thousands of payers pays in full, since
most counterparty accounts appear once. tests/unit/test_iban.py holds the two equal.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from stdnum import iban as iban_std
from stdnum import numdb

_COMPACT = re.compile(r"[A-Z]{2}[0-9]{2}[0-9A-Z]+")
_FIELD = re.compile(r"([1-9][0-9]*)!([nac])")
_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}


class IbanError(ValueError):
    pass


@cache
def _bban_structure(country: str) -> re.Pattern[str] | None:
    """The country's BBAN as a regular expression (stdnum's registry), None for a country it does not know."""
    [(_, props)] = numdb.get("iban").info(country)[:1]
    if not props.get("bban"):
        return None
    fields = _FIELD.findall(props["bban"])
    return re.compile("".join(f"{_CLASSES[kind]}{{{count}}}" for count, kind in fields) + r"\Z")


def is_iban(compact: str) -> bool:
    """Whether ``compact`` (upper case, no spaces) is an IBAN: checksum, country and BBAN structure."""
    if not _COMPACT.fullmatch(compact):
        return False
    structure = _bban_structure(compact[:2])
    if structure is None or not structure.match(compact[4:]):
        return False
    # ISO 7064 mod 97-10 over the BBAN then the country and check digits, letters as 10..35.
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


# A statement names the same few accounts again and again (the company's own, its regular payers).
# Invalid text is not cached.
@lru_cache(maxsize=65536)
def normalize_iban(text: str) -> str:
    compact = iban_std.compact(text.upper())
    if not is_iban(compact):
        raise IbanError(f"'{text}' is not a valid IBAN")
    return compact


def optional_iban(value: str | None) -> str | None:
    """An optional IBAN field: None when empty, else normalised (IbanError, a ValueError, when it is not one)."""
    return normalize_iban(value) if value else None
