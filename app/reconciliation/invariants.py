"""The money-state invariants, checked on a live database (``codarecon check``) and after every step of the
stateful property tests. Each violation names the rows it is about.

- A transaction's allocations plus write-offs never exceed its amount (in its direction), its stored
  figures equal what its allocations and write-offs add up to, and its status follows from them.
- An invoice's ``amount_paid`` equals its allocations, its ``write_off_amount`` its write-offs, and its
  status and ``outstanding`` follow from both.
- The accounts customers paid from (``learned_payers``) count exactly the allocations that link them.
- Allocations and write-offs stay within one company, are positive, and never touch a globalisation total.
- A globalisation total, and nothing else, is ``ignored``: its money is counted in its details.
- A write-off that came with an allocation names that allocation (undoing it undoes the write-off), and an open
  suggestion proposes no cancelled invoice.
- Every money change of an invoice was announced: its latest money event records the state it is in now.
- Money that came back (issue 40): a return allocation takes back an allocation of the same invoice made by
  the payment its transaction returns; no allocation is taken back beyond its amount, no payment beyond its
  amount, and a payment that came back whole has no effect left on any invoice.
- Money on its way (issue 43): an invoice's ``pending_amount`` is its pending payments still pending, a booked
  pending payment names its booked twin, and a movement seen twice (Ponto, then a bank file) counts as a stored
  movement of the same company, day and amount.

Work is streamed in chunks with grouped queries, so a check of 100,000 invoices stays within seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, type_coerce
from sqlmodel import Session, col, select

from app.core.db import Money
from app.core.events import EVENT_RETENTION, INVOICE_STATUS_EVENTS
from app.core.money import format_amount
from app.core.outbox_models import Event
from app.core.timeutil import as_utc, utcnow
from app.invoices.models import Invoice
from app.reconciliation.models import (
    SERVICE_WRITE_OFF_REASONS,
    WRITE_OFF_REASONS,
    Allocation,
    LearnedPayer,
    Suggestion,
    WriteOff,
)
from app.reconciliation.status import fits, invoice_status, paid_effect, signed_effect, transaction_status
from app.statements.models import BankTransaction, MovementTwin, PendingPayment

ZERO = Decimal("0.00")
_CHUNK = 1000
_MONEY_EVENTS = tuple(INVOICE_STATUS_EVENTS.values())


@dataclass(frozen=True)
class Violation:
    rule: str
    subject_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject_id}: {self.message}"


def check(session: Session, company_id: str | None = None) -> list[Violation]:
    """Every violation of the money-state invariants (for one company, or all)."""
    return [
        *_transactions(session, company_id),
        *_invoices(session, company_id),
        *_learned_payers(session, company_id),
        *_links(session, company_id),
        *_totals(session, company_id),
        *_suggestions(session, company_id),
        *_events(session, company_id),
        *_returns(session, company_id),
        *_pending(session, company_id),
        *_twins(session, company_id),
    ]


def _ids(session: Session, model: type, company_id: str | None, *where: object) -> Iterator[list[str]]:
    """Ids in keyset-ordered chunks (memory stays flat on a large ledger)."""
    after = ""
    while True:
        query = select(model.id).where(col(model.id) > after, *where).order_by(col(model.id)).limit(_CHUNK)  # type: ignore[attr-defined]
        if company_id is not None:
            query = query.where(model.company_id == company_id)  # type: ignore[attr-defined]
        ids = list(session.exec(query).all())
        if not ids:
            return
        yield ids
        after = ids[-1]


def _transactions(session: Session, company_id: str | None) -> Iterator[Violation]:
    for chunk in _ids(session, BankTransaction, company_id, BankTransaction.kind != "total"):
        allocated: dict[str, Decimal] = defaultdict(lambda: ZERO)
        written: dict[str, Decimal] = defaultdict(lambda: ZERO)
        settled: set[str] = set()
        for tx_id, kind, amount, returns in session.execute(
            select(Allocation.transaction_id, Invoice.kind, Allocation.amount, Allocation.returns_allocation_id)
            .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
            .where(col(Allocation.transaction_id).in_(chunk))
        ):
            allocated[tx_id] += signed_effect(kind, amount, returns)
            settled.add(tx_id)
        for tx_id, amount in session.execute(
            select(WriteOff.transaction_id, WriteOff.amount).where(
                col(WriteOff.transaction_id).in_(chunk), col(WriteOff.invoice_id).is_(None)
            )
        ):
            written[tx_id] += amount
            settled.add(tx_id)
        suggested = set(
            session.exec(
                select(Suggestion.transaction_id).where(
                    col(Suggestion.transaction_id).in_(chunk), Suggestion.status == "open"
                )
            ).all()
        )
        for tx in session.exec(select(BankTransaction).where(col(BankTransaction.id).in_(chunk))):
            money = allocated[tx.id]
            off = written[tx.id] * (1 if tx.amount >= 0 else -1)
            if not fits(tx.amount, money, off):
                yield Violation(
                    "transaction.exceeded",
                    tx.id,
                    f"allocations {format_amount(money)} and write-offs {format_amount(off)} exceed its amount "
                    f"{format_amount(tx.amount)}",
                )
            if (tx.amount_allocated, tx.amount_written_off) != (money, off):
                yield Violation(
                    "transaction.figures",
                    tx.id,
                    f"shows {format_amount(tx.amount_allocated)} allocated and {format_amount(tx.amount_written_off)}"
                    f" written off; its allocations and write-offs come to {format_amount(money)} and "
                    f"{format_amount(off)}",
                )
            expected = transaction_status(
                tx.amount,
                money,
                off,
                settled_any=tx.id in settled,
                suggested=tx.id in suggested,
                ignored=tx.status == "ignored",
                returns=tx.returns_transaction_id is not None,
            )
            if tx.status != expected:
                yield Violation("transaction.status", tx.id, f"status {tx.status}, but its money says {expected}")
            if tx.status == "matched" and tx.id in suggested:
                yield Violation("transaction.suggestions", tx.id, "fully matched, yet a suggestion is still open")
            if tx.status == "ignored":
                yield Violation(
                    "transaction.ignored", tx.id, "a booked movement, yet ignored like a globalisation total"
                )


def _suggestions(session: Session, company_id: str | None) -> Iterator[Violation]:
    """An open suggestion proposes only invoices that can still be paid: cancelling withdraws those naming it."""
    query = select(Suggestion).where(Suggestion.status == "open")
    if company_id is not None:
        query = query.where(Suggestion.company_id == company_id)
    for suggestion in session.exec(query):
        named = [line["invoice_id"] for line in suggestion.allocations]
        cancelled = session.exec(
            select(Invoice.id).where(col(Invoice.id).in_(named), Invoice.status == "cancelled")
        ).all()
        for invoice_id in cancelled:
            yield Violation(
                "suggestion.cancelled", suggestion.id, f"open, yet it proposes cancelled invoice {invoice_id}"
            )


def _totals(session: Session, company_id: str | None) -> Iterator[Violation]:
    for chunk in _ids(session, BankTransaction, company_id, BankTransaction.kind == "total"):
        for tx in session.exec(select(BankTransaction).where(col(BankTransaction.id).in_(chunk))):
            if tx.status != "ignored":
                yield Violation("total.status", tx.id, f"a globalisation total is ignored, not {tx.status}")


def _invoices(session: Session, company_id: str | None) -> Iterator[Violation]:
    for chunk in _ids(session, Invoice, company_id):
        paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for invoice_id, returns, amount in session.execute(
            select(
                Allocation.invoice_id,
                col(Allocation.returns_allocation_id).is_not(None),
                type_coerce(func.sum(Allocation.amount), Money()),
            )
            .where(col(Allocation.invoice_id).in_(chunk))
            .group_by(col(Allocation.invoice_id), col(Allocation.returns_allocation_id).is_not(None))
        ):
            paid[invoice_id] += paid_effect(amount, returns)
        written = dict(
            session.execute(
                select(WriteOff.invoice_id, type_coerce(func.sum(WriteOff.amount), Money()))
                .where(col(WriteOff.invoice_id).in_(chunk))
                .group_by(col(WriteOff.invoice_id))
            ).all()
        )
        for inv in session.exec(select(Invoice).where(col(Invoice.id).in_(chunk))):
            money, off = paid.get(inv.id) or ZERO, written.get(inv.id) or ZERO
            if inv.amount_paid != money:
                yield Violation(
                    "invoice.amount_paid",
                    inv.id,
                    f"amount_paid {format_amount(inv.amount_paid)}, its allocations come to {format_amount(money)}",
                )
            if inv.write_off_amount != off:
                yield Violation(
                    "invoice.write_off_amount",
                    inv.id,
                    f"write_off_amount {format_amount(inv.write_off_amount)}, its write-offs come to "
                    f"{format_amount(off)}",
                )
            expected = invoice_status(inv.total_amount, money, off, inv.cancelled_at is not None)
            if inv.status != expected:
                yield Violation("invoice.status", inv.id, f"status {inv.status}, but its money says {expected}")
            if inv.cancelled_at is not None and (money or off):
                yield Violation("invoice.cancelled_paid", inv.id, "cancelled, yet money is allocated or written off")
            if inv.outstanding != inv.total_amount - money - off:
                yield Violation(
                    "invoice.outstanding",
                    inv.id,
                    f"outstanding {format_amount(inv.outstanding)}, but its total less its allocations and "
                    f"write-offs is {format_amount(inv.total_amount - money - off)}",
                )


def _learned_payers(session: Session, company_id: str | None) -> Iterator[Violation]:
    """The accounts customers paid from, as kept by the Ledger, against a count over every allocation."""
    counted = select(Allocation.company_id, BankTransaction.counterparty_iban, Invoice.customer_key, func.count()).join(
        BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id)
    )
    counted = counted.join(Invoice, col(Invoice.id) == col(Allocation.invoice_id)).where(
        col(BankTransaction.counterparty_iban).is_not(None), col(Allocation.returns_allocation_id).is_(None)
    )
    kept = select(LearnedPayer.company_id, LearnedPayer.iban, LearnedPayer.customer_key, LearnedPayer.allocations)
    if company_id is not None:
        counted = counted.where(Allocation.company_id == company_id)
        kept = kept.where(LearnedPayer.company_id == company_id)
    counted = counted.group_by(Allocation.company_id, BankTransaction.counterparty_iban, Invoice.customer_key)
    expected = {(c, i, k): n for c, i, k, n in session.execute(counted)}
    stored = {(c, i, k): n for c, i, k, n in session.execute(kept)}
    for key in sorted(expected.keys() | stored.keys()):
        if expected.get(key, 0) != stored.get(key, 0):
            yield Violation(
                "learned_payer.count",
                f"{key[1]} -> {key[2]}",
                f"kept as {stored.get(key, 0)} allocations, the allocations count {expected.get(key, 0)}",
            )


def _links(session: Session, company_id: str | None) -> Iterator[Violation]:
    allocations = (
        select(
            Allocation.id,
            Allocation.company_id,
            Allocation.amount,
            Invoice.company_id.label("invoice_company"),  # type: ignore[attr-defined]
            BankTransaction.company_id.label("tx_company"),  # type: ignore[attr-defined]
            BankTransaction.kind,
        )
        .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
        .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
    )
    if company_id is not None:
        allocations = allocations.where(Allocation.company_id == company_id)
    for row in session.execute(allocations):
        if not row.company_id == row.invoice_company == row.tx_company:
            yield Violation("allocation.company", row.id, "its transaction, invoice and itself are not of one company")
        if row.amount <= 0:
            yield Violation("allocation.amount", row.id, f"amount {format_amount(row.amount)} is not positive")
        if row.kind == "total":
            yield Violation("allocation.total", row.id, "allocates a globalisation total, not a booked movement")
    write_offs = select(WriteOff)
    if company_id is not None:
        write_offs = write_offs.where(WriteOff.company_id == company_id)
    for w in session.exec(write_offs):
        if w.amount <= 0:
            yield Violation("write_off.amount", w.id, f"amount {format_amount(w.amount)} is not positive")
        if w.reason not in WRITE_OFF_REASONS + SERVICE_WRITE_OFF_REASONS:
            yield Violation("write_off.reason", w.id, f"reason {w.reason!r} is not one of {WRITE_OFF_REASONS}")
        if w.invoice_id is None and w.transaction_id is None:
            yield Violation("write_off.owner", w.id, "belongs to neither an invoice nor a transaction")
        if w.allocation_id is not None:
            # Undoing that allocation undoes this write-off (docs/ledger.md): it must be the allocation of the
            # same invoice and payment, or an undo would remove the wrong one.
            allocation = session.get(Allocation, w.allocation_id)
            if allocation is None or (allocation.invoice_id, allocation.transaction_id) != (
                w.invoice_id,
                w.transaction_id,
            ):
                yield Violation(
                    "write_off.allocation", w.id, f"names allocation {w.allocation_id} of another invoice or payment"
                )
        for model, owner in ((Invoice, w.invoice_id), (BankTransaction, w.transaction_id)):
            if owner is not None:
                row = session.get(model, owner)
                if row is None or row.company_id != w.company_id:  # type: ignore[attr-defined]
                    yield Violation("write_off.company", w.id, f"{owner} is not of the write-off's company")
                elif model is BankTransaction and row.kind == "total":  # type: ignore[attr-defined]
                    yield Violation("write_off.total", w.id, "writes off a globalisation total, not a booked movement")


def _events(session: Session, company_id: str | None) -> Iterator[Violation]:
    """Each invoice's latest money event records the money state the invoice is in."""
    for chunk in _ids(session, Invoice, company_id):
        latest: dict[str, dict] = {}
        for subject_id, payload in session.execute(
            select(Event.subject_id, Event.payload)
            .where(col(Event.subject_id).in_(chunk), col(Event.type).in_(_MONEY_EVENTS))
            .order_by(col(Event.created_at), col(Event.id))
        ):
            latest[subject_id] = payload.get("change", payload)
        for inv in session.exec(select(Invoice).where(col(Invoice.id).in_(chunk))):
            change = latest.get(inv.id)
            untouched = inv.status == "open" and not inv.amount_paid and not inv.write_off_amount
            if change is None:
                # Events are kept EVENT_RETENTION: an invoice unchanged since may have outlived its last one.
                if not untouched and as_utc(inv.updated_at) >= utcnow() - EVENT_RETENTION:
                    yield Violation("event.missing", inv.id, f"is {inv.status} but no event ever said so")
                continue
            recorded = (change.get("status"), change.get("amount_paid"), change.get("write_off_amount", "0.00"))
            state = (inv.status, format_amount(inv.amount_paid), format_amount(inv.write_off_amount))
            if inv.status == "cancelled":
                recorded, state = recorded[:1], state[:1]
            if recorded != state:
                yield Violation(
                    "event.stale",
                    inv.id,
                    f"is {state}, but its latest event recorded {recorded}",
                )


