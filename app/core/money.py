"""Money as exact Decimal: parsing API input, formatting JSON output, cents/mills conversions."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

CENT = Decimal("0.01")
MILL = Decimal("0.001")
#: Totals above this are rejected as absurd (contract: > 1e12 is 422).
MAX_AMOUNT = Decimal("1000000000000")


class MoneyError(ValueError):
    """Raised for input that is not a valid amount of money."""


#: The one grammar of an amount: ASCII digits, optionally one dot and one or two decimals; a leading minus
#: where negatives are allowed. No exponents, separators, Unicode digits, "12." or ".5": nothing that a
#: client could mean two ways, and nothing that makes Decimal arithmetic explode ("1E+1000000").
#: The OpenAPI document states this very pattern (app/core/schemas.py): at most 1e12, so 12 digits or 1e12 itself.
AMOUNT_TEXT = r"(?:[0-9]{1,12}(?:\.[0-9]{1,2})?|1000000000000(?:\.0{1,2})?)"
_AMOUNT = re.compile("-?" + AMOUNT_TEXT)


def parse_amount(value: object, *, allow_negative: bool = False) -> Decimal:
    """Parse an API amount (string or number) into a Decimal with at most 2 decimals.

    Floats are accepted (JSON numbers) but read through their shortest repr, so 0.1 stays 0.1.
    """
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float, Decimal)):
        raise MoneyError('must be a decimal amount such as "121.00"')
    # The document's pattern allows the JSON whitespace around a string (space, tab, newline, return), no other.
    text = repr(value) if isinstance(value, float) else str(value).strip(" \t\n\r")
    if isinstance(value, float) and text.endswith(".0"):
        text = text[:-2]
    if len(text) > 20 or not _AMOUNT.fullmatch(text):
        if re.fullmatch(r"-?[0-9]+\.[0-9]{3,}", text):
            raise MoneyError("must have at most 2 decimals")
        if re.fullmatch(r"-?[0-9]+(?:\.[0-9]{1,2})?", text):
            raise MoneyError("is too large (more than 1e12)")
        raise MoneyError('must be a decimal amount such as "121.00" (digits, a dot, at most 2 decimals)')
    amount = Decimal(text)
    if text.startswith("-") and not allow_negative:  # "-0.00" too: a sign where none may be is a mistake
        raise MoneyError("must not be negative")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError("is too large (more than 1e12)")
    return amount.quantize(CENT)


def format_amount(amount: Decimal) -> str:
    """Render an amount for JSON: 2 decimals, or 3 when a bank booked a third decimal."""
    text = str(amount)
    if len(text) - text.find(".") == 3 and "." in text:  # already two decimals: stored amounts nearly always are
        return text
    if amount == amount.quantize(CENT):
        return str(amount.quantize(CENT))
    return str(amount.quantize(MILL))


def to_mills(amount: Decimal) -> int:
    """Exact integer thousandths, the unit money is stored in (CODA amounts carry 3 decimals)."""
    mills = amount * 1000
    if mills != mills.to_integral_value():
        raise MoneyError(f"{amount} has more than 3 decimals")
    return int(mills)


@lru_cache(maxsize=1 << 16)  # every money column of every row read passes here; amounts repeat (Decimal is immutable)
def from_mills(mills: int) -> Decimal:
    value = Decimal(mills).scaleb(-3)
    return value.quantize(CENT) if mills % 10 == 0 else value.quantize(MILL)
