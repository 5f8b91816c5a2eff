"""Runs matching for new bank transactions and new invoices, and applies people's decisions.

The rules themselves live in pure modules; this layer loads what they need, applies the outcome through the
Ledger, and records events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.events import record_event
from app.ids import new_id
from app.invoices.models import Invoice
from app.outbox_models import Event
from app.reconciliation.ledger import Ledger
from app.statements.models import BankTransaction
from app.timeutil import utcnow

_CHUNK = 500


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


def match_transactions(session: Session, company_id: str, transaction_ids: Sequence[str]) -> MatchSummary:
    """Match new leaf transactions: a credit whose structured OGM/RF is an open invoice's reference settles it."""
    summary = MatchSummary()
    if not transaction_ids:
        return summary
    candidates: list[BankTransaction] = []
    for start in range(0, len(transaction_ids), _CHUNK):
        candidates.extend(
            session.exec(
                select(BankTransaction).where(
                    col(BankTransaction.id).in_(transaction_ids[start : start + _CHUNK]),
                    col(BankTransaction.structured_reference).is_not(None),
                    col(BankTransaction.amount) > 0,
                    BankTransaction.kind != "total",
                )
            ).all()
        )
    refs = list({t.structured_reference for t in candidates if t.structured_reference})
    invoices: dict[str, Invoice] = {}
    for start in range(0, len(refs), _CHUNK):
        for inv in session.exec(
            select(Invoice).where(
                Invoice.company_id == company_id,
                col(Invoice.structured_reference).in_(refs[start : start + _CHUNK]),
                Invoice.status != "cancelled",
                Invoice.kind == "invoice",
            )
        ):
            invoices[inv.structured_reference] = inv
    ledger = Ledger(session, company_id, "matcher")
    matched: set[str] = set()
    for tx in candidates:
        invoice = invoices.get(tx.structured_reference or "")
        if invoice is None:
            continue
        ledger.allocate(
            tx,
            invoice,
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
    ledger.settle()
    summary.matched = len(matched)
    summary.matched_ids = sorted(matched)
    summary.unmatched = _record_unmatched(session, company_id, transaction_ids, matched)
    return summary


def _record_unmatched(session: Session, company_id: str, transaction_ids: Sequence[str], matched: set[str]) -> int:
    """Count leaves left unmatched; credits among them get a transaction.unmatched event."""
    from app.statements.presenter import present_transactions

    unmatched = 0
    events: list[dict[str, object]] = []
    for start in range(0, len(transaction_ids), _CHUNK):
        rows = session.exec(
            select(BankTransaction).where(
                col(BankTransaction.id).in_(transaction_ids[start : start + _CHUNK]),
                BankTransaction.status == "unmatched",
            )
        ).all()
        rows = [r for r in rows if r.id not in matched]
        unmatched += len(rows)
        credits = [r for r in rows if r.amount > Decimal(0)]
        now = utcnow()
        for public in present_transactions(session, credits):
            events.append(
                {
                    "id": new_id("evt"),
                    "company_id": company_id,
                    "type": "transaction.unmatched",
                    "subject_id": public.id,
                    "payload": public.model_dump(mode="json"),
                    "created_at": now,
                }
            )
    if events:
        session.execute(insert(Event), events)
    return unmatched


__all__ = ["MatchSummary", "match_transactions", "record_event"]
