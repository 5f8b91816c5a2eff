"""Pydantic types shared by every API schema: money in and out, dates, pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from app.money import MoneyError, format_amount, parse_amount


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
    "description": "Decimal amount as a string (numbers accepted on input); never a float.",
}

#: Input amount: a string or number, non-negative, at most 2 decimals, at most 1e12.
MoneyIn = Annotated[
    Decimal, BeforeValidator(_money_in), WithJsonSchema({**_MONEY_SCHEMA, "type": ["string", "number"]})
]
#: Input amount that may be negative (e.g. allocations of outgoing refunds).
SignedMoneyIn = Annotated[
    Decimal,
    BeforeValidator(_signed_money_in),
    WithJsonSchema({**_MONEY_SCHEMA, "type": ["string", "number"]}),
]
#: Output amount: a decimal string with 2 decimals ("121.00"), 3 only where a bank booked a third.
MoneyOut = Annotated[
    Decimal, PlainSerializer(format_amount, return_type=str, when_used="json"), WithJsonSchema(_MONEY_SCHEMA)
]


class StrictInput(BaseModel):
    """Request bodies: unknown fields are refused so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
