"""Invoice numbers as payers type them: "Factuur 2026/0153", "INV-153", "fact. 153".

An invoice is indexed under its full number (letters and digits only, with and without a letter prefix)
and under the number of its last digit group (153). Text is searched for full numbers anywhere, but for a bare
last group only right after a word that says "invoice", so that an amount or a date does not count.
"""

from __future__ import annotations

import re

_KEEP = re.compile(r"[^0-9A-Z]")
_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9/.\-]*[0-9]")
_NUMBER = r"[A-Z]{0,4}[-/.]?\d[\d/.\-]*"
_CONTEXT = re.compile(
    r"(?:FACTUUR|FACTUREN|FACTURE|FACTURES|FACT|FACTNR|FAC|FA|INVOICES|INVOICE|INV|RECHNUNG|REKENING|NOTA|NR|NO|N°|NUM)"
    r"\.?\s*(?:NR\.?|NO\.?|N°)?\s*[:#]?\s*"
    # one number, or a list of them: "fact. 12, 13 en 14", "invoices 12 + 13", "factures 12 et 13"
    rf"({_NUMBER}(?:\s*(?:,|\+|&|;|\bEN\b|\bET\b|\bAND\b|\bUND\b)\s*{_NUMBER})*)"
)
_LIST_ITEM = re.compile(_NUMBER)


def normalized_number(number: str) -> str:
    """Letters and digits only, upper-case: "fa-2026/0001" -> "FA20260001"."""
    return _KEEP.sub("", number.upper())


def full_keys(number: str) -> set[str]:
    return full_keys_of(normalized_number(number))


def full_keys_of(key: str) -> set[str]:
    """``full_keys`` of a number already normalised."""
    keys = {key} if len(key) >= 3 else set()
    stripped = key.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if len(stripped) >= 4:
        keys.add(stripped)
    return keys


_DIGIT_GROUP = re.compile(r"\d+")


def tail_key(number: str) -> int | None:
    groups = _DIGIT_GROUP.findall(number)
    return int(groups[-1]) if groups and int(groups[-1]) > 0 else None


def numbers_in_text(text: str | None) -> tuple[set[str], set[int]]:
    """(full keys of number-like tokens, last groups written right after an 'invoice' word)."""
    if not text:
        return set(), set()
    upper = text.upper()
    full: set[str] = set()
    for token in _TOKEN.findall(upper):
        key = _KEEP.sub("", token)
        if 3 <= len(key) <= 20 and not (len(key) == 12 and key.isdigit()):  # 12 digits is an OGM's business
            full.add(key)
            full.add(key.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    tails: set[int] = set()
    for match in _CONTEXT.finditer(upper):
        for item in _LIST_ITEM.findall(match.group(1)):
            value = tail_key(item)
            if value is not None:
                tails.add(value)
    return full - {""}, tails
