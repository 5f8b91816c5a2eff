"""SEPA collections the company issued, matched by what it put in them (issue 40): the end-to-end id of the
collection (an invoice's ``collection_reference``), else the mandate and the amount.

A collection is money the company itself asked for: its end-to-end id and mandate are the company's own, so
they name the invoice as surely as an OGM does. In order:

1. an open invoice whose ``collection_reference`` is the collection's end-to-end id;
2. the one open invoice under the collection's mandate (``mandate_reference``) with exactly that much due;
3. the mandate's customer as earlier collections under it taught (their allocations): that customer's one open
   invoice with exactly that much due.

What none of them settles goes on to the matcher (its communication may carry the OGM). Lookups are batched
per chunk of payments, through indexes present only where an invoice or payment has the key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from app.core.one_of import one_of
from app.invoices.models import OPEN_STATUSES, Invoice
from app.reconciliation.candidates import StoredInvoiceIndex
from app.reconciliation.ledger import Ledger
from app.reconciliation.matching import OpenInvoice
from app.reconciliation.models import Allocation
from app.reconciliation.reasons import Reason
from app.statements.models import BankTransaction

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_TX = BankTransaction.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]


def is_collection(row: Any) -> bool:
    """Money in from a SEPA collection the company issued (paid, not an R-transaction)."""
    debit = getattr(row, "direct_debit", None)
    return bool(debit) and debit.get("r_transaction") == "paid" and row.amount > 0


def _open_by(session: Session, company_id: str, column: Any, values: list[str]) -> dict[str, list[str]]:
    """Per value of ``column``: the references of the open invoices that have it (the run's index holds them)."""
    out: dict[str, list[str]] = defaultdict(list)
    if not values:
        return out
    for key, reference in session.execute(
        select(column, _INVOICES.c.structured_reference).where(
            _INVOICES.c.company_id == company_id, one_of(column, values), _INVOICES.c.status.in_(OPEN_STATUSES)
        )
    ):
        out[key].append(reference)
    return out


def _taught(session: Session, company_id: str, mandates: list[str]) -> dict[str, set[str]]:
    """Per mandate: the customers whose invoices earlier collections under it paid."""
    out: dict[str, set[str]] = defaultdict(set)
    if not mandates:
        return out
    for mandate, customer in session.execute(
        select(_TX.c.mandate_reference, _INVOICES.c.customer_key)
        .distinct()
        .select_from(
            _TX.join(_ALLOCATIONS, _ALLOCATIONS.c.transaction_id == _TX.c.id).join(
                _INVOICES, _INVOICES.c.id == _ALLOCATIONS.c.invoice_id
            )
        )
        .where(
            _TX.c.company_id == company_id,
            one_of(_TX.c.mandate_reference, mandates),
            _ALLOCATIONS.c.returns_allocation_id.is_(None),
        )
    ):
        out[mandate].add(customer)
    return out


def match_collections(
    session: Session, ledger: Ledger, index: StoredInvoiceIndex, transactions: Sequence[Any]
) -> set[str]:
    """Settle the collections among ``transactions`` that name their invoice; returns the ids settled (the rest
    go to the matcher). ``index`` is the run's: what is settled here is no longer due there."""
    collections = [t for t in transactions if is_collection(t)]
    if not collections:
        return set()
    company_id = ledger.company_id
    by_e2e = _open_by(
        session,
        company_id,
        _INVOICES.c.collection_reference,
        sorted({t.end_to_end_reference for t in collections if t.end_to_end_reference}),
    )
    mandates = sorted({t.mandate_reference for t in collections if t.mandate_reference})
    by_mandate = _open_by(session, company_id, _INVOICES.c.mandate_reference, mandates)
    customers = _taught(session, company_id, mandates)
    # The invoices they name, into the run's index in one query rather than one lookup per collection.
    index.load_references({ref for refs in (*by_e2e.values(), *by_mandate.values()) for ref in refs})
    settled: set[str] = set()
    for tx in collections:
        found = _find(tx, index, by_e2e, by_mandate, customers)
        if found is None:
            continue
        inv, reason = found
        amount = min(tx.amount, inv.due)
        ledger.allocate(tx.id, inv.id, amount, method="collection", confidence=1.0, reasons=[reason])
        index.settle(inv, amount)
        settled.add(tx.id)
    return settled


def _find(
    tx: Any,
    index: StoredInvoiceIndex,
    by_e2e: dict[str, list[str]],
    by_mandate: dict[str, list[str]],
    customers: dict[str, set[str]],
) -> tuple[OpenInvoice, Reason] | None:
    if tx.end_to_end_reference:
        refs = by_e2e.get(tx.end_to_end_reference, [])
        invoices = [inv for ref in refs if (inv := index.open(index.reference(ref)))]
        if len(invoices) == 1 and tx.amount <= invoices[0].due:
            inv = invoices[0]
            return inv, Reason("collection_reference", reference=tx.end_to_end_reference, number=inv.number)
    if not tx.mandate_reference:
        return None
    refs = by_mandate.get(tx.mandate_reference, [])
    invoices = [inv for ref in refs if (inv := index.open(index.reference(ref)))]
    fitting = [inv for inv in invoices if inv.due == tx.amount]
    if len(fitting) == 1:
        return fitting[0], Reason("mandate", mandate=tx.mandate_reference, number=fitting[0].number)
    if invoices:  # the mandate names its invoices: the amount must single one out
        return None
    learned = [
        inv
        for customer in sorted(customers.get(tx.mandate_reference, ()))
        for inv in index.customer_with_due(customer, tx.amount)
    ]
    learned = [inv for inv in learned if index.open(inv)]
    if len(learned) == 1:
        return learned[0], Reason("mandate", mandate=tx.mandate_reference, number=learned[0].number)
    return None
