"""Rules over the API (issue 42): named, tried on the last days before they act, switched on and off by a person;
and proposals made from people's decisions, which a person accepts, edits or dismisses.

Switching a rule on does to the company's open payments of the last ``TRIAL_DAYS`` exactly what its trial
reported (one function plans both), and from then on it acts on every new payment (app/reconciliation/service.py).
A proposal never acts by itself: only a person switches a rule on.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.errors import Conflict, NotFound
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.identifiers.vat import VatError, normalize_customer_vat
from app.invoices.models import Invoice
from app.reconciliation.audit import record
from app.reconciliation.keys import customer_key
from app.reconciliation.ledger import Ledger
from app.reconciliation.models import Allocation, MatchingRule, Suggestion, WriteOff
from app.reconciliation.rules import ENGINE, REFERENCE_METHODS, RULE_ACTOR_PREFIX, Plan, carry_out, fits, left_of, plan
from app.statements.models import BankTransaction

TRIAL_DAYS = 90
#: Payments of the company a trial looks at, at most (the newest first).
TRIAL_LIMIT = 5000
OPEN_PAYMENT = ("unmatched", "suggested", "partially_matched")


def rule_at(session: Session, company_id: str, rule_id: str) -> MatchingRule:
    rule = session.get(MatchingRule, rule_id)
    if rule is None or rule.company_id != company_id:
        raise NotFound(f"no rule {rule_id}")
    return rule


def list_rules(session: Session, company_id: str, state: str | None = None) -> list[MatchingRule]:
    query = select(MatchingRule).where(MatchingRule.company_id == company_id)
    if state is not None:
        query = query.where(MatchingRule.state == state)
    return list(session.exec(query.order_by(col(MatchingRule.created_at), col(MatchingRule.id))).all())


def create_rule(session: Session, company_id: str, fields: dict[str, Any], actor: str) -> MatchingRule:
    _unique_name(session, company_id, fields["name"], None)
    rule = MatchingRule(id=new_id("rul"), company_id=company_id, created_by=actor, **fields)
    session.add(rule)
    record(session, company_id, actor, "rule.created", rule.id, {"rule": rule.name, "state": rule.state})
    session.flush()
    if rule.state == "on":
        switched_on(session, rule, actor)
    return rule


def create_from(session: Session, company_id: str, data: Any, actor: str) -> MatchingRule:
    """A rule from its API shape (RuleCreate): the customer a payer rule names becomes the invoices' customer key."""
    fields = data.model_dump(exclude={"customer"})
    if data.customer is not None:
        try:
            vat = normalize_customer_vat(data.customer.vat) if data.customer.vat else None
        except VatError:
            vat = data.customer.vat
        fields |= {"customer_key": customer_key(vat, data.customer.name), "customer_name": data.customer.name}
    return create_rule(session, company_id, fields, actor)


def update_rule(session: Session, rule: MatchingRule, fields: dict[str, Any], actor: str) -> dict[str, Any]:
    """Change a rule's conditions, action or state; switching it on applies it to the open payments of the last
    TRIAL_DAYS days, as its trial says. Returns what switching on did (empty otherwise)."""
    if "name" in fields:
        _unique_name(session, rule.company_id, fields["name"], rule.id)
    was = rule.state
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    session.add(rule)
    record(session, rule.company_id, actor, "rule.changed", rule.id, {"rule": rule.name, "from": was, "to": rule.state})
    session.flush()
    if rule.state == "on" and was != "on":
        return switched_on(session, rule, actor)
    return {}


def delete_rule(session: Session, rule: MatchingRule, actor: str) -> None:
    record(session, rule.company_id, actor, "rule.deleted", rule.id, {"rule": rule.name})
    session.delete(rule)


