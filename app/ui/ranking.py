"""Which open invoices a person most likely wants for a payment the machine could not settle, best first.

Candidates come through the same indexed lookups as matching (a reference or invoice number typed in the
communication, the amount left, the payer's account, the words of the payer's name), never a scan of the
ledger: a page of payments costs the same for a company with a hundred open invoices as with a hundred
thousand. Each candidate carries the reasons it is listed, shown next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz

from app.identifiers.references import find_references
from app.invoices.models import Invoice
from app.reconciliation.candidates import SqlCandidates
from app.reconciliation.invoice_numbers import numbers_in_text
from app.reconciliation.keys import name_tokens
from app.reconciliation.matching import OpenInvoice
from app.reconciliation.names import normalize_name

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
#: Shown per payment: enough to choose from, few enough to read on a phone.
SHOWN = 8
#: A name this similar to the customer's counts as evidence (rapidfuzz token set ratio, 0-100).
NAME_SIMILAR = 80


@dataclass
class Candidate:
    invoice: OpenInvoice
    score: int = 0
    reasons: list[str] = field(default_factory=list)  # codes: reference, number, amount, account, name


@dataclass(frozen=True)
class PaymentView:
    amount_left: Decimal
    communication: str
    counterparty_name: str | None
    counterparty_iban: str | None


#: What each kind of evidence weighs: a reference or number names the invoice; an equal amount alone is
#: common; the account and the name say who paid, not what for.
WEIGHTS = {"reference": 60, "number": 50, "amount": 30, "account": 20, "name": 15}


def rank(source: SqlCandidates, payment: PaymentView, limit: int = SHOWN) -> list[Candidate]:
    found: dict[str, Candidate] = {}

    def take(invoices: list[OpenInvoice], reason: str) -> None:
        for invoice in invoices:
            candidate = found.setdefault(invoice.id, Candidate(invoice))
            if reason not in candidate.reasons:
                candidate.reasons.append(reason)
                candidate.score += WEIGHTS[reason]

    references = [r.value for r in find_references(payment.communication)]
    if references:
        take(source.invoices(_INVOICES.c.structured_reference, references), "reference")
    keys, _tails = numbers_in_text(payment.communication)
    if keys:
        take(source.invoices(_INVOICES.c.number_key, sorted(keys)), "number")
        take(source.invoices(_INVOICES.c.number_digits_key, sorted(keys)), "number")
    if payment.amount_left > 0:
        take(source.invoices(_INVOICES.c.outstanding, [payment.amount_left]), "amount")
    if payment.counterparty_iban:
        customers = source.customers_by_iban([payment.counterparty_iban]).get(payment.counterparty_iban, set())
        if customers:
            take(source.invoices(_INVOICES.c.customer_key, sorted(customers)), "account")
    if payment.counterparty_name:
        payer = normalize_name(payment.counterparty_name)
        members = source.token_members(sorted(name_tokens(payment.counterparty_name)))
        similar = {
            key
            for names in members.values()
            for key, name in names.items()
            if fuzz.token_set_ratio(payer, normalize_name(name)) >= NAME_SIMILAR
        }
        if similar:
            take(source.invoices(_INVOICES.c.customer_key, sorted(similar)), "name")
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.invoice.due_date, c.invoice.number))
    return ranked[:limit]
