"""The one place that changes who paid what: allocations and write-offs in and out, derived states, changes.

An allocation's ``amount`` is positive and settles that much of its invoice. Against the transaction it
counts as money in for an invoice and as money out for a credit note, so one transfer of 80 can settle an
invoice of 100 and a credit note of 20 (100 - 20), and a refund of -20 settles a credit note of 20.

A write-off with an invoice settles that much of it without money (``write_off_amount``); one without an
invoice accounts for that much of a transaction's money. Everything else is derived here and only here, by
the rules of app/reconciliation/status.py:

- invoice: ``amount_paid`` = its allocations, ``write_off_amount`` = its write-offs, ``status`` from both;
- transaction: ``amount_allocated`` and ``amount_written_off`` (signed like its amount), ``status``.

A return (an allocation naming the allocation it ``returns``: money that came back, issue 40) counts the other
way on both: it takes its amount off the invoice's ``amount_paid`` and moves its own transaction's money out.

Each change of an invoice's money state is one named change, as is each change of a money-in transaction to
``unmatched`` or ``partially_matched`` and each new suggestion (app/reconciliation/changes.py); a settle
hands them, with the rows it read for them, to the listener installed at start-up, which records them as
events (app/events/).

Work is set-wise: changes are queued and written in bulk, and ``settle()`` recomputes the derived state of
every touched row with a few grouped queries, so matching 100,000 payments costs a handful of statements per
thousand rows, not several per payment. Constructing a Ledger takes the company's ledger lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.db import add_to_counters, insert_rows, plain_rows, update_rows
from app.core.errors import Conflict
from app.core.ids import new_id
from app.core.money import format_amount
from app.core.one_of import one_of
from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.reconciliation.changes import (
    InvoiceMoneyChanged,
    NewTransaction,
    SettledInvoice,
    Settlement,
    SuggestionMade,
    TransactionStateChanged,
    publish,
)
from app.reconciliation.locks import lock_company_ledger
from app.reconciliation.models import Allocation, AuditEvent, LearnedPayer, Suggestion, WriteOff
from app.reconciliation.reasons import reason_codes
from app.reconciliation.status import (
    ZERO,
    fits,
    invoice_amount_due,
    invoice_paid_at,
    invoice_status,
    paid_effect,
    signed_effect,
    transaction_status,
    worth_telling,
)
from app.statements.models import BankTransaction

_CHUNK = 500
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_TX = BankTransaction.__table__  # type: ignore[attr-defined]


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
        self._suggestions: list[dict[str, Any]] = []
        #: New transactions, not stored yet (see fresh()): stored and settled from these rows and the queues by
        #: the next settle, and handed with its changes to whoever tells of them.
        self._known: dict[str, Any] = {}
        #: Per invoice touched by the last settle: its kind (what its allocations mean for a transaction) and
        #: its customer (whom its allocations' accounts belong to: _learn_payers).
        self._kinds: dict[str, str] = {}
        self._customers: dict[str, str] = {}
        self._suggested: list[SuggestionMade] = []
        #: Invoices that a return of this settle took money off, with the returning transaction (its reason).
        self._returned: dict[str, str] = {}
        # Rows settled quietly (settle(announce=False)): their state before, for the changes of the next settle.
        self._invoice_baseline: dict[str, tuple[Any, ...]] = {}
        self._transaction_baseline: dict[str, tuple[Any, ...]] = {}
        self._announce = True
        #: (account, customer) pairs that allocations of this ledger taught (see learned_payers).
        self.learned: set[tuple[str, str]] = set()

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
        returns: str | None = None,
    ) -> str:
        """Queue an allocation; ``returns``: the allocation of the original payment this one takes back."""
        allocation_id = new_id("alc")
        self._allocations.append(
            {
                "id": allocation_id,
                "company_id": self.company_id,
                "transaction_id": transaction_id,
                "invoice_id": invoice_id,
                "suggestion_id": suggestion_id,
                "amount": amount,
                "returns_allocation_id": returns,
                "method": method,
                "confidence": confidence,
                "reasons": reasons,
                "reason_codes": reason_codes(reasons),
                "created_by": self.actor,
                "created_at": utcnow(),
            }
        )
        details = {"transaction_id": transaction_id, "invoice_id": invoice_id, "amount": str(amount), "method": method}
        if returns is not None:
            details["returns"] = returns
            self._returned[invoice_id] = transaction_id
        self.audit("allocation.created", allocation_id, details)
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
        """Remove an allocation and the write-offs that completed it; returns the write-offs removed. The
        returns that offset it go too: money that came back cannot outlive the payment it took back."""
        for returned in self.session.execute(
            select(_ALLOCATIONS).where(
                _ALLOCATIONS.c.invoice_id == allocation.invoice_id,  # a return is of its payment's invoice
                _ALLOCATIONS.c.returns_allocation_id == allocation.id,
            )
        ).all():
            self.undo_allocation(returned)
        linked = list(
            self.session.execute(
                select(WriteOff.id, WriteOff.invoice_id, WriteOff.transaction_id).where(
                    WriteOff.allocation_id == allocation.id
                )
            )
        )
        for write_off in linked:
            self._forget_write_off(write_off, "write_off.undone")
        self._delete_allocation(allocation)
        if allocation.returns_allocation_id is None:
            self._learn_payers([{"transaction_id": allocation.transaction_id, "invoice_id": allocation.invoice_id}], -1)
        else:
            self._undo_return(allocation.transaction_id)  # the rest of its reversal with it
        return [w.id for w in linked]

    def _delete_allocation(self, allocation: Any) -> None:
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
        self.touch(allocation.transaction_id, allocation.invoice_id)

    def _undo_return(self, returning: str) -> None:
        """Undo all of a reversal: every return allocation of the R-transaction ``returning`` and the ``returned``
        write-offs on it and on its original. A reversal is applied whole or not at all (undoing one part of it
        leaves the R-transaction unmatched, for matching or a person), so that a payment never counts as having
        come back while still paying."""
        self.session.flush()
        original = self.session.execute(select(_TX.c.returns_transaction_id).where(_TX.c.id == returning)).scalar()
        takes_back = self.session.execute(
            select(_ALLOCATIONS).where(
                _ALLOCATIONS.c.transaction_id == returning, _ALLOCATIONS.c.returns_allocation_id.is_not(None)
            )
        ).all()
        # Undoing a return gives the invoices their payment back: never to one cancelled since (it holds no money).
        cancelled = (
            self.session.execute(
                select(_INVOICES.c.number).where(
                    _INVOICES.c.id.in_({a.invoice_id for a in takes_back}), _INVOICES.c.cancelled_at.is_not(None)
                )
            )
            .scalars()
            .all()
            if takes_back
            else []
        )
        if cancelled:
            raise Conflict(
                f"undoing this return would pay cancelled invoice {', '.join(sorted(cancelled))} again; a cancelled "
                "invoice holds no money"
            )
        for other in takes_back:
            self._delete_allocation(other)
        halves = [(returning, f"returns {original}"), (original, f"returned by {returning}")]
        for transaction_id, note in halves:
            for other in self.session.execute(
                select(_WRITE_OFFS.c.id, _WRITE_OFFS.c.invoice_id, _WRITE_OFFS.c.transaction_id).where(
                    _WRITE_OFFS.c.transaction_id == transaction_id,
                    _WRITE_OFFS.c.reason == "returned",
                    _WRITE_OFFS.c.note == note,
                )
            ).all():
                self._delete_write_off(other)
        self.session.execute(_TX.update().where(_TX.c.id == returning).values(returns_transaction_id=None))
        self.touch(returning)

    def link_return(self, transaction_id: str, original_id: str) -> None:
        """An R-transaction found the payment it reverses: its status becomes ``returned`` once its money is."""
        self.session.execute(_TX.update().where(_TX.c.id == transaction_id).values(returns_transaction_id=original_id))
        self.audit("return.linked", transaction_id, {"returns": original_id})
        self.touch(transaction_id)

    def _learn_payers(self, allocations: Sequence[dict[str, Any]], step: int) -> None:
        """Keep ``learned_payers`` in step with allocations: which accounts each customer paid from (a return
        teaches nothing: the account took money back)."""
        allocations = [a for a in allocations if a.get("returns_allocation_id") is None]
        if not allocations:
            return
        paid_from = {a["transaction_id"] for a in allocations}
        # New transactions' accounts are known (see fresh()); others are read.
        ibans: dict[str, str | None] = {t: self._known[t].counterparty_iban for t in paid_from if t in self._known}
        for chunk in _chunks(sorted(paid_from - ibans.keys())):
            ibans.update(
                self.session.execute(select(_TX.c.id, _TX.c.counterparty_iban).where(one_of(_TX.c.id, chunk))).all()
            )
        customers = {
            a["invoice_id"]: self._customers[a["invoice_id"]] for a in allocations if a["invoice_id"] in self._customers
        }
        for chunk in _chunks(sorted({a["invoice_id"] for a in allocations} - customers.keys())):
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
        if step > 0:
            self.learned.update(counts)
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
        self._delete_write_off(write_off, action)
        if getattr(write_off, "reason", None) == "returned":
            self._forget_other_half(write_off)

    def _delete_write_off(self, write_off: Any, action: str = "write_off.undone") -> None:
        self.audit(
            action, write_off.id, {"invoice_id": write_off.invoice_id, "transaction_id": write_off.transaction_id}
        )
        self.session.execute(delete(_WRITE_OFFS).where(_WRITE_OFFS.c.id == write_off.id))
        self.touch(write_off.transaction_id, write_off.invoice_id)

    def _forget_other_half(self, write_off: Any) -> None:
        """A ``returned`` write-off is part of a reversal (see returns.py): undoing it undoes the reversal."""
        note = write_off.note or ""
        returning = write_off.transaction_id if note.startswith("returns ") else note.removeprefix("returned by ")
        self._undo_return(returning)

    def touch(self, transaction_id: str | None = None, invoice_id: str | None = None) -> None:
        if transaction_id is not None:
            self._transactions.add(transaction_id)
        if invoice_id is not None:
            self._invoices.add(invoice_id)

    def fresh(self, rows: Iterable[Any]) -> None:
        """New transactions, not stored yet (objects whose attributes are all their columns; nothing allocated to
        them, written off or suggested but what this ledger queues): their first status is told as a change.

        The next settle derives their state from these rows and what this ledger queued for them, stores them
        with it, before the allocations that point at them, and hands them on with its changes: nothing is read
        back, and nothing is updated (an update writes each row's indexes again, and on PostgreSQL checks its
        foreign keys again: a row inserted in the same transaction always is)."""
        for row in rows:
            self._fresh.add(row.id)
            self._transactions.add(row.id)
            self._known[row.id] = row

    def suggest(self, transaction_id: str, score: float, allocations: list[dict[str, str]], reasons: list[Any]) -> str:
        """An open suggestion for a person to decide, told with the transaction as it is after settle()."""
        suggestion_id = new_id("sug")
        self._suggestions.append(
            {
                "id": suggestion_id,
                "company_id": self.company_id,
                "transaction_id": transaction_id,
                "score": score,
                "allocations": allocations,
                "reasons": reasons,
                "reason_codes": reason_codes(reasons),
                "status": "open",
                "created_at": utcnow(),
            }
        )
        self._suggested.append(SuggestionMade(transaction_id, suggestion_id, score))
        self.touch(transaction_id)
        return suggestion_id

    # -- settling ----------------------------------------------------------------------------------------

    def settle(self, *, announce: bool = True) -> Settlement | None:
        """Write queued rows, recompute derived states and hand what changed to the listener (which records
        events: app/reconciliation/changes.py); ORM objects loaded before are refreshed. Returns what was told.

        ``announce=False`` settles without telling, for a decision made of steps (undo, then reopen what the
        undone allocation had closed): the next settle tells the net change of every row, once.
        """
        if announce:  # what a quiet settle changed is told now
            self._invoices |= self._invoice_baseline.keys()
            self._transactions |= self._transaction_baseline.keys()
        self._announce = announce
        self.session.flush()
        queued = _Queued(self._allocations, self._write_offs, self._suggestions)
        new_changes, states = self._store_new(queued)
        insert_rows(self.session, Allocation, self._allocations)
        insert_rows(self.session, WriteOff, self._write_offs)
        insert_rows(self.session, Suggestion, self._suggestions)
        insert_rows(self.session, AuditEvent, self._audits)
        invoice_changes, invoices_seen = self._settle_invoices(sorted(self._invoices), queued)
        self._learn_payers(self._allocations, +1)  # after the invoices are read: it needs their customers
        transaction_changes = self._settle_stored_transactions(sorted(self._transactions - states.keys()))
        self._allocations, self._write_offs, self._suggestions, self._audits = [], [], [], []
        self._invoices, self._transactions = set(), set()
        settlement = None
        if announce:
            self._returned = {}
            transaction_changes += new_changes  # stored transactions first, then new ones
            told = {c.transaction_id for c in transaction_changes} | {c.transaction_id for c in self._suggested}
            settlement = Settlement(
                self.company_id,
                invoice_changes,
                transaction_changes,
                self._suggested,
                invoices_seen,
                self._new_transactions(told & states.keys(), queued, states),
            )
            publish(self.session, settlement)
            self._suggested, self._fresh = [], set()
            self._invoice_baseline, self._transaction_baseline = {}, {}
        # Once settled, what was queued is stored: the next settle reads these transactions back.
        self._known, self._kinds, self._customers = {}, {}, {}
        self.session.expire_all()  # bulk statements bypassed the identity map
        return settlement

    def _new_transactions(self, ids: set[str], queued: _Queued, states: dict[str, _State]) -> dict[str, NewTransaction]:
        """The new transactions that changes are about, with everything there is of them (only those: an
        upload stores thousands, and most need nobody)."""
        return {
            tx_id: NewTransaction(
                self._known[tx_id],
                states[tx_id],
                queued.allocations.get(tx_id, ()),
                queued.write_offs.get(tx_id, ()),
                queued.suggestions.get(tx_id, ()),
            )
            for tx_id in ids
        }

    def _settle_invoices(
        self, ids: list[str], queued: _Queued
    ) -> tuple[list[InvoiceMoneyChanged], dict[str, SettledInvoice]]:
        """Derive every touched invoice's state; returns the changes to tell, and each changed invoice as it is
        now with its allocation and write-off rows (read here once, for the state and whoever tells of it)."""
        updates: list[dict[str, Any]] = []
        changes: list[InvoiceMoneyChanged] = []
        seen: dict[str, SettledInvoice] = {}
        now = utcnow()
        for chunk in _chunks(ids):
            rows = plain_rows(self.session.execute(_INVOICES.select().where(one_of(_INVOICES.c.id, chunk))))
            known = {row.id: money for row in rows if (money := self._queued_money(row, queued)) is not None}
            for invoice_id in self._returned_to(list(known)):  # paid and returned: nothing left, yet rows stored
                del known[invoice_id]
            unknown = [row.id for row in rows if row.id not in known]
            allocations = self._with_booking_day(_ALLOCATIONS, unknown)
            write_offs = self._with_booking_day(_WRITE_OFFS, unknown)
            for row in rows:
                self._kinds[row.id] = row.kind
                self._customers[row.id] = row.customer_key
                if row.id in known:
                    paid_rows, off_rows = known[row.id]
                else:
                    paid_rows, off_rows = allocations.get(row.id, []), write_offs.get(row.id, [])
                money = sum((paid_effect(a.amount, a.returns_allocation_id) for a in paid_rows), ZERO)
                off = sum((w.amount for w in off_rows), ZERO)
                cancelled = row.cancelled_at is not None
                status = invoice_status(row.total_amount, money, off, cancelled)
                # Settled on the day of its last payment or write-off (one without a payment: the day it was made).
                days = [a.booked for a in paid_rows if a.returns_allocation_id is None]
                days += [w.booked or w.created_at.date() for w in off_rows]
                paid_at = invoice_paid_at(status, days)
                stored = (row.status, row.amount_paid, row.write_off_amount)
                if not self._announce:
                    self._invoice_baseline.setdefault(row.id, stored)
                before = self._invoice_baseline.get(row.id, stored)
                update: dict[str, Any] = {}
                if stored != (status, money, off) or row.paid_at != paid_at:
                    update = {
                        "id": row.id,
                        "amount_paid": money,
                        "write_off_amount": off,
                        "outstanding": row.total_amount - money - off,
                        "status": status,
                        "paid_at": paid_at,
                        "updated_at": now,
                    }
                    updates.append(update)
                if self._announce and before != (status, money, off):
                    due = invoice_amount_due(row.total_amount, money, off, cancelled)
                    changes.append(
                        InvoiceMoneyChanged(row.id, status, before[0], money, off, due, self._returned.get(row.id))
                    )
                    # With its update (if any), what the API returns once it is stored.
                    seen[row.id] = SettledInvoice(row, update, paid_rows, off_rows)
        if updates:
            update_rows(self.session, Invoice, updates)
        return changes, seen

    def _queued_money(self, row: Any, queued: _Queued) -> tuple[list[Any], list[Any]] | None:
        """An invoice's allocation and write-off rows without reading them, when this settle queued all there
        are: nothing was stored of it before (its stored state, derived by the last settle, says nothing paid or
        written off) and the transactions they come from are new ones, whose booking days are known. The
        common case of an upload: most of what it settles was fully open. None when they must be read.

        Nothing paid can also be money paid and returned (rows stored, netting to zero): the caller drops the
        invoices with a return (_returned_to); and an invoice this settle queued nothing for was touched by an
        undo, whose rows must be read."""
        if row.amount_paid or row.write_off_amount:
            return None
        paid = queued.allocations_of.get(row.id, ())
        off = queued.write_offs_of.get(row.id, ())
        if not (paid or off) or any(
            r["transaction_id"] is not None and r["transaction_id"] not in self._known for r in (*paid, *off)
        ):
            return None
        return _with_day(paid, self._known), _with_day(off, self._known)

    def _returned_to(self, invoice_ids: list[str]) -> set[str]:
        """Of these invoices, those with a return stored: money paid and taken back, so they say nothing paid
        while their allocations are stored (the partial index holds returns only: a probe, not a read)."""
        if not invoice_ids:
            return set()
        return set(
            self.session.execute(
                select(_ALLOCATIONS.c.invoice_id).where(
                    one_of(_ALLOCATIONS.c.invoice_id, invoice_ids), _ALLOCATIONS.c.returns_allocation_id.is_not(None)
                )
            ).scalars()
        )

    def _with_booking_day(self, table: Any, invoice_ids: list[str]) -> dict[str, list[Any]]:
        """Per invoice: its allocation or write-off rows, each with its transaction's booking day (``booked``,
        None for a write-off without a transaction)."""
        out: dict[str, list[Any]] = defaultdict(list)
        if not invoice_ids:
            return out
        for row in plain_rows(
            self.session.execute(
                select(table, _TX.c.booking_date.label("booked"))
                .select_from(table.outerjoin(_TX, _TX.c.id == table.c.transaction_id))
                .where(one_of(table.c.invoice_id, invoice_ids))
            )
        ):
            out[row.invoice_id].append(row)
        return out

    def _settle_stored_transactions(self, ids: list[str]) -> list[TransactionStateChanged]:
        """Derive each stored transaction's state from what is stored of it; returns the changes to tell."""
        updates: list[dict[str, Any]] = []
        changes: list[TransactionStateChanged] = []
        for chunk in _chunks(ids):
            allocated: dict[str, Decimal] = defaultdict(lambda: ZERO)
            settled_any: set[str] = set()
            for tx_id, kind, amount, returns in self.session.execute(
                select(Allocation.transaction_id, Invoice.kind, Allocation.amount, Allocation.returns_allocation_id)
                .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
                .where(one_of(col(Allocation.transaction_id), chunk))
            ):
                allocated[tx_id] += signed_effect(kind, amount, returns)
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
                select(
                    _TX.c.id,
                    _TX.c.amount,
                    _TX.c.status,
                    _TX.c.amount_allocated,
                    _TX.c.amount_written_off,
                    _TX.c.returns_transaction_id,
                ).where(one_of(_TX.c.id, chunk))
            ):
                self._judge_transaction(
                    row,
                    allocated.get(row.id, ZERO),
                    written.get(row.id, ZERO),
                    settled_any=row.id in settled_any,
                    suggested=row.id in suggested,
                    updates=updates,
                    changes=changes,
                )
        if updates:
            update_rows(self.session, BankTransaction, updates)
        return changes

    def _store_new(self, queued: _Queued) -> tuple[list[TransactionStateChanged], dict[str, _State]]:
        """Store the new transactions (see fresh()) with the state they settle in, derived from their rows and
        what this ledger queued for them; returns the changes to tell and their states."""
        changes: list[TransactionStateChanged] = []
        states: dict[str, _State] = {}
        if not self._known:
            return changes, states
        ids = sorted(self._known)
        kinds = self._kinds_of({a["invoice_id"] for i in ids for a in queued.allocations.get(i, ())})
        for tx_id in ids:
            row = self._known[tx_id]
            allocations = queued.allocations.get(tx_id, ())
            own_write_offs = [w["amount"] for w in queued.write_offs.get(tx_id, ()) if w["invoice_id"] is None]
            states[tx_id] = self._judge_transaction(
                row,
                sum(
                    (
                        signed_effect(kinds[a["invoice_id"]], a["amount"], a["returns_allocation_id"])
                        for a in allocations
                    ),
                    ZERO,
                ),
                sum(own_write_offs, ZERO),
                settled_any=bool(allocations or own_write_offs),
                suggested=tx_id in queued.suggestions,
                updates=[],  # stored with its state below, never updated
                changes=changes,
            )
        for tx_id, row in self._known.items():
            row.status, row.amount_allocated, row.amount_written_off = states[tx_id]
        insert_rows(self.session, BankTransaction, [vars(row) for row in self._known.values()])
        return changes, states

    def _kinds_of(self, invoice_ids: set[str]) -> dict[str, str]:
        """Invoice kinds: those settled just now are known (an allocation touches its invoice), others read."""
        missing = sorted(invoice_ids - self._kinds.keys())
        for chunk in _chunks(missing):
            self._kinds.update(
                self.session.execute(
                    select(_INVOICES.c.id, _INVOICES.c.kind).where(one_of(_INVOICES.c.id, chunk))
                ).all()
            )
        return self._kinds

    def _judge_transaction(
        self,
        row: Any,
        money: Decimal,
        written: Decimal,
        *,
        settled_any: bool,
        suggested: bool,
        updates: list[dict[str, Any]],
        changes: list[TransactionStateChanged],
    ) -> _State:
        """One transaction's state from its allocations (signed), write-offs and suggestions: the update to
        store and the change to tell, if any. Refuses money beyond what the transaction moved."""
        off = written * (1 if row.amount >= 0 else -1)
        if not fits(row.amount, money, off):
            raise Conflict(
                f"transaction {row.id} of {format_amount(row.amount)} would have "
                f"{format_amount(money + off)} allocated and written off; nothing was changed"
            )
        status = transaction_status(
            row.amount,
            money,
            off,
            settled_any=settled_any,
            suggested=suggested,
            ignored=row.status == "ignored",
            returns=getattr(row, "returns_transaction_id", None) is not None,
        )
        stored = (row.status, row.amount_allocated, row.amount_written_off)
        if (status, money, off) != stored:
            updates.append({"id": row.id, "status": status, "amount_allocated": money, "amount_written_off": off})
        if not self._announce:
            self._transaction_baseline.setdefault(row.id, stored)
            return (status, money, off)
        before = self._transaction_baseline.get(row.id, stored)
        new = row.id in self._fresh
        if worth_telling(
            row.amount, status, status_changed=new or status != before[0], remainder_changed=(money, off) != before[1:]
        ):
            changes.append(
                TransactionStateChanged(row.id, status, None if new else before[0], row.amount - money - off)
            )
        return (status, money, off)


