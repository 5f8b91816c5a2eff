"""The one place that changes who paid what: allocations and write-offs in and out, derived states, events.

An allocation's ``amount`` is positive and settles that much of its invoice. Against the transaction it
counts as money in for an invoice and as money out for a credit note, so one transfer of 80 can settle an
invoice of 100 and a credit note of 20 (100 - 20), and a refund of -20 settles a credit note of 20.

A write-off with an invoice settles that much of it without money (``write_off_amount``); one without an
invoice accounts for that much of a transaction's money. Everything else is derived here and only here:

- invoice: ``amount_paid`` = its allocations, ``write_off_amount`` = its write-offs, ``status`` from both;
- transaction: ``amount_allocated`` and ``amount_written_off`` (signed like its amount), ``status``.

Each change of an invoice's money state emits one event, each change of a money-in transaction's status to
``unmatched`` or ``partially_matched`` one event, all carrying the resource as it is at that moment.

Work is set-wise: changes are queued and written in bulk, and ``settle()`` recomputes the derived state of
every touched row with a few grouped queries, so matching 100,000 payments costs a handful of statements per
thousand rows, not several per payment. Constructing a Ledger takes the company's ledger lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, type_coerce
from sqlmodel import Session, col, select

from app.db import Money, add_to_counters, insert_rows, update_rows
from app.errors import Conflict
from app.events import INVOICE_STATUS_EVENTS
from app.ids import new_id
from app.invoices.models import Invoice
from app.money import format_amount
from app.one_of import one_of
from app.outbox_models import Event
from app.reconciliation.locks import lock_company_ledger
from app.reconciliation.models import Allocation, AuditEvent, LearnedPayer, Suggestion, WriteOff
from app.statements.models import BankTransaction
from app.timeutil import utcnow

ZERO = Decimal("0.00")
_CHUNK = 500
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_TX = BankTransaction.__table__  # type: ignore[attr-defined]

#: Transaction statuses worth an event of their own (money in that still needs a person).
TRANSACTION_STATUS_EVENTS = {
    "unmatched": "transaction.unmatched",
    "partially_matched": "transaction.partially_matched",
}


def signed_effect(invoice_kind: str, amount: Decimal) -> Decimal:
    """What an allocation of ``amount`` to a document of this kind means for the transaction's balance."""
    return -amount if invoice_kind == "credit_note" else amount


