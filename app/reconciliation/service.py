"""Runs matching for new bank transactions and new invoices, and applies the outcome through the Ledger.

The rules themselves live in pure modules; this layer loads what they need (as plain rows, in chunks),
applies the outcome through the Ledger, and records events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, type_coerce
from sqlmodel import Session, col, select

from app.db import Money
from app.ids import new_id
from app.invoices.models import Invoice
from app.money import format_amount
from app.outbox_models import Event
from app.reconciliation.ledger import Ledger
from app.reconciliation.models import Suggestion
from app.statements.models import BankTransaction
from app.timeutil import utcnow

_CHUNK = 500
_TX = BankTransaction.__table__  # type: ignore[attr-defined]
_INVOICES = Invoice.__table__  # type: ignore[attr-defined]


@dataclass
class MatchSummary:
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0
    matched_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"matched": self.matched, "suggested": self.suggested, "unmatched": self.unmatched}


def _reason(code: str, message: str, **data: object) -> dict[str, object]:
    return {"code": code, "message": message, **data}


def _rows(session: Session, table: Any, column: Any, values: Sequence[Any], *where: Any) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        out.extend(session.execute(table.select().where(column.in_(values[start : start + _CHUNK]), *where)).all())
    return out


def match_transactions(session: Session, company_id: str, transaction_ids: Sequence[str]) -> MatchSummary:
    """Match new leaf transactions: a credit whose structured OGM/RF is an open invoice's reference settles it."""
    summary = MatchSummary()
    if not transaction_ids:
        return summary
    transactions = _rows(session, _TX, _TX.c.id, transaction_ids)
    candidates = [t for t in transactions if t.structured_reference and t.amount > 0 and t.kind != "total"]
    refs = list({t.structured_reference for t in candidates})
    invoices = {
        inv.structured_reference: inv
        for inv in _rows(
            session,
            _INVOICES,
            _INVOICES.c.structured_reference,
            refs,
            _INVOICES.c.company_id == company_id,
            _INVOICES.c.status != "cancelled",
            _INVOICES.c.kind == "invoice",
        )
    }
    ledger = Ledger(session, company_id, "matcher")
    matched: set[str] = set()
    for tx in candidates:
        invoice = invoices.get(tx.structured_reference)
        if invoice is None:
            continue
        ledger.allocate(
            tx.id,
            invoice.id,
            tx.amount,
            method="structured_reference",
            confidence=1.0,
            reasons=[
                _reason(
                    "structured_reference",
                    f"structured communication {tx.structured_reference} is the reference of invoice {invoice.number}",
                    reference=tx.structured_reference,
                )
            ],
        )
        matched.add(tx.id)
    leaves = [t for t in transactions if t.kind != "total"]
    rest = [t for t in leaves if t.id not in matched and t.amount > 0]
    suggested = _suggest_by_amount(session, company_id, rest)
    for tx_id in suggested:
        ledger.touch(transaction_id=tx_id)
    ledger.settle()
    summary.matched = len(matched)
    summary.matched_ids = sorted(matched)
    summary.suggested = len(suggested)
    summary.unmatched = len(leaves) - len(matched) - len(suggested)
    _record_unmatched(session, company_id, [t for t in rest if t.id not in suggested])
    return summary


#: An amount alone never settles an invoice: at best it is a suggestion a person confirms.
AMOUNT_ONLY_SCORE = 0.5
MAX_AMOUNT_CANDIDATES = 3


def _suggest_by_amount(session: Session, company_id: str, credits: list[Any]) -> set[str]:
    """Credits whose amount equals an open invoice's amount due become suggestions (several if ambiguous)."""
    if not credits:
        return set()
    # Typed as Money so both the compared amounts and the result go through the mills conversion.
    due = type_coerce(_INVOICES.c.total_amount - _INVOICES.c.amount_paid, Money())
    amounts = sorted({t.amount for t in credits})
    by_amount: dict[Any, list[Any]] = {}
    for start in range(0, len(amounts), _CHUNK):
        rows = session.execute(
            select(_INVOICES.c.id, _INVOICES.c.number, _INVOICES.c.customer_name, due.label("due"))
            .where(
                _INVOICES.c.company_id == company_id,
                _INVOICES.c.status.in_(("open", "partially_paid")),
                _INVOICES.c.kind == "invoice",
                due.in_(amounts[start : start + _CHUNK]),
            )
            .order_by(_INVOICES.c.due_date, _INVOICES.c.id)
        )
        for row in rows:
            by_amount.setdefault(row.due, []).append(row)
    rejected = {
        (tx_id, allocations[0]["invoice_id"])
        for tx_id, allocations in session.execute(
            select(Suggestion.transaction_id, Suggestion.allocations).where(
                col(Suggestion.transaction_id).in_([t.id for t in credits]), Suggestion.status == "rejected"
            )
        )
        if allocations
    }
    now = utcnow()
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    suggested: set[str] = set()
    for tx in credits:
        candidates = [c for c in by_amount.get(tx.amount, []) if (tx.id, c.id) not in rejected]
        if not candidates:
            continue
        ambiguous = len(candidates) > 1
        for candidate in candidates[:MAX_AMOUNT_CANDIDATES]:
            reasons = [
                _reason(
                    "amount_equals_due",
                    f"{format_amount(tx.amount)} is the amount due of invoice {candidate.number} ({candidate.customer_name})",
                )
            ]
            if ambiguous:
                reasons.append(_reason("ambiguous", f"{len(candidates)} open invoices are due for this amount"))
            suggestion_id = new_id("sug")
            rows.append(
                {
                    "id": suggestion_id,
                    "company_id": company_id,
                    "transaction_id": tx.id,
                    "score": AMOUNT_ONLY_SCORE / (2 if ambiguous else 1),
                    "allocations": [{"invoice_id": candidate.id, "amount": format_amount(tx.amount)}],
                    "reasons": reasons,
                    "status": "open",
                    "created_at": now,
                }
            )
            events.append(
                {
                    "id": new_id("evt"),
                    "company_id": company_id,
                    "type": "suggestion.created",
                    "subject_id": tx.id,
                    "payload": {"suggestion_id": suggestion_id, "transaction_id": tx.id, "invoice_id": candidate.id},
                    "created_at": now,
                }
            )
        suggested.add(tx.id)
    if rows:
        session.execute(insert(Suggestion.__table__), rows)  # type: ignore[attr-defined]
        session.execute(insert(Event.__table__), events)  # type: ignore[attr-defined]
    return suggested


def transaction_snapshot(tx: Any) -> dict[str, Any]:
    return {
        "id": tx.id,
        "statement_id": tx.statement_id,
        "booking_date": tx.booking_date.isoformat(),
        "amount": format_amount(tx.amount),
        "currency": tx.currency,
        "communication": tx.communication,
        "structured_reference": tx.structured_reference,
        "counterparty": {"name": tx.counterparty_name, "iban": tx.counterparty_iban, "bic": tx.counterparty_bic},
    }


def _record_unmatched(session: Session, company_id: str, credits: list[Any]) -> None:
    """Money in that nothing claimed: a transaction.unmatched event each (debits are not invoices' business)."""
    if not credits:
        return
    now = utcnow()
    events = [
        {
            "id": new_id("evt"),
            "company_id": company_id,
            "type": "transaction.unmatched",
            "subject_id": tx.id,
            "payload": transaction_snapshot(tx),
            "created_at": now,
        }
        for tx in credits
    ]
    session.execute(insert(Event.__table__), events)  # type: ignore[attr-defined]
