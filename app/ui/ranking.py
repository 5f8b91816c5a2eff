"""Which open invoices a person most likely wants for a payment the machine could not settle, best first.

Candidates come through the same indexed lookups as matching (a reference or invoice number typed in the
communication, the amount left, the payer's account, the words of the payer's name), never a scan of the
ledger: a page of payments costs the same for a company with a hundred open invoices as with a hundred
thousand. Each candidate carries the reasons it is listed, shown next to it.

Each lookup is a signal of app/reconciliation/signals.py, and adds that signal's ``weight`` to the candidate's
rank. The weights are not the engine's scores: they add up over independent lookups (a number typed and the
same amount, 80, beats a reference alone, 60), where a score is the confidence of one whole explanation.
"""

from __future__ import annotations

from collections.abc import Callable
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
from app.reconciliation.signals import SIGNALS

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
#: Shown per payment: enough to choose from, few enough to read on a phone.
SHOWN = 8
#: A name this similar to the customer's counts as evidence (rapidfuzz token set ratio, 0-100).
NAME_SIMILAR = 80


@dataclass
class Candidate:
    invoice: OpenInvoice
    score: int = 0
    reasons: list[str] = field(default_factory=list)  # the signals that list it (app/reconciliation/signals.py)


@dataclass(frozen=True)
class PaymentView:
    amount_left: Decimal
    communication: str
    counterparty_name: str | None
    counterparty_iban: str | None


def _references(source: SqlCandidates, payment: PaymentView) -> list[OpenInvoice]:
    references = [r.value for r in find_references(payment.communication)]
    return source.invoices(_INVOICES.c.structured_reference, references) if references else []


def _numbers(source: SqlCandidates, payment: PaymentView) -> list[OpenInvoice]:
    keys, _tails = numbers_in_text(payment.communication)
    if not keys:
        return []
    return source.invoices(_INVOICES.c.number_key, sorted(keys)) + source.invoices(
        _INVOICES.c.number_digits_key, sorted(keys)
    )


def _amount(source: SqlCandidates, payment: PaymentView) -> list[OpenInvoice]:
    return source.invoices(_INVOICES.c.outstanding, [payment.amount_left]) if payment.amount_left > 0 else []


def _account(source: SqlCandidates, payment: PaymentView) -> list[OpenInvoice]:
    if not payment.counterparty_iban:
        return []
    customers = source.customers_by_iban([payment.counterparty_iban]).get(payment.counterparty_iban, set())
    return source.invoices(_INVOICES.c.customer_key, sorted(customers)) if customers else []


def _name(source: SqlCandidates, payment: PaymentView) -> list[OpenInvoice]:
    if not payment.counterparty_name:
        return []
    payer = normalize_name(payment.counterparty_name)
    members = source.token_members(sorted(name_tokens(payment.counterparty_name)))
    similar = {
        key
        for names in members.values()
        for key, name in names.items()
        if fuzz.token_set_ratio(payer, normalize_name(name)) >= NAME_SIMILAR
    }
    return source.invoices(_INVOICES.c.customer_key, sorted(similar)) if similar else []


#: The signals the page looks for, each with its lookup; what each adds to a candidate's rank is the signal's
#: ``weight`` in the table: a reference or number names the invoice, an equal amount alone is common, the
#: account and the name say who paid, not what for.
FINDERS: dict[str, Callable[[SqlCandidates, PaymentView], list[OpenInvoice]]] = {
    "free_text_reference": _references,
    "invoice_number": _numbers,
    "amount_equals_due": _amount,
    "payer_iban": _account,
    "payer_name": _name,
}


def rank(source: SqlCandidates, payment: PaymentView, limit: int = SHOWN) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    for signal, find in FINDERS.items():
        weight = SIGNALS[signal].weight or 0
        for invoice in find(source, payment):
            candidate = found.setdefault(invoice.id, Candidate(invoice))
            if signal not in candidate.reasons:
                candidate.reasons.append(signal)
                candidate.score += weight
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.invoice.due_date, c.invoice.number))
    return ranked[:limit]
