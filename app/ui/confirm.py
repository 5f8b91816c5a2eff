"""What an action on the review page will do, said before it is done: the amounts, the invoice's status and
what is left of the payment afterwards, and a write-off the payment tolerance would add.

Read only; the action itself runs the same decision service as the API, which checks everything again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.companies.models import Company
from app.companies.tolerance import Tolerance
from app.core.db import unit_of_work
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.invoices.models import Invoice
from app.reconciliation import rules_service
from app.reconciliation.models import WRITE_OFF_REASONS, Allocation, Suggestion, WriteOff
from app.reconciliation.status import invoice_amount_due, invoice_status, signed_effect
from app.statements.models import BankTransaction
from app.ui import i18n

ZERO = Decimal("0.00")


def _transaction(session: Session, company_id: str, transaction_id: str) -> BankTransaction:
    tx = session.get(BankTransaction, transaction_id)
    if tx is None or tx.company_id != company_id or tx.kind == "total":
        raise NotFound(f"no transaction {transaction_id}")
    return tx


def _invoice(session: Session, company_id: str, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id) if invoice_id else None
    if invoice is None or invoice.company_id != company_id:
        raise NotFound("choose an invoice" if not invoice_id else f"no invoice {invoice_id}")
    if invoice.status == "cancelled":
        raise Conflict(f"invoice {invoice.number} is cancelled")
    return invoice


def _left(tx: BankTransaction) -> Decimal:
    return tx.amount - tx.amount_allocated - tx.amount_written_off


def _invoice_after(invoice: Invoice, paid: Decimal, written_off: Decimal) -> tuple[str, Decimal]:
    amount_paid = invoice.amount_paid + paid
    write_off = invoice.write_off_amount + written_off
    status = invoice_status(invoice.total_amount, amount_paid, write_off, False)
    return status, invoice_amount_due(invoice.total_amount, amount_paid, write_off, False)


def _base(company: Company, tx: BankTransaction, t: Any, money: Any, language: str) -> dict[str, Any]:
    return {
        "company": {"name": company.name, "vat": company.vat},
        "payer": tx.counterparty_name or tx.counterparty_iban or "?",
        "payment_amount": money(tx.amount),
        "payment_date": i18n.day(tx.booking_date, language),
        "communication": tx.communication or "",
        "lines": [],
        "undo_note": t("undo_later"),
    }


def allocation(
    company_id: str,
    language: str,
    transaction_id: str,
    invoice_id: str,
    amount_text: str,
    *,
    allow_overpayment: bool = False,
) -> dict[str, Any]:
    """Allocating (part of) a payment to an invoice. An empty amount means what the invoice still needs, up to
    what is left of the payment."""
    f = i18n.Formats(language)
    t, money = f.t, f.money

    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        tx = _transaction(session, company_id, transaction_id)
        invoice = _invoice(session, company_id, invoice_id)
        due = invoice_amount_due(invoice.total_amount, invoice.amount_paid, invoice.write_off_amount, False)
        left = _left(tx)
        amount = i18n.parse_money(amount_text, language) if amount_text.strip() else min(left, due)
        # Said now rather than after Confirm (the decision service checks again).
        if amount > left:
            raise ValidationFailed(f"{money(amount)} is more than the {money(left)} left of the payment")
        if amount > due and not allow_overpayment:
            raise ValidationFailed(
                f"{money(amount)} is more than the {money(due)} due on invoice {invoice.number}; "
                "tick 'more than due' to allocate it anyway"
            )
        short = due - amount
        tolerated = (
            short if Tolerance.from_config(company.payment_tolerance).allows(short, invoice.total_amount) else ZERO
        )
        status, still_due = _invoice_after(invoice, amount, tolerated)
        preview = _base(company, tx, t, money, language)
        preview["lines"] = [
            t(
                "confirm_allocate",
                amount=money(amount),
                payer=preview["payer"],
                invoice=invoice.number,
                customer=invoice.customer_name,
            ),
            *([t("confirm_tolerance", amount=money(tolerated))] if tolerated else []),
            t("after_invoice", invoice=invoice.number, status=t(f"status_after_{status}"), due=money(still_due)),
            t("after_payment", left=money(left - signed_effect(invoice.kind, amount))),
        ]
        preview["action"] = f"/ui/transactions/{tx.id}/allocate"
        preview["fields"] = {
            "invoice_id": invoice.id,
            "amount": f"{amount:.2f}",
            "allow_overpayment": "true" if allow_overpayment else "",
        }
    return preview


def keep(company_id: str, language: str, transaction_id: str, amount_text: str, reason: str) -> dict[str, Any]:
    """Keeping (part of) a payment without an invoice, with a reason: a bank charge, a refund, a difference."""
    f = i18n.Formats(language)
    t, money = f.t, f.money

    if reason not in WRITE_OFF_REASONS:
        raise NotFound(f"unknown reason {reason[:40]!r}")
    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        tx = _transaction(session, company_id, transaction_id)
        left = _left(tx)
        amount = i18n.parse_money(amount_text, language) if amount_text.strip() else abs(left)
        preview = _base(company, tx, t, money, language)
        remaining = abs(left) - amount
        preview["lines"] = [
            t("confirm_keep", amount=money(amount), payer=preview["payer"], reason=t(f"reason_{reason}")),
            t("after_payment", left=money(remaining if left >= 0 else -remaining)),
        ]
        preview["action"] = f"/ui/transactions/{tx.id}/keep"
        preview["fields"] = {"amount": f"{amount:.2f}", "reason": reason}
    return preview


def acceptance(company_id: str, language: str, transaction_id: str, suggestion_id: str) -> dict[str, Any]:
    """Accepting a suggestion: each invoice it pays, and what the payment keeps afterwards."""
    f = i18n.Formats(language)
    t, money = f.t, f.money

    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        tx = _transaction(session, company_id, transaction_id)
        suggestion = session.get(Suggestion, suggestion_id)
        if suggestion is None or suggestion.company_id != company_id or suggestion.transaction_id != tx.id:
            raise NotFound(f"no suggestion {suggestion_id}")
        if suggestion.status != "open":
            raise Conflict(f"the suggestion is {suggestion.status}, not open")
        preview = _base(company, tx, t, money, language)
        lines = [t("confirm_accept", payer=preview["payer"], amount=money(tx.amount))]
        left = _left(tx)
        for part in suggestion.allocations:
            invoice = _invoice(session, company_id, part["invoice_id"])
            amount, write_off = Decimal(part["amount"]), Decimal(part.get("write_off", "0"))
            lines.append(
                t(
                    "confirm_allocate",
                    amount=money(amount),
                    payer=preview["payer"],
                    invoice=invoice.number,
                    customer=invoice.customer_name,
                )
            )
            if write_off:
                lines.append(t("confirm_tolerance", amount=money(write_off)))
            status, still_due = _invoice_after(invoice, amount, write_off)
            lines.append(
                t("after_invoice", invoice=invoice.number, status=t(f"status_after_{status}"), due=money(still_due))
            )
            left -= signed_effect(invoice.kind, amount)
        lines.append(t("after_payment", left=money(left)))
        preview["lines"] = lines
        preview["action"] = f"/ui/transactions/{tx.id}/suggestions/{suggestion.id}/accept"
        preview["fields"] = {}
    return preview


def undoing_allocation(company_id: str, language: str, transaction_id: str, allocation_id: str) -> dict[str, Any]:
    """Undoing an allocation: what it gave back to the invoice, and what the invoice owes afterwards. (A return's
    allocation undoes its whole reversal; the page says so.)"""
    f = i18n.Formats(language)
    t, money = f.t, f.money
    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        tx = _transaction(session, company_id, transaction_id)
        allocation = session.get(Allocation, allocation_id)
        if allocation is None or allocation.company_id != company_id or allocation.transaction_id != tx.id:
            raise NotFound(f"no allocation {allocation_id}")
        invoice = session.get_one(Invoice, allocation.invoice_id)
        preview = _base(company, tx, t, money, language)
        back = allocation.amount if allocation.returns_allocation_id else -allocation.amount
        status, still_due = _invoice_after(invoice, back, ZERO)
        key = "confirm_undo_return" if allocation.returns_allocation_id else "confirm_undo_allocation"
        preview["lines"] = [
            t(key, amount=money(allocation.amount), invoice=invoice.number, customer=invoice.customer_name),
            t("after_invoice", invoice=invoice.number, status=t(f"status_after_{status}"), due=money(still_due)),
        ]
        preview["undo_note"] = ""
        preview["action"] = f"/ui/transactions/{tx.id}/allocations/{allocation.id}/undo"
        preview["fields"] = {}
    return preview


def undoing_write_off(company_id: str, language: str, write_off_id: str) -> dict[str, Any]:
    """Undoing a write-off: the amount it settled (or kept), on which invoice or payment."""
    f = i18n.Formats(language)
    t, money = f.t, f.money
    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        write_off = session.get(WriteOff, write_off_id)
        if write_off is None or write_off.company_id != company_id:
            raise NotFound(f"no write-off {write_off_id}")
        tx = _transaction(session, company_id, write_off.transaction_id) if write_off.transaction_id else None
        preview = (
            _base(company, tx, t, money, language)
            if tx is not None
            else {
                "company": {"name": company.name, "vat": company.vat},
                "payer": "",
                "payment_amount": "",
                "payment_date": "",
                "communication": "",
                "lines": [],
            }
        )
        reason = t(f"reason_{write_off.reason}")
        if write_off.invoice_id:
            invoice = session.get_one(Invoice, write_off.invoice_id)
            status, still_due = _invoice_after(invoice, ZERO, -write_off.amount)
            preview["lines"] = [
                t("confirm_undo_write_off", amount=money(write_off.amount), invoice=invoice.number, reason=reason),
                t("after_invoice", invoice=invoice.number, status=t(f"status_after_{status}"), due=money(still_due)),
            ]
        else:
            preview["lines"] = [t("confirm_undo_kept", amount=money(write_off.amount), reason=reason)]
        preview["undo_note"] = ""
        preview["action"] = f"/ui/write-offs/{write_off.id}/undo"
        preview["fields"] = {}
    return preview


def rule_switched_on(company_id: str, language: str, rule_id: str) -> dict[str, Any]:
    """Switching a rule on: what its trial says it will do, payment by payment (the same plan it then follows)."""
    f = i18n.Formats(language)
    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        rule = rules_service.rule_at(session, company_id, rule_id)
        if rule.state == "on":
            raise Conflict(f"rule {rule.name} is on already")
        report = rules_service.trial(session, rule)
    acting = [p for p in report["payments"] if p["would"] != "nothing"]
    lines = [f.t("confirm_rule_on", name=rule.name, count=len(acting))]
    for p in acting:
        payer = p["counterparty_name"] or "?"
        lines.append(f"{i18n.day(p['booking_date'], language)} · {payer} · {f.money(p['amount'])}: {p['detail']}")
    return {
        "company": {"name": company.name, "vat": company.vat},
        "lines": lines,
        "undo_note": f.t("rule_undo_note"),
        "action": f"/ui/rules/{rule.id}/on",
        "fields": {},
    }
