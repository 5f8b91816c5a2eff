"""People's decisions on money: manual allocations, write-offs, accepting and rejecting suggestions, and the
undo of each. Every check-then-write holds what it checks: the company's ledger lock (a Ledger is made
first) and the checked rows ``FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.companies.models import Company
from app.companies.tolerance import Tolerance
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.money import format_amount
from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.reconciliation.ledger import Ledger
from app.reconciliation.locks import for_update
from app.reconciliation.models import WRITE_OFF_REASONS, Allocation, Suggestion, WriteOff
from app.reconciliation.returns import apply_return, offsets
from app.reconciliation.rules_service import propose_after_allocation, propose_after_keep
from app.reconciliation.status import fits, invoice_amount_due, signed_effect
from app.statements.models import BankTransaction

ZERO = Decimal("0.00")


def _invalid(loc: str, message: str, detail: str | None = None) -> ValidationFailed:
    return ValidationFailed(detail or message, errors=[{"loc": loc, "message": message}])


# -- locked reads ------------------------------------------------------------------------------------------


def _transaction(session: Session, company_id: str, transaction_id: str) -> BankTransaction:
    tx = session.exec(for_update(session, select(BankTransaction).where(BankTransaction.id == transaction_id))).first()
    if tx is None or tx.company_id != company_id or tx.kind == "total":
        raise NotFound(f"no transaction {transaction_id}")
    if tx.status == "ignored":
        raise Conflict(f"transaction {transaction_id} is set aside (ignored)")
    return tx


def _invoices(session: Session, company_id: str, invoice_ids: list[str], loc: str) -> dict[str, Invoice]:
    """The invoices, locked in id order (one order everywhere, so two writers never wait for each other)."""
    rows = session.exec(
        for_update(session, select(Invoice).where(col(Invoice.id).in_(invoice_ids)).order_by(col(Invoice.id)))
    ).all()
    found = {inv.id: inv for inv in rows if inv.company_id == company_id}
    for invoice_id in invoice_ids:
        if invoice_id not in found:
            if loc.startswith("path."):  # the address names no invoice: 404; a body naming one is invalid input
                raise NotFound(f"no invoice {invoice_id}")
            raise _invalid(loc, "unknown invoice", f"no invoice {invoice_id}")
        if found[invoice_id].status == "cancelled":
            raise Conflict(f"invoice {found[invoice_id].number} is cancelled")
    return found


def _due(invoice: Invoice) -> Decimal:
    return invoice_amount_due(invoice.total_amount, invoice.amount_paid, invoice.write_off_amount, False)


def _tolerance(session: Session, company_id: str) -> Tolerance:
    company = session.get(Company, company_id)
    return Tolerance.from_config(company.payment_tolerance if company else None)


def _unallocated(tx: BankTransaction) -> str:
    return format_amount(abs(tx.amount - tx.amount_allocated - tx.amount_written_off))


def _fits(tx: BankTransaction, additions: list[tuple[Invoice, Decimal]]) -> bool:
    after = tx.amount_allocated + sum((signed_effect(invoice.kind, amount) for invoice, amount in additions), ZERO)
    return fits(tx.amount, after, tx.amount_written_off)


def _check_fits(tx: BankTransaction, additions: list[tuple[Invoice, Decimal]]) -> None:
    """Allocations may not take more than the transaction's unallocated money, nor flip its direction."""
    for _, amount in additions:
        if amount <= 0:
            raise _invalid("body.amount", "must be greater than zero", "amount must be greater than zero")
    if not _fits(tx, additions):
        left = _unallocated(tx)
        raise _invalid(
            "body.amount",
            f"at most {left} of this transaction is unallocated",
            f"this would allocate more than the transaction's unallocated {left}",
        )


# -- allocations -------------------------------------------------------------------------------------------