def _returns(session: Session, company_id: str | None) -> Iterator[Violation]:
    """Returns take back what their original paid, never more, and a payment that came back whole leaves nothing."""
    returned = select(Allocation).where(col(Allocation.returns_allocation_id).is_not(None))
    if company_id is not None:
        returned = returned.where(Allocation.company_id == company_id)
    taken: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in session.exec(returned):
        original = session.get(Allocation, r.returns_allocation_id)
        tx = session.get(BankTransaction, r.transaction_id)
        if original is None or original.invoice_id != r.invoice_id or original.returns_allocation_id is not None:
            yield Violation(
                "return.allocation", r.id, f"takes back {r.returns_allocation_id}, not a payment of its invoice"
            )
            continue
        if tx is None or tx.returns_transaction_id != original.transaction_id:
            yield Violation("return.original", r.id, f"its transaction does not return {original.transaction_id}")
        taken[original.id] += r.amount
    for allocation_id, amount in sorted(taken.items()):
        original = session.get_one(Allocation, allocation_id)
        if amount > original.amount:
            yield Violation(
                "return.twice",
                allocation_id,
                f"{format_amount(amount)} taken back of an allocation of {format_amount(original.amount)}",
            )
    returns = select(BankTransaction).where(col(BankTransaction.returns_transaction_id).is_not(None))
    if company_id is not None:
        returns = returns.where(BankTransaction.company_id == company_id)
    back: dict[str, Decimal] = defaultdict(lambda: ZERO)
    companies: dict[str, str] = {}
    for tx in session.exec(returns):
        back[tx.returns_transaction_id] += abs(tx.amount)  # type: ignore[index]
        companies[tx.returns_transaction_id] = tx.company_id  # type: ignore[index]
    for original_id, amount in sorted(back.items()):
        original = session.get(BankTransaction, original_id)
        if original is None or original.company_id != companies[original_id]:
            yield Violation("return.original", original_id, "is returned, but is no payment of the same company")
            continue
        if amount > abs(original.amount):
            yield Violation(
                "return.twice", original_id, f"{format_amount(amount)} came back of {format_amount(original.amount)}"
            )
        elif amount == abs(original.amount):
            left = [
                a.id
                for a in session.exec(
                    select(Allocation).where(
                        Allocation.transaction_id == original_id, col(Allocation.returns_allocation_id).is_(None)
                    )
                )
                if a.amount != taken.get(a.id, ZERO)
            ]
            if left:
                yield Violation("return.net", original_id, f"came back whole, yet still pays through {', '.join(left)}")


