"""Render reconciliation's own resources (allocations, write-offs, suggestions, audit events) as the API's JSON.

One function per resource, building the JSON directly (what ``model_dump(mode="json")`` of its model in
app/reconciliation/schemas.py gives: tests/unit/test_renderers.py holds the two equal). Invoices and
transactions show their allocations, write-offs and suggestions through these, in the order given here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from app.core.money import format_amount
from app.core.timeutil import json_datetime


def oldest_first(rows: Iterable[Any]) -> list[Any]:
    """Allocations or write-offs (of a transaction or an invoice), in the order the API shows them."""
    return sorted(rows, key=lambda r: r.created_at)


def best_first(suggestions: Iterable[Any]) -> list[Any]:
    """A transaction's open suggestions, in the order the API shows them."""
    return sorted(suggestions, key=lambda s: -s.score)


def allocation_document(a: Any) -> dict[str, Any]:
    """An allocation row as AllocationPublic."""
    return {
        "id": a.id,
        "transaction_id": a.transaction_id,
        "invoice_id": a.invoice_id,
        "amount": format_amount(a.amount),
        "method": a.method,
        "confidence": float(a.confidence),
        "reasons": a.reasons,
        "returns": a.returns_allocation_id,
        "created_by": a.created_by,
        "created_at": json_datetime(a.created_at),
    }


#: The signals a return's reasons are rendered from (app/reconciliation/returns.py).
_RETURN_SIGNALS = ("returned", "returned_by_account")


def return_document(a: Any) -> dict[str, Any]:
    """A return allocation (money that came back off an invoice) as ReturnPublic: when, how much and why."""
    params: dict[str, Any] = next(
        (c[1] for c in a.reason_codes or () if isinstance(c, list) and c and c[0] in _RETURN_SIGNALS), {}
    )
    code = params.get("code")
    return {
        "allocation_id": a.id,
        "transaction_id": a.transaction_id,
        "returns": a.returns_allocation_id,
        "amount": format_amount(a.amount),
        "booking_date": params.get("booked"),
        "reason_code": code if code and code != "-" else None,
        "reason": params.get("text") if params.get("text") not in (None, "-") else None,
    }


def write_off_document(w: Any) -> dict[str, Any]:
    """A write-off row as WriteOffPublic."""
    return {
        "id": w.id,
        "amount": format_amount(w.amount),
        "reason": w.reason,
        "invoice_id": w.invoice_id,
        "transaction_id": w.transaction_id,
        "allocation_id": w.allocation_id,
        "note": w.note,
        "created_by": w.created_by,
        "created_at": json_datetime(w.created_at),
    }


def suggestion_document(s: Any) -> dict[str, Any]:
    """A suggestion row as SuggestionPublic (a proposed part without a write-off writes off nothing)."""
    return {
        "id": s.id,
        "score": float(s.score),
        "status": s.status,
        "allocations": [
            {
                "invoice_id": a["invoice_id"],
                "amount": format_amount(Decimal(a["amount"])),
                "write_off": format_amount(Decimal(a.get("write_off", "0.00"))),
                "returns": a.get("returns"),
            }
            for a in s.allocations
        ],
        "reasons": s.reasons,
    }


def audit_event_document(e: Any) -> dict[str, Any]:
    """An audit-event row as AuditEventPublic."""
    return {
        "id": e.id,
        "actor": e.actor,
        "action": e.action,
        "subject_id": e.subject_id,
        "details": e.details,
        "at": json_datetime(e.at),
    }