def allocate_manually(
    session: Session,
    company_id: str,
    transaction_id: str,
    invoice_id: str,
    amount: Decimal,
    actor: str,
    *,
    allow_overpayment: bool,
    apply_tolerance: bool = True,
) -> str:
    ledger = Ledger(session, company_id, actor)
    tx = _transaction(session, company_id, transaction_id)
    invoice = _invoices(session, company_id, [invoice_id], "body.invoice_id")[invoice_id]
    _check_fits(tx, [(invoice, amount)])
    due = _due(invoice)
    if amount > due and not allow_overpayment:
        raise _invalid(
            "body.amount",
            f"invoice {invoice.number} has {format_amount(due)} due",
            f"{format_amount(amount)} is more than the {format_amount(due)} due on invoice {invoice.number}; "
            "send allow_overpayment: true to allocate it anyway",
        )
    reasons = [{"code": "manual", "message": f"allocated by {actor}"}]
    short = due - amount
    write_off = apply_tolerance and _tolerance(session, company_id).allows(short, invoice.total_amount)
    if write_off:
        reasons.append(
            {"code": "payment_difference", "message": f"{format_amount(short)} short, within the payment tolerance"}
        )
    allocation_id = ledger.allocate(tx.id, invoice.id, amount, method="manual", confidence=1.0, reasons=reasons)
    if write_off:
        ledger.write_off(
            short, "payment_difference", invoice_id=invoice.id, transaction_id=tx.id, allocation_id=allocation_id
        )
    _close_open_suggestions(session, tx.id, closed_by=allocation_id, actor=actor)
    ledger.settle()
    propose_after_allocation(session, company_id, tx)  # the same decision twice: a rule is proposed
    return allocation_id


def undo_allocation(session: Session, company_id: str, transaction_id: str, allocation_id: str, actor: str) -> None:
    """Undo an allocation and what came with it: its write-offs, and the suggestions its making closed."""
    ledger = Ledger(session, company_id, actor)
    allocation = session.exec(for_update(session, select(Allocation).where(Allocation.id == allocation_id))).first()
    if allocation is None or allocation.company_id != company_id or allocation.transaction_id != transaction_id:
        raise NotFound(f"no allocation {allocation_id}")
    suggestion_id = allocation.suggestion_id
    ledger.undo_allocation(allocation)
    ledger.settle(announce=False)  # dues first: what is reopened must fit them; events once, at the end
    closers = [allocation_id]
    if (
        suggestion_id is not None
        and not session.exec(select(Allocation.id).where(Allocation.suggestion_id == suggestion_id)).first()
    ):  # the whole accepted suggestion is undone: it is open again, and so is what it closed
        closers.append(suggestion_id)
        _reopen(session, [suggestion_id], statuses=("accepted",))
    _reopen_closed_by(session, closers)
    ledger.settle()  # the quiet settle's rows are announced here, with the statuses reopening gave them


def _reopen_closed_by(session: Session, closers: list[str]) -> None:
    """Reopen the suggestions that these decisions (allocations, accepted suggestions, write-offs) closed."""
    closed = session.exec(
        select(Suggestion.id).where(col(Suggestion.closed_by).in_(closers), Suggestion.status == "superseded")
    ).all()
    _reopen(session, list(closed), statuses=("superseded",))


def _reopen(session: Session, suggestion_ids: list[str], *, statuses: tuple[str, ...]) -> list[str]:
    """Reopen suggestions whose invoices still have what they propose due; returns those reopened."""
    reopened = []
    for suggestion in session.exec(select(Suggestion).where(col(Suggestion.id).in_(suggestion_ids))):
        if suggestion.status not in statuses or not _still_fits(session, suggestion):
            continue
        suggestion.status, suggestion.decided_by, suggestion.decided_at, suggestion.closed_by = "open", None, None, None
        session.add(suggestion)
        reopened.append(suggestion.id)
    session.flush()
    return reopened  # the transaction's status follows at the caller's next settle


def _still_fits(session: Session, suggestion: Suggestion) -> bool:
    tx = session.get_one(BankTransaction, suggestion.transaction_id)  # a suggestion's transaction is never deleted
    if any(part.get("returns") for part in suggestion.allocations):  # a return: accepting checks it again
        return tx.returns_transaction_id is None
    after = tx.amount_allocated
    for part in suggestion.allocations:
        invoice = session.get(Invoice, part["invoice_id"])
        if invoice is None or invoice.status == "cancelled":
            return False
        amount = Decimal(part["amount"])
        if amount + Decimal(part.get("write_off", "0")) > _due(invoice):
            return False
        after += signed_effect(invoice.kind, amount)
    return fits(tx.amount, after, tx.amount_written_off)


# -- suggestions -------------------------------------------------------------------------------------------


def _suggestion(session: Session, company_id: str, transaction_id: str, suggestion_id: str) -> Suggestion:
    suggestion = session.exec(for_update(session, select(Suggestion).where(Suggestion.id == suggestion_id))).first()
    if suggestion is None or suggestion.company_id != company_id or suggestion.transaction_id != transaction_id:
        raise NotFound(f"no suggestion {suggestion_id}")
    return suggestion


