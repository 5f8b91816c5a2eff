"""Pydantic types shared by every API schema: money in and out, dates, pages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.core.json_out import json_bytes
from app.core.money import AMOUNT_TEXT, MoneyError, format_amount, parse_amount


def _money_in(value: Any) -> Decimal:
    try:
        return parse_amount(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def _signed_money_in(value: Any) -> Decimal:
    try:
        return parse_amount(value, allow_negative=True)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


_MONEY_SCHEMA = {
    "type": "string",
    "pattern": r"^-?\d+\.\d{2,3}$",
    "examples": ["121.00"],
    "description": "Decimal amount as a string, never a float: 2 decimals, 3 only where a bank booked a third "
    "(CODA and camt.053 carry thousandths; shown as booked, so that balances add up).",
}


def _money_in_schema(negative: bool) -> dict[str, Any]:
    sign = "-?" if negative else ""
    low = -1e12 if negative else 0
    return {
        "oneOf": [
            {
                "type": "string",
                "pattern": rf"^[ \t\n\r]*{sign}{AMOUNT_TEXT}[ \t\n\r]*$",
                "examples": ["121.00", "12.5", "121"],
            },
            {"type": "number", "minimum": low, "maximum": 1e12, "multipleOf": 0.01},
        ],
        "description": 'Decimal amount: a string of digits with at most 2 decimals ("121.00", "12.5", "121"), '
        f"or a JSON number with at most 2 decimals; {'may be negative' if negative else 'not negative'}, at most "
        "1e12. No exponent, separator or third decimal; spaces around a string are ignored.",
    }


#: The largest quantity or unit price a line takes.
MAX_LINE_FIGURE = 10**9


def decimal_in(minimum: int, maximum: int) -> Any:
    """An input quantity, price or percentage: a JSON number or a string of the document's form, at most 4
    decimals, from ``minimum`` (0 or -maximum) to ``maximum`` (a power of ten). A string is read only in that form
    (no exponent, NaN or separator); its pattern states the sign and the bound, so a string matching it is taken."""
    pattern = _decimal_pattern(minimum, maximum)
    words = f", from {minimum} to {maximum}"

    def read(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise ValueError('must be a decimal number such as "2" or "0.5"')
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            raise ValueError(f'must be a decimal number such as "2" or "0.5": digits, a dot, at most 4 decimals{words}')
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip(" \t\n\r"))
        # The bounds first: quantizing 1e300 to 4 places raises instead of answering.
        if not number.is_finite() or not minimum <= number <= maximum:
            raise ValueError(f"must be a number{words}")
        if number != number.quantize(Decimal("0.0001")):
            raise ValueError("must be a number with at most 4 decimals")
        return number

    return Annotated[
        Decimal,
        BeforeValidator(read),
        WithJsonSchema(
            {
                "oneOf": [
                    {"type": "string", "pattern": pattern},
                    {"type": "number", "minimum": minimum, "maximum": maximum},
                ],
                "description": f'A decimal number: a JSON number or a string such as "2" or "0.5", at most 4 '
                f"decimals{words}.",
            }
        ),
    ]


def _decimal_pattern(minimum: int, maximum: int) -> str:
    digits = len(str(maximum)) - 1  # maximum is 10 ** digits
    space = "[ \\t\\n\\r]*"
    sign = "-?" if minimum < 0 else ""
    number = f"(?:{maximum}(?:\\.0{{1,4}})?|[0-9]{{1,{digits}}}(?:\\.[0-9]{{1,4}})?)"
    return f"^{space}{sign}{number}{space}$"


#: A line's quantity (any sign) and price (not negative), as EN 16931 lines take them; a percentage.
DecimalIn = decimal_in(-MAX_LINE_FIGURE, MAX_LINE_FIGURE)
NonNegativeDecimalIn = decimal_in(0, MAX_LINE_FIGURE)
PercentIn = decimal_in(0, 100)


#: Input amount: a string or number, non-negative, at most 2 decimals, at most 1e12.
MoneyIn = Annotated[Decimal, BeforeValidator(_money_in), WithJsonSchema(_money_in_schema(negative=False))]
#: Input amount that may be negative (e.g. allocations of outgoing refunds).
SignedMoneyIn = Annotated[Decimal, BeforeValidator(_signed_money_in), WithJsonSchema(_money_in_schema(negative=True))]
#: Output amount: a decimal string with 2 decimals ("121.00"), 3 only where a bank booked a third.
MoneyOut = Annotated[
    Decimal, PlainSerializer(format_amount, return_type=str, when_used="json"), WithJsonSchema(_MONEY_SCHEMA)
]


#: NUL and the other C0 controls (tab, newline and carriage return aside) and DEL: no legitimate field holds
#: them, PostgreSQL refuses NUL in text outright, and in names, e-mails and URLs they are an injection.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: Fields whose own validator admits only a narrow alphabet (base64's), control characters excluded: the walk
#: skips them. A document's base64 is megabytes, and scanning it twice (the invoice, then the document) held
#: the event loop for tens of milliseconds.
CHECKED_BY_THEIR_ALPHABET = frozenset({"content_base64"})


def _control_characters(value: Any) -> list[Any] | None:
    """The keys down to the first string under ``value`` holding a control character, if any.

    The path is built only on the way back from a hit: requests are walked in full, and batches are large.
    """
    if isinstance(value, str):
        return [] if _CONTROL.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and _CONTROL.search(key):
            return [repr(key)]
        if key in CHECKED_BY_THEIR_ALPHABET and isinstance(item, str):
            continue
        found = _control_characters(item)
        if found is not None:
            return [key, *found]
    return None


#: Validation context key: the input was already found free of control characters as a whole.
CONTROLS_CHECKED = "controls_checked"
#: In JSON text a control character is an escape: \u0000-\u001f (tab, newline and carriage return are written
#: \t, \n, \r), \b or \f; DEL stays a raw byte. An escaped backslash before b or f matches too: then the
#: exact walk decides.
_CONTROL_IN_JSON = re.compile(rb"\\u00[01][0-9a-fA-F]|\\[bf]|\x7f")


def free_of_control_characters(value: Any) -> bool:
    """Whether no string (or key) anywhere in ``value`` holds a control character, by one scan of its JSON:
    for a batch of a thousand invoices, much cheaper than walking each of them and their nested models."""
    return _CONTROL_IN_JSON.search(json_bytes(value)) is None


class StrictInput(BaseModel):
    """Request bodies: unknown fields are refused so that typos do not pass silently, and no string may hold
    control characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get(CONTROLS_CHECKED):
            return data  # the caller checked the whole input at once (free_of_control_characters)
        found = _control_characters(data)
        if found is not None:
            where = ".".join(str(key) for key in found) or "the value"
            raise ValueError(f"{where} may not contain control characters (such as NUL)")
        return data


_COUNTRY = re.compile(r"^[A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def checked_email(value: str | None) -> str | None:
    """An e-mail address as given, or None for empty; anything else is refused."""
    if value and not EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value or None


class AddressIn(StrictInput):
    street: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(description="ISO 3166-1 alpha-2 code.", examples=["BE"])

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.upper()
        if not _COUNTRY.match(value):
            raise ValueError("must be an ISO 3166-1 alpha-2 country code such as BE")
        return value


class AddressPublic(BaseModel):
    street: str | None
    city: str | None
    postal_code: str | None
    country: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