#: A transaction's derived state: status, allocated and written-off amounts (signed like its amount).
_State = tuple[str, Decimal, Decimal]


class _Queued:
    """What one settle wrote, by transaction: for transactions whose rows are known, all there is of them."""

    def __init__(
        self, allocations: list[dict[str, Any]], write_offs: list[dict[str, Any]], suggestions: list[dict[str, Any]]
    ) -> None:
        self.allocations = _by_transaction(allocations)
        self.write_offs = _by_transaction(write_offs)
        self.suggestions = _by_transaction(suggestions)
        self.allocations_of = _by_invoice(allocations)
        self.write_offs_of = _by_invoice(write_offs)


def _by_invoice(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Queued rows grouped by their invoice (write-offs of a transaction alone have none)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["invoice_id"] is not None:
            out.setdefault(row["invoice_id"], []).append(row)
    return out


def _with_day(rows: Sequence[dict[str, Any]], known: dict[str, Any]) -> list[Any]:
    """Queued rows read as stored rows are, with their new transaction's booking day (as _with_booking_day)."""
    return [
        SimpleNamespace(**row, booked=known[row["transaction_id"]].booking_date if row["transaction_id"] else None)
        for row in rows
    ]


def _by_transaction(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Queued rows grouped by their transaction (write-offs of an invoice alone have none)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["transaction_id"] is not None:
            out.setdefault(row["transaction_id"], []).append(row)
    return out