def accept_suggestion(
    session: Session, company_id: str, transaction_id: str, suggestion_id: str, actor: str
) -> list[str]:
    ledger = Ledger(session, company_id, actor)
    tx = _transaction(session, company_id, transaction_id)
    suggestion = _suggestion(session, company_id, transaction_id, suggestion_id)
    if suggestion.status != "open":
        raise Conflict(f"suggestion {suggestion_id} is already {suggestion.status}")
    if any(a.get("returns") for a in suggestion.allocations):
        return _accept_return(session, ledger, tx, suggestion, actor)
    ids = [a["invoice_id"] for a in suggestion.allocations]
    invoices = _invoices(session, company_id, sorted(set(ids)), "suggestion.allocations")
    parts = [
        (invoices[a["invoice_id"]], Decimal(a["amount"]), Decimal(a.get("write_off", "0")))
        for a in suggestion.allocations
    ]
    for invoice, amount, write_off in parts:
        if amount + write_off > _due(invoice):
            raise Conflict(
                f"invoice {invoice.number} has {format_amount(_due(invoice))} due now; the suggestion is out of date"
            )
    # Only positive amounts, so what _check_fits refuses here is money written off or allocated since the
    # suggestion was made: a stale suggestion, not an invalid request.
    if not _fits(tx, [(invoice, amount) for invoice, amount, _ in parts if amount > 0]):
        raise Conflict(f"the transaction has {_unallocated(tx)} unallocated now; the suggestion is out of date")
    reasons = [*suggestion.reasons, {"code": "accepted", "message": f"suggestion accepted by {actor}"}]
    allocations = []
    for invoice, amount, write_off in parts:
        allocation_id = ledger.allocate(
            tx.id,
            invoice.id,
            amount,
            method="suggestion",
            confidence=suggestion.score,
            reasons=reasons,
            suggestion_id=suggestion.id,
        )
        allocations.append(allocation_id)
        if write_off > 0:
            ledger.write_off(
                write_off,
                "payment_difference",
                invoice_id=invoice.id,
                transaction_id=tx.id,
                allocation_id=allocation_id,
            )
    _accepted(session, ledger, tx, suggestion, actor)
    propose_after_allocation(session, company_id, tx)
    return allocations


def _accepted(session: Session, ledger: Ledger, tx: BankTransaction, suggestion: Suggestion, actor: str) -> None:
    """What accepting does after its allocations: the suggestion is decided, the others close, all is settled."""
    suggestion.status, suggestion.decided_by, suggestion.decided_at = "accepted", actor, utcnow()
    session.add(suggestion)
    ledger.audit("suggestion.accepted", suggestion.id, {"transaction_id": tx.id})
    _close_open_suggestions(session, tx.id, closed_by=suggestion.id, actor=actor)
    ledger.settle()


def _accept_return(
    session: Session, ledger: Ledger, tx: BankTransaction, suggestion: Suggestion, actor: str
) -> list[str]:
    """A person confirms which payment money that came back returns: it is taken back as the suggestion said,
    provided that is still what taking it back means (nothing of it was returned or undone since)."""
    first = session.get(Allocation, suggestion.allocations[0]["returns"])
    original = session.get(BankTransaction, first.transaction_id) if first is not None else None
    if original is None or tx.returns_transaction_id is not None:
        raise Conflict("the payment this return was proposed for has changed; the suggestion is out of date")
    parts, rest = offsets(session, tx, original)
    proposed = [(a["returns"], a["invoice_id"], Decimal(a["amount"])) for a in suggestion.allocations]
    if proposed != [(p.allocation_id, p.invoice_id, p.amount) for p in parts]:
        raise Conflict("the payment this return was proposed for has changed; the suggestion is out of date")
    reasons = [*suggestion.reasons, {"code": "accepted", "message": f"suggestion accepted by {actor}"}]
    made = apply_return(
        session,
        ledger,
        tx,
        original,
        parts,
        rest,
        reasons=reasons,
        method="suggestion",
        confidence=suggestion.score,
        suggestion_id=suggestion.id,
    )
    _accepted(session, ledger, tx, suggestion, actor)
    return made


def reject_suggestion(session: Session, company_id: str, transaction_id: str, suggestion_id: str, actor: str) -> None:
    ledger = Ledger(session, company_id, actor)
    _transaction(session, company_id, transaction_id)
    suggestion = _suggestion(session, company_id, transaction_id, suggestion_id)
    if suggestion.status != "open":
        raise Conflict(f"suggestion {suggestion_id} is already {suggestion.status}")
    suggestion.status, suggestion.decided_by, suggestion.decided_at = "rejected", actor, utcnow()
    session.add(suggestion)
    ledger.audit("suggestion.rejected", suggestion.id, {"transaction_id": transaction_id})
    ledger.touch(transaction_id=transaction_id)
    ledger.settle()