def trial(session: Session, rule: MatchingRule, days: int = TRIAL_DAYS, today: date | None = None) -> dict[str, Any]:
    """What the rule would do to the payments of the last ``days`` days that its conditions fit."""
    since = (today or utcnow().date()) - timedelta(days=days)
    rows = session.exec(
        select(BankTransaction)
        .where(
            BankTransaction.company_id == rule.company_id,
            col(BankTransaction.booking_date) >= since,
            BankTransaction.kind != "total",
        )
        .order_by(col(BankTransaction.booking_date).desc(), col(BankTransaction.id))
        .limit(TRIAL_LIMIT)
    ).all()
    fitting = [tx for tx in rows if fits(rule, tx)]
    by_reference = _settled_by_reference(session, [tx.id for tx in fitting])
    payments = []
    taken: set[str] = set()  # invoices an earlier payment of this trial pays: never paid twice
    for tx in reversed(fitting):  # oldest first, as switching on books them
        entry: dict[str, Any] = {
            "transaction_id": tx.id,
            "booking_date": tx.booking_date,
            "amount": tx.amount,
            "counterparty_name": tx.counterparty_name,
            "communication": tx.communication or tx.structured_reference or "",
            "invoice_ids": [],
        }
        if tx.id in by_reference:
            entry |= {"would": "nothing", "detail": "a reference settled it: no rule outranks a reference match"}
        elif tx.status not in OPEN_PAYMENT:
            entry |= {"would": "nothing", "detail": f"already {tx.status}"}
        elif rule.action == "never_auto":
            entry |= {"would": "nothing", "detail": "acts on new payments only: the engine will propose, not book"}
        else:
            planned = plan(session, rule.company_id, rule, tx, left_of(tx))
            if taken & {i for i, _ in planned.pay}:
                planned = Plan(rule, note="its invoice is paid by an earlier payment of this trial")
            taken |= {i for i, _ in planned.pay}
            kind = "keep" if planned.keep > 0 else "pay" if planned.pay else "nothing"
            entry |= {"would": kind, "detail": planned.note, "invoice_ids": [i for i, _ in planned.pay]}
        payments.append(entry)
    payments.reverse()  # newest first, as listed
    return {
        "rule_id": rule.id,
        "days": days,
        "since": since,
        "fitting": len(payments),
        "acting": sum(p["would"] != "nothing" for p in payments),
        "payments": payments,
    }


def switched_on(session: Session, rule: MatchingRule, actor: str) -> dict[str, Any]:
    """Do what the trial reports to the open payments it acts on; the open suggestions of those close."""
    report = trial(session, rule)
    acting = [p for p in report["payments"] if p["would"] != "nothing"]
    if not acting:
        return {"applied": 0}
    ledger = Ledger(session, rule.company_id, actor)
    for entry in reversed(acting):  # oldest first, as the trial planned them
        tx = session.get(BankTransaction, entry["transaction_id"])
        planned = plan(session, rule.company_id, rule, tx, left_of(tx))
        if planned.acts:
            carry_out(ledger, tx.id, planned)
            ledger.settle()  # the next payment's plan reads what this one paid
            for open_one in session.exec(
                select(Suggestion).where(Suggestion.transaction_id == tx.id, Suggestion.status == "open")
            ):
                open_one.status, open_one.decided_by, open_one.decided_at = (
                    "superseded",
                    f"{RULE_ACTOR_PREFIX}{rule.id}",
                    utcnow(),
                )
                session.add(open_one)
    ledger.settle()
    return {"applied": len(acting)}


def _settled_by_reference(session: Session, transaction_ids: list[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(transaction_ids), 500):
        out |= set(
            session.exec(
                select(Allocation.transaction_id).where(
                    col(Allocation.transaction_id).in_(transaction_ids[start : start + 500]),
                    col(Allocation.method).in_(REFERENCE_METHODS),
                )
            ).all()
        )
    return out


def _unique_name(session: Session, company_id: str, name: str, rule_id: str | None) -> None:
    query = select(MatchingRule.id).where(MatchingRule.company_id == company_id, MatchingRule.name == name)
    found = session.exec(query).first()
    if found is not None and found != rule_id:
        raise Conflict(f"the company already has a rule named {name!r}")


# -- proposals from people's decisions --------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]{3,}")


def _people(column: Any) -> Any:
    """A person's decision, in SQL: not ``automatic`` (neither the engine nor a rule made it)."""
    return (column != ENGINE) & ~col(column).startswith(RULE_ACTOR_PREFIX)


def words_of(text: str | None) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text or "")}


