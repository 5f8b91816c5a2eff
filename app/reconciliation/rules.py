"""Rules a bookkeeper names (issue 42): which payments a rule fits, and what it does to one.

A rule acts only on a payment that no reference settled: the engine runs first, and what it settled by an
OGM, an RF reference, a reference in the text or an invoice number stands. Of the rules that fit, the oldest
acts (one rule per payment, the same one every time). The actions:

- ``keep``: the payment's money is accounted for without an invoice (a bank fee, or another reason): one
  write-off of what is left of it, noted with the rule's name.
- ``payer``: the payment pays the named customer's open invoices: the one whose amount due is the payment's,
  else all of them when they add up to it exactly; otherwise the rule does nothing.
- ``never_auto``: the engine may propose, never book. An automatic match by weaker evidence (amount, payer,
  name) becomes a suggestion; a reference match still books.

Every use is made through the Ledger as ``rule:<id>`` and audited with the rule's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.invoices.models import Invoice
from app.reconciliation.models import MatchingRule

#: The engine's name on what it decides (``created_by``, an audit line's actor).
ENGINE = "matcher"
#: What a rule decides is booked as ``rule:<id>``.
RULE_ACTOR_PREFIX = "rule:"

#: The engine's methods that rest on a reference the payer wrote: no rule outranks them.
REFERENCE_METHODS = frozenset({"structured_reference", "free_text_reference", "reference_typo", "invoice_number"})
OPEN = ("open", "partially_paid")


def automatic(actor: str) -> bool:
    """Whether a decision was the machine's: the engine's, or a rule's that a person switched on."""
    return actor == ENGINE or actor.startswith(RULE_ACTOR_PREFIX)


def fits(rule: Any, tx: Any) -> bool:
    """Whether every condition of ``rule`` holds for the movement ``tx`` (a row or a model)."""
    amount = Decimal(tx.amount)
    if (rule.direction == "in" and amount <= 0) or (rule.direction == "out" and amount >= 0):
        return False
    size = abs(amount)
    if rule.amount_min is not None and size < rule.amount_min:
        return False
    if rule.amount_max is not None and size > rule.amount_max:
        return False
    if rule.counterparty_iban and (tx.counterparty_iban or "").replace(" ", "").upper() != rule.counterparty_iban:
        return False
    if rule.counterparty_name and rule.counterparty_name.casefold() not in (tx.counterparty_name or "").casefold():
        return False
    text = " ".join(filter(None, [tx.communication, tx.structured_content])).casefold()
    return all(word.casefold() in text for word in rule.words or [])


def first_fitting(rules: Sequence[Any], tx: Any) -> Any | None:
    return next((r for r in rules if fits(r, tx)), None)


def left_of(tx: Any) -> Decimal:
    """What of the movement's money nothing accounts for yet, as a size."""
    taken = Decimal(getattr(tx, "amount_allocated", 0) or 0) + Decimal(getattr(tx, "amount_written_off", 0) or 0)
    return abs(Decimal(tx.amount) - taken)


def rules_on(session: Session, company_id: str) -> list[MatchingRule]:
    """The company's rules that act, oldest first."""
    query = select(MatchingRule).where(MatchingRule.company_id == company_id, MatchingRule.state == "on")
    return list(session.exec(query.order_by(col(MatchingRule.created_at), col(MatchingRule.id))).all())


@dataclass(frozen=True)
class Plan:
    """What a rule does to one payment: ``keep`` an amount, ``pay`` invoices (id, amount), or nothing."""

    rule: Any
    keep: Decimal = Decimal("0")
    pay: tuple[tuple[str, Decimal], ...] = ()
    note: str = ""

    @property
    def acts(self) -> bool:
        return self.keep > 0 or bool(self.pay)


def plan(session: Session, company_id: str, rule: Any, tx: Any, left: Decimal) -> Plan:
    """What ``rule`` would do to ``tx`` with ``left`` of its money unaccounted for (``never_auto`` books nothing),
    the customer's open invoices read as stored."""

    def stored() -> list[tuple[str, str, Decimal]]:
        query = (
            select(Invoice.id, Invoice.number, Invoice.outstanding)
            .where(
                Invoice.company_id == company_id,
                Invoice.customer_key == rule.customer_key,
                col(Invoice.status).in_(OPEN),
                Invoice.kind == "invoice",
            )
            .order_by(col(Invoice.due_date), col(Invoice.id))
            .limit(200)
        )
        return [tuple(row) for row in session.execute(query).all()]

    return _plan(rule, tx, left, stored)


def plan_in_run(index: Any, rule: Any, tx: Any, left: Decimal) -> Plan:
    """As ``plan``, for a payment being matched: the customer's invoices as the run's invoice index has them,
    so that what the engine or a rule took earlier in the same upload is not taken twice."""

    def in_run() -> list[tuple[str, str, Decimal]]:
        docs = index.open_documents(rule.customer_key)
        return [(i.id, i.number, i.due) for i in docs if i.kind == "invoice" and i.due > 0]

    return _plan(rule, tx, left, in_run)


def _plan(rule: Any, tx: Any, left: Decimal, open_invoices: Callable[[], list[tuple[str, str, Decimal]]]) -> Plan:
    """The one decision both plans make; ``open_invoices``: the payer's (id, number, due), oldest due first."""
    if left <= 0:
        return Plan(rule, note="nothing left to account for")
    if rule.action == "keep":
        return Plan(rule, keep=left, note=f"kept as {rule.reason}")
    if rule.action != "payer" or Decimal(tx.amount) <= 0:
        return Plan(rule, note="never matched automatically" if rule.action == "never_auto" else "")
    invoices = open_invoices()
    exact = [(i, n) for i, n, due in invoices if due == left]
    if exact:
        invoice_id, number = exact[0]
        return Plan(rule, pay=((invoice_id, left),), note=f"pays {number}")
    if invoices and sum(due for _, _, due in invoices) == left:
        return Plan(
            rule, pay=tuple((i, due) for i, _, due in invoices), note="pays " + ", ".join(n for _, n, _ in invoices)
        )
    return Plan(rule, note=f"no open invoice of {rule.customer_name} comes to {left}")


def carry_out(ledger: Any, tx_id: str, planned: Plan) -> None:
    """Book the plan through the ledger, as the rule, audited with its name."""
    rule = planned.rule
    actor, ledger.actor = ledger.actor, f"{RULE_ACTOR_PREFIX}{rule.id}"
    try:
        if planned.keep > 0:
            ledger.write_off(planned.keep, rule.reason or "bank_fee", transaction_id=tx_id, note=f"rule: {rule.name}")
        for invoice_id, amount in planned.pay:
            ledger.allocate(
                tx_id, invoice_id, amount, method="rule", confidence=1.0,
                reasons=[{"code": "rule", "message": f"rule {rule.name!r}: {planned.note}"}],
            )  # fmt: skip
        ledger.audit("rule.applied", tx_id, {"rule": rule.name, "rule_id": rule.id, "did": planned.note})
    finally:
        ledger.actor = actor