def invoice_status(total: Decimal, paid: Decimal, written_off: Decimal, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    settled = paid + written_off
    if settled <= 0:
        return "open"
    if settled < total:
        return "partially_paid"
    return "paid" if settled == total else "overpaid"


def invoice_amount_due(total: Decimal, paid: Decimal, written_off: Decimal, cancelled: bool) -> Decimal:
    """What is still to be paid: never negative (an overpayment shows in status and amount_paid)."""
    return ZERO if cancelled else max(total - paid - written_off, ZERO)


def transaction_status(
    amount: Decimal, allocated: Decimal, written_off: Decimal, *, settled_any: bool, suggested: bool, ignored: bool
) -> str:
    if ignored:
        return "ignored"
    if not settled_any:
        return "suggested" if suggested else "unmatched"
    return "matched" if amount - allocated - written_off == 0 else "partially_matched"


def fits(amount: Decimal, allocated: Decimal, written_off: Decimal) -> bool:
    """Allocations and write-offs stay within the money the transaction moved, in its direction."""
    low, high = sorted((ZERO, amount))
    return low <= allocated + written_off <= high and low <= allocated <= high


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


class Ledger:
    """Collects money changes in one unit of work, then settles derived states once per touched row."""

    def __init__(self, session: Session, company_id: str, actor: str) -> None:
        self.session = session
        self.company_id = company_id
        self.actor = actor
        lock_company_ledger(session, company_id)
        self._allocations: list[dict[str, Any]] = []
        self._write_offs: list[dict[str, Any]] = []
        self._audits: list[dict[str, Any]] = []
        self._invoices: set[str] = set()
        self._transactions: set[str] = set()
        self._fresh: set[str] = set()
        self._announcements: list[tuple[str, str, dict[str, Any]]] = []
        # Rows settled quietly (settle(announce=False)): their state before, for the events of the next settle.
        self._invoice_baseline: dict[str, tuple[Any, ...]] = {}
        self._transaction_baseline: dict[str, tuple[Any, ...]] = {}
        self._announce = True

    # -- changes ----------------------------------------------------------------------------------------

    def audit(self, action: str, subject_id: str, details: dict[str, Any]) -> None:
        self._audits.append(
            {
                "id": new_id("aud"),
                "company_id": self.company_id,
                "actor": self.actor,
                "action": action,
                "subject_id": subject_id,
                "details": details,
                "at": utcnow(),
            }
        )

    def allocate(
        self,
        transaction_id: str,
        invoice_id: str,
        amount: Decimal,
        *,
        method: str,
        confidence: float,
        reasons: list[dict[str, Any]],
        suggestion_id: str | None = None,
    ) -> str:
        allocation_id = new_id("alc")
        self._allocations.append(
            {
                "id": allocation_id,
                "company_id": self.company_id,
                "transaction_id": transaction_id,
                "invoice_id": invoice_id,
                "suggestion_id": suggestion_id,
                "amount": amount,
                "method": method,
                "confidence": confidence,
                "reasons": reasons,
                "created_by": self.actor,
                "created_at": utcnow(),
            }
        )
        self.audit(
            "allocation.created",
            allocation_id,
            {"transaction_id": transaction_id, "invoice_id": invoice_id, "amount": str(amount), "method": method},
        )
        self.touch(transaction_id, invoice_id)
        return allocation_id

    def write_off(
        self,
        amount: Decimal,
        reason: str,
        *,
        invoice_id: str | None = None,
        transaction_id: str | None = None,
        allocation_id: str | None = None,
        note: str | None = None,
    ) -> str:
        if amount <= 0 or (invoice_id is None and transaction_id is None):
            raise ValueError("a write-off is positive and belongs to an invoice or a transaction")
        write_off_id = new_id("wo")
        self._write_offs.append(
            {
                "id": write_off_id,
                "company_id": self.company_id,
                "invoice_id": invoice_id,
                "transaction_id": transaction_id,
                "allocation_id": allocation_id,
                "amount": amount,
                "reason": reason,
                "note": note,
                "created_by": self.actor,
                "created_at": utcnow(),
            }
        )
        self.audit(
            "write_off.created",
            write_off_id,
            {"invoice_id": invoice_id, "transaction_id": transaction_id, "amount": str(amount), "reason": reason},
        )
        self.touch(transaction_id, invoice_id)
        return write_off_id

    def undo_allocation(self, allocation: Any) -> list[str]:
        """Remove an allocation and the write-offs that completed it; returns the write-offs removed."""
        linked = list(
            self.session.execute(
                select(WriteOff.id, WriteOff.invoice_id, WriteOff.transaction_id).where(
                    WriteOff.allocation_id == allocation.id
                )
            )
        )
        for write_off in linked:
            self._forget_write_off(write_off, "write_off.undone")
        self.audit(
            "allocation.undone",
            allocation.id,
            {
                "transaction_id": allocation.transaction_id,
                "invoice_id": allocation.invoice_id,
                "amount": str(allocation.amount),
                "method": allocation.method,
            },
        )
        self.session.execute(delete(_ALLOCATIONS).where(_ALLOCATIONS.c.id == allocation.id))
        self._learn_payers([{"transaction_id": allocation.transaction_id, "invoice_id": allocation.invoice_id}], -1)
        self.touch(allocation.transaction_id, allocation.invoice_id)
        return [w.id for w in linked]

    def _learn_payers(self, allocations: Sequence[dict[str, Any]], step: int) -> None:
        """Keep ``learned_payers`` in step with allocations: which accounts each customer paid from."""
        if not allocations:
            return
        ibans: dict[str, str | None] = {}
        customers: dict[str, str] = {}
        for chunk in _chunks(sorted({a["transaction_id"] for a in allocations})):
            ibans.update(
                self.session.execute(select(_TX.c.id, _TX.c.counterparty_iban).where(one_of(_TX.c.id, chunk))).all()
            )
        for chunk in _chunks(sorted({a["invoice_id"] for a in allocations})):
            customers.update(
                self.session.execute(
                    select(_INVOICES.c.id, _INVOICES.c.customer_key).where(one_of(_INVOICES.c.id, chunk))
                ).all()
            )
        counts: Counter[tuple[str, str]] = Counter()
        for a in allocations:
            iban = ibans.get(a["transaction_id"])
            if iban:
                counts[(iban, customers[a["invoice_id"]])] += step
        rows = [
            {"company_id": self.company_id, "iban": iban, "customer_key": key, "allocations": n}
            for (iban, key), n in sorted(counts.items())
        ]
        add_to_counters(self.session, LearnedPayer, "allocations", rows)
        if step < 0:
            self.session.execute(
                delete(LearnedPayer).where(
                    col(LearnedPayer.company_id) == self.company_id, col(LearnedPayer.allocations) <= 0
                )
            )

    def undo_write_off(self, write_off: Any) -> None:
        self._forget_write_off(write_off, "write_off.undone")

    def _forget_write_off(self, write_off: Any, action: str) -> None:
        self.audit(
            action, write_off.id, {"invoice_id": write_off.invoice_id, "transaction_id": write_off.transaction_id}
        )
        self.session.execute(delete(_WRITE_OFFS).where(_WRITE_OFFS.c.id == write_off.id))
        self.touch(write_off.transaction_id, write_off.invoice_id)

    def touch(self, transaction_id: str | None = None, invoice_id: str | None = None) -> None:
        if transaction_id is not None:
            self._transactions.add(transaction_id)
        if invoice_id is not None:
            self._invoices.add(invoice_id)

    def fresh(self, transaction_ids: Iterable[str]) -> None:
        """New transactions: their first status is announced as a change."""
        ids = list(transaction_ids)
        self._fresh.update(ids)
        self._transactions.update(ids)

    def announce(self, event_type: str, transaction_id: str, change: dict[str, Any]) -> None:
        """An event about a transaction (e.g. suggestion.created), with its resource as it is after settle()."""
        self._announcements.append((event_type, transaction_id, change))

    # -- settling ----------------------------------------------------------------------------------------

    def settle(self, *, announce: bool = True) -> None:
        """Write queued rows, recompute derived states, record events; ORM objects loaded before are refreshed.

        ``announce=False`` settles without events, for a decision made of steps (undo, then reopen what the
        undone allocation had closed): the next settle announces the net change of every row, once.
        """
        if announce:  # what a quiet settle changed is announced now
            self._invoices |= self._invoice_baseline.keys()
            self._transactions |= self._transaction_baseline.keys()
        self._announce = announce
        self.session.flush()
        self._learn_payers(self._allocations, +1)
        insert_rows(self.session, Allocation, self._allocations)
        insert_rows(self.session, WriteOff, self._write_offs)
        insert_rows(self.session, AuditEvent, self._audits)
        invoice_changes = self._settle_invoices(sorted(self._invoices))
        transaction_changes = self._settle_transactions(sorted(self._transactions))
        self._allocations, self._write_offs, self._audits = [], [], []
        self._invoices, self._transactions = set(), set()
        if announce:
            transaction_changes += [(t, tx_id, change) for t, tx_id, change in self._announcements]
            events = self._invoice_events(invoice_changes) + self._transaction_events(transaction_changes)
            insert_rows(self.session, Event, events)
            self._announcements, self._fresh = [], set()
            self._invoice_baseline, self._transaction_baseline = {}, {}
        self.session.expire_all()  # bulk statements bypassed the identity map

    def _settle_invoices(self, ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
        updates: list[dict[str, Any]] = []
        changes: list[tuple[str, str, dict[str, Any]]] = []
        now = utcnow()
        for chunk in _chunks(ids):
            paid = {
                row[0]: (row[1] or ZERO, row[2])
                for row in self.session.execute(
                    select(
                        Allocation.invoice_id,
                        type_coerce(func.sum(Allocation.amount), Money()),
                        func.max(BankTransaction.booking_date),
                    )
                    .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
                    .where(one_of(col(Allocation.invoice_id), chunk))
                    .group_by(col(Allocation.invoice_id))
                )
            }
            written: dict[str, tuple[Decimal, date | None]] = {}
            for invoice_id, amount, booked, created in self.session.execute(
                select(WriteOff.invoice_id, WriteOff.amount, BankTransaction.booking_date, WriteOff.created_at)
                .outerjoin(BankTransaction, col(BankTransaction.id) == col(WriteOff.transaction_id))
                .where(one_of(col(WriteOff.invoice_id), chunk))
            ):
                total, last = written.get(invoice_id, (ZERO, None))
                day = booked or created.date()
                written[invoice_id] = (total + amount, max(last, day) if last else day)
            for row in self.session.execute(
                select(
                    _INVOICES.c.id,
                    _INVOICES.c.total_amount,
                    _INVOICES.c.amount_paid,
                    _INVOICES.c.write_off_amount,
                    _INVOICES.c.status,
                    _INVOICES.c.paid_at,
                    _INVOICES.c.cancelled_at,
                ).where(one_of(_INVOICES.c.id, chunk))
            ):
                money, last_payment = paid.get(row.id, (ZERO, None))
                off, last_write_off = written.get(row.id, (ZERO, None))
                status = invoice_status(row.total_amount, money, off, row.cancelled_at is not None)
                days = [d for d in (last_payment, last_write_off) if d is not None]
                paid_at = max(days) if status in ("paid", "overpaid") and days else None
                stored = (row.status, row.amount_paid, row.write_off_amount)
                if not self._announce:
                    self._invoice_baseline.setdefault(row.id, stored)
                before = self._invoice_baseline.get(row.id, stored)
                event_type = INVOICE_STATUS_EVENTS.get(status)
                if self._announce and event_type and before != (status, money, off):
                    changes.append(
                        (
                            event_type,
                            row.id,
                            {
                                "status": status,
                                "previous_status": before[0],
                                "amount_paid": format_amount(money),
                                "write_off_amount": format_amount(off),
                                "amount_due": format_amount(
                                    invoice_amount_due(row.total_amount, money, off, row.cancelled_at is not None)
                                ),
                            },
                        )
                    )
                if stored == (status, money, off) and row.paid_at == paid_at:
                    continue
                updates.append(
                    {
                        "id": row.id,
                        "amount_paid": money,
                        "write_off_amount": off,
                        "outstanding": row.total_amount - money - off,
                        "status": status,
                        "paid_at": paid_at,
                        "updated_at": now,
                    }
                )
        if updates:
            update_rows(self.session, Invoice, updates)
        return changes

    def _settle_transactions(self, ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
        updates: list[dict[str, Any]] = []
        changes: list[tuple[str, str, dict[str, Any]]] = []
        for chunk in _chunks(ids):
            allocated: dict[str, Decimal] = defaultdict(lambda: ZERO)
            settled_any: set[str] = set()
            for tx_id, kind, amount in self.session.execute(
                select(Allocation.transaction_id, Invoice.kind, Allocation.amount)
                .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
                .where(one_of(col(Allocation.transaction_id), chunk))
            ):
                allocated[tx_id] += signed_effect(kind, amount)
                settled_any.add(tx_id)
            written: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for tx_id, amount in self.session.execute(
                select(WriteOff.transaction_id, WriteOff.amount).where(
                    one_of(col(WriteOff.transaction_id), chunk), col(WriteOff.invoice_id).is_(None)
                )
            ):
                written[tx_id] += amount
                settled_any.add(tx_id)
            suggested = set(
                self.session.execute(
                    select(Suggestion.transaction_id).where(
                        one_of(col(Suggestion.transaction_id), chunk), Suggestion.status == "open"
                    )
                ).scalars()
            )
            for row in self.session.execute(
                select(_TX.c.id, _TX.c.amount, _TX.c.status, _TX.c.amount_allocated, _TX.c.amount_written_off).where(
                    one_of(_TX.c.id, chunk)
                )
            ):
                money = allocated.get(row.id, ZERO)
                off = written.get(row.id, ZERO) * (1 if row.amount >= 0 else -1)
                if not fits(row.amount, money, off):
                    raise Conflict(
                        f"transaction {row.id} of {format_amount(row.amount)} would have "
                        f"{format_amount(money + off)} allocated and written off; nothing was changed"
                    )
                status = transaction_status(
                    row.amount,
                    money,
                    off,
                    settled_any=row.id in settled_any,
                    suggested=row.id in suggested,
                    ignored=row.status == "ignored",
                )
                stored = (row.status, row.amount_allocated, row.amount_written_off)
                if (status, money, off) != stored:
                    updates.append(
                        {"id": row.id, "status": status, "amount_allocated": money, "amount_written_off": off}
                    )
                if not self._announce:
                    self._transaction_baseline.setdefault(row.id, stored)
                    continue
                before = self._transaction_baseline.get(row.id, stored)
                event_type = TRANSACTION_STATUS_EVENTS.get(status)
                changed = status != before[0] or row.id in self._fresh
                remainder_changed = (money, off) != before[1:]
                if event_type and row.amount > 0 and (changed or (status == "partially_matched" and remainder_changed)):
                    changes.append(
                        (
                            event_type,
                            row.id,
                            {
                                "status": status,
                                "previous_status": None if row.id in self._fresh else before[0],
                                "unallocated_amount": format_amount(row.amount - money - off),
                            },
                        )
                    )
        if updates:
            update_rows(self.session, BankTransaction, updates)
        return changes

    # -- events ------------------------------------------------------------------------------------------

    def _invoice_events(self, changes: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        if not changes:
            return []
        from app.invoices.presenter import invoice_documents

        snapshots = _snapshots(self.session, _INVOICES, [subject for _, subject, _ in changes], invoice_documents)
        return [self._event(t, subject, snapshots[subject], change) for t, subject, change in changes]

    def _transaction_events(self, changes: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        if not changes:
            return []
        from app.statements.presenter import transaction_documents

        snapshots = _snapshots(self.session, _TX, [subject for _, subject, _ in changes], transaction_documents)
        return [self._event(t, subject, snapshots[subject], change) for t, subject, change in changes]

    def _event(self, event_type: str, subject_id: str, data: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": new_id("evt"),
            "company_id": self.company_id,
            "type": event_type,
            "subject_id": subject_id,
            # The resource as it is now, so that a consumer replaying events sees the same history.
            "payload": {"data": data, "change": change},
            "created_at": utcnow(),
        }


def _snapshots(session: Session, table: Any, ids: list[str], present: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    unique = sorted(set(ids))
    for chunk in _chunks(unique):
        rows = session.execute(table.select().where(one_of(table.c.id, chunk))).all()
        for document in present(session, rows):
            out[document["id"]] = document
    return out
