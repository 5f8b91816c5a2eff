"""The keys a payment can point at an invoice with, computed once when the invoice is registered and stored
in indexed columns, so that matching looks candidates up instead of loading the company's ledger.

The same functions build the in-memory index of the pure engine, so both find exactly the same invoices.
"""

from __future__ import annotations

from typing import Any

from app.reconciliation.invoice_numbers import full_keys_of, normalized_number, tail_key
from app.reconciliation.names import normalize_name


def customer_key(vat: str | None, name: str) -> str:
    """Who the customer is: by VAT number when known, else by normalised name."""
    return (f"vat:{vat}" if vat else f"name:{normalize_name(name)}")[:240]


def name_tokens(name: str | None) -> set[str]:
    """The words of a name that blocking uses (legal forms and punctuation dropped)."""
    return set(normalize_name(name).split())


def number_columns(number: str) -> dict[str, Any]:
    """``number_key`` (letters and digits), ``number_digits_key`` (without a letter prefix), ``number_tail``
    (the last digit group, as text so that no length overflows a column)."""
    key = normalized_number(number)
    keys = full_keys_of(key)  # the number as written, and without a letter prefix when that differs
    tail = tail_key(number)
    return {
        "number_key": key if key in keys else None,
        "number_digits_key": next((k for k in keys if k != key), None),
        "number_tail": str(tail) if tail is not None else None,
    }


def invoice_key_columns(number: str, customer_vat: str | None, customer_name: str) -> dict[str, Any]:
    return {"customer_key": customer_key(customer_vat, customer_name), **number_columns(number)}