def _pending(session: Session, company_id: str | None) -> Iterator[Violation]:
    """An invoice's pending amount is its pending payments not booked or expired; a booked one names its twin."""
    for chunk in _ids(session, Invoice, company_id):
        owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for invoice_id, amount in session.execute(
            select(PendingPayment.invoice_id, PendingPayment.amount).where(
                col(PendingPayment.invoice_id).in_(chunk), PendingPayment.state == "pending"
            )
        ):
            owed[invoice_id] += amount
        for inv_id, pending in session.execute(
            select(Invoice.id, Invoice.pending_amount).where(col(Invoice.id).in_(chunk))
        ):
            if pending != owed[inv_id]:
                yield Violation(
                    "invoice.pending_amount",
                    inv_id,
                    f"pending_amount {format_amount(pending)}, its pending payments come to "
                    f"{format_amount(owed[inv_id])}",
                )
    booked = select(PendingPayment.id).where(
        PendingPayment.state == "booked", col(PendingPayment.transaction_id).is_(None)
    )
    if company_id is not None:
        booked = booked.where(PendingPayment.company_id == company_id)
    for pending_id in session.exec(booked):
        yield Violation("pending.booked", pending_id, "booked, yet it names no booked transaction")


def _twins(session: Session, company_id: str | None) -> Iterator[Violation]:
    """A movement seen twice is one payment: its twin is a stored movement of the same company, day and amount."""
    query = select(MovementTwin, BankTransaction).join(
        BankTransaction, col(BankTransaction.id) == col(MovementTwin.transaction_id)
    )
    if company_id is not None:
        query = query.where(MovementTwin.company_id == company_id)
    for twin, tx in session.exec(query):
        if (tx.company_id, tx.booking_date, tx.amount) != (twin.company_id, twin.booking_date, twin.amount):
            yield Violation(
                "twin.payment",
                twin.id,
                f"counted as transaction {tx.id}, which is another company's, day or amount",
            )