def propose_after_allocation(session: Session, company_id: str, tx: BankTransaction) -> list[MatchingRule]:
    """After a person allocated ``tx``: the same payer account to the same customer twice is a proposal."""
    if not tx.counterparty_iban or tx.amount <= 0:
        return []
    rows = session.execute(
        select(Invoice.customer_key, Invoice.customer_name, func.count(func.distinct(Allocation.transaction_id)))
        .join(Allocation, col(Allocation.invoice_id) == col(Invoice.id))
        .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
        .where(
            Allocation.company_id == company_id,
            BankTransaction.counterparty_iban == tx.counterparty_iban,
            col(Allocation.returns_allocation_id).is_(None),
            _people(Allocation.created_by),
        )
        .group_by(Invoice.customer_key, Invoice.customer_name)
    ).all()
    made = []
    for customer, customer_name, decisions in rows:
        if decisions < 2:
            continue
        key = f"payer:{tx.counterparty_iban}:{customer}"[:300]
        fields = {
            "name": f"{customer_name} pays from {tx.counterparty_iban}"[:100],
            "counterparty_iban": tx.counterparty_iban,
            "direction": "in",
            "action": "payer",
            "customer_key": customer,
            "customer_name": customer_name,
        }
        made += _propose(session, company_id, key, fields, tx.id)
    return made


def propose_after_keep(session: Session, company_id: str, tx: BankTransaction, reason: str) -> list[MatchingRule]:
    """After a person kept ``tx``'s money with ``reason``: the same words kept with the same reason twice is a
    proposal (the words both communications share)."""
    mine = words_of(tx.communication)
    if not mine:
        return []
    others = session.execute(
        select(BankTransaction.id, BankTransaction.communication)
        .join(WriteOff, col(WriteOff.transaction_id) == col(BankTransaction.id))
        .where(
            WriteOff.company_id == company_id,
            col(WriteOff.invoice_id).is_(None),
            WriteOff.reason == reason,
            _people(WriteOff.created_by),
            BankTransaction.id != tx.id,
        )
        .order_by(col(WriteOff.created_at).desc())
        .limit(200)
    ).all()
    for other_id, communication in others:
        shared = sorted(mine & words_of(communication))[:3]
        if shared:
            key = f"keep:{reason}:{'|'.join(shared)}"[:300]
            fields = {"name": f"keep '{' '.join(shared)}' as {reason}"[:100], "words": shared, "action": "keep",
                      "reason": reason}  # fmt: skip
            return _propose(session, company_id, key, fields, tx.id, other_id)
    return []


def _propose(session: Session, company_id: str, key: str, fields: dict[str, Any], *sources: str) -> list[MatchingRule]:
    exists = session.exec(
        select(MatchingRule.id).where(MatchingRule.company_id == company_id, MatchingRule.proposal_key == key)
    ).first()
    if exists is not None:  # proposed already, accepted, or dismissed: never proposed again
        return []
    name = fields["name"]
    if session.exec(
        select(MatchingRule.id).where(MatchingRule.company_id == company_id, MatchingRule.name == name)
    ).first():
        return []
    rule = MatchingRule(
        id=new_id("rul"), company_id=company_id, state="proposed", proposal_key=key, proposed_from=list(sources),
        created_by=ENGINE, **fields,
    )  # fmt: skip
    session.add(rule)
    record(session, company_id, ENGINE, "rule.proposed", rule.id, {"rule": name})
    return [rule]