def reopen_suggestion(session: Session, company_id: str, transaction_id: str, suggestion_id: str, actor: str) -> None:
    """Undo a rejection: the suggestion is open again, if what it proposes still fits."""
    ledger = Ledger(session, company_id, actor)
    _transaction(session, company_id, transaction_id)
    suggestion = _suggestion(session, company_id, transaction_id, suggestion_id)
    if suggestion.status != "rejected":
        raise Conflict(f"suggestion {suggestion_id} is {suggestion.status}; only a rejected one can be reopened")
    if not _reopen(session, [suggestion.id], statuses=("rejected",)):
        raise Conflict(f"suggestion {suggestion_id} no longer fits the transaction or its invoices")
    ledger.audit("suggestion.reopened", suggestion.id, {"transaction_id": transaction_id})
    ledger.touch(transaction_id=transaction_id)
    ledger.settle()


def _close_open_suggestions(session: Session, transaction_id: str, *, closed_by: str, actor: str) -> None:
    for other in session.exec(
        select(Suggestion).where(Suggestion.transaction_id == transaction_id, Suggestion.status == "open")
    ):
        other.status, other.decided_by, other.decided_at, other.closed_by = "superseded", actor, utcnow(), closed_by
        session.add(other)


# -- write-offs --------------------------------------------------------------------------------------------


def _reason(reason: str) -> str:
    if reason not in WRITE_OFF_REASONS:
        raise _invalid("body.reason", f"must be one of {', '.join(WRITE_OFF_REASONS)}")
    return reason


def write_off_invoice(
    session: Session,
    company_id: str,
    invoice_id: str,
    amount: Decimal,
    reason: str,
    actor: str,
    *,
    transaction_id: str | None = None,
    note: str | None = None,
) -> str:
    """Settle (part of) what an invoice has due without money: a discount, a bank fee, a small difference."""
    ledger = Ledger(session, company_id, actor)
    if transaction_id is not None:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None or tx.company_id != company_id or tx.kind == "total":
            raise _invalid("body.transaction_id", "unknown transaction", f"no transaction {transaction_id}")
    invoice = _invoices(session, company_id, [invoice_id], "path.invoice_id")[invoice_id]
    due = _due(invoice)
    if amount <= 0 or amount > due:
        raise _invalid(
            "body.amount",
            f"must be more than 0 and at most the {format_amount(due)} due",
            f"a write-off of {format_amount(amount)} does not fit the {format_amount(due)} due on {invoice.number}",
        )
    write_off_id = ledger.write_off(
        amount, _reason(reason), invoice_id=invoice.id, transaction_id=transaction_id, note=note
    )
    ledger.settle()
    return write_off_id


def write_off_transaction(
    session: Session,
    company_id: str,
    transaction_id: str,
    amount: Decimal,
    reason: str,
    actor: str,
    *,
    note: str | None,
) -> str:
    """Account for (part of) a transaction's unallocated money without an invoice."""
    ledger = Ledger(session, company_id, actor)
    tx = _transaction(session, company_id, transaction_id)
    left = abs(tx.amount - tx.amount_allocated - tx.amount_written_off)
    if amount <= 0 or amount > left:
        raise _invalid(
            "body.amount",
            f"must be more than 0 and at most the {format_amount(left)} unallocated",
            f"a write-off of {format_amount(amount)} does not fit the transaction's unallocated {format_amount(left)}",
        )
    write_off_id = ledger.write_off(amount, _reason(reason), transaction_id=tx.id, note=note)
    if amount == left:
        # Nothing of the money is left for what was proposed: the proposals close (its undo reopens them). A
        # partial write-off (a bank fee) leaves them open: the rest may still be for the proposed invoice.
        _close_open_suggestions(session, tx.id, closed_by=write_off_id, actor=actor)
    ledger.settle()
    propose_after_keep(session, company_id, tx, reason)
    return write_off_id


def undo_write_off(session: Session, company_id: str, write_off_id: str, actor: str, **owner: Any) -> None:
    """Undo a write-off; ``owner`` (invoice_id= or transaction_id=) is the resource the route names."""
    ledger = Ledger(session, company_id, actor)
    write_off = session.exec(for_update(session, select(WriteOff).where(WriteOff.id == write_off_id))).first()
    if (
        write_off is None
        or write_off.company_id != company_id
        or any(getattr(write_off, key) != value for key, value in owner.items())
    ):
        raise NotFound(f"no write-off {write_off_id}")
    ledger.undo_write_off(write_off)
    ledger.settle(announce=False)  # the money first: what is reopened must fit it; events once, at the end
    _reopen_closed_by(session, [write_off_id])
    ledger.settle()
