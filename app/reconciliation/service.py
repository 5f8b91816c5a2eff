"""Runs matching for new bank transactions and new invoices, and applies the outcome through the Ledger.

The rules themselves live in pure modules; this layer loads what they need (as plain rows, in chunks),
applies the outcome through the Ledger, and records events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.companies.models import Company
from app.companies.tolerance import Tolerance
from app.core.db import plain_rows
from app.core.money import format_amount
from app.core.one_of import one_of
from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.reconciliation.candidates import SqlCandidates, StoredInvoiceIndex
from app.reconciliation.collections import match_collections
from app.reconciliation.ledger import Ledger
from app.reconciliation.locks import lock_company_ledger
from app.reconciliation.matching import Allocation as Matched
from app.reconciliation.matching import MatchConfig, Matcher, Part, Payment
from app.reconciliation.models import Suggestion
from app.reconciliation.returns import is_return, reverse_returns
from app.reconciliation.rules import REFERENCE_METHODS, Plan, carry_out, first_fitting, left_of, plan_in_run, rules_on
from app.statements.models import BankTransaction

_CHUNK = 500
_TX = BankTransaction.__table__  # type: ignore[attr-defined]
_INVOICES = Invoice.__table__  # type: ignore[attr-defined]


@dataclass
class MatchSummary:
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"matched": self.matched, "suggested": self.suggested, "unmatched": self.unmatched}


def _rows(session: Session, table: Any, column: Any, values: Sequence[Any], *where: Any) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        out += plain_rows(session.execute(table.select().where(one_of(column, values[start : start + _CHUNK]), *where)))
    return out


def _rejected(session: Session, transaction_ids: Sequence[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for start in range(0, len(transaction_ids), _CHUNK):
        for tx_id, allocations in session.execute(
            select(Suggestion.transaction_id, Suggestion.allocations).where(
                one_of(col(Suggestion.transaction_id), transaction_ids[start : start + _CHUNK]),
                Suggestion.status == "rejected",
            )
        ):
            out |= {(tx_id, a["invoice_id"]) for a in allocations}
    return out


def match_transactions(session: Session, company_id: str, transaction_ids: Sequence[str]) -> MatchSummary:
    """Match stored leaf transactions again (e.g. when their invoice arrives after them), chunk by chunk."""
    if not transaction_ids:
        return MatchSummary()
    run = MatchRun(session, company_id, fresh=False, expected=len(transaction_ids))
    for start in range(0, len(transaction_ids), _MATCH_CHUNK):
        run.add(_rows(session, _TX, _TX.c.id, transaction_ids[start : start + _MATCH_CHUNK]))
    return run.summary


class MatchRun:
    """One run of the matching engine: transactions go in as rows, chunk by chunk, through one invoice index
    and one Ledger, which applies allocations, suggestions and events and settles after each chunk.

    ``fresh``: the rows are new transactions, not stored yet: the ledger stores them as it settles them, with
    their first state (an upload adds each statement's rows, so nothing is read back and memory follows the
    largest statement); their first status is announced.
    ``expected``: how many payments the whole run will have at most (an upload's movement records), so that
    the choice between reading the open ledger in one go and looking invoices up is made for the run, not
    for its first statement alone.
    """

    def __init__(self, session: Session, company_id: str, *, fresh: bool, expected: int = 0) -> None:
        self.session = session
        self.fresh = fresh
        self.summary = MatchSummary()
        self.ledger = Ledger(session, company_id, "matcher")  # holds the company's ledger while it reads and writes
        company = session.get(Company, company_id)
        config = MatchConfig.from_overrides(
            company.match_config if company else None,
            Tolerance.from_config(company.payment_tolerance if company else None),
        )
        # Candidates are looked up by index as the payments ask for them (or, once the run has as many payments
        # as the open ledger, read with it in one go): either way the cost follows the payments.
        self.index = StoredInvoiceIndex(SqlCandidates(session, company_id))
        self.matcher = Matcher(self.index, config, set())
        self.rules = rules_on(session, company_id)  # the company's rules that act, read once per run
        self.payments = 0
        self.expected = expected

    def add(self, rows: Sequence[Any]) -> None:
        for start in range(0, len(rows), _MATCH_CHUNK):
            chunk = rows[start : start + _MATCH_CHUNK]
            self.payments += len(chunk)
            self.index.load_everything_if_small(max(self.payments, self.expected))
            _match_chunk(
                self.session, self.ledger, self.matcher, chunk, self.summary, fresh=self.fresh, rules=self.rules
            )
            if self.fresh:
                self.ledger.fresh(chunk)
            self.ledger.settle()
            # Money that came back, once the chunk's payments are stored with what they settled: a return may
            # reverse a payment of the same file.
            returned = [t.id for t in chunk if t.kind != "total" and is_return(t)]
            if returned:
                self._reverse(returned)
            # What this chunk's allocations taught counts for the next (as for the next upload): whether the
            # index reads accounts as asked or holds the whole ledger, and however a file splits into statements.
            for iban, customer in self.ledger.learned:
                self.index.learn_payer(iban, customer)
            self.ledger.learned.clear()

    def _reverse(self, transaction_ids: list[str]) -> None:
        rows = [r for r in _rows(self.session, _TX, _TX.c.id, transaction_ids) if r.status == "unmatched"]
        applied, suggested = reverse_returns(self.session, self.ledger, rows)
        self.summary.matched += applied
        self.summary.suggested += suggested
        self.summary.unmatched -= applied + suggested
        self.ledger.settle()


_MATCH_CHUNK = 5000


def _match_chunk(
    session: Session,
    ledger: Ledger,
    matcher: Matcher,
    rows: Sequence[Any],
    summary: MatchSummary,
    *,
    fresh: bool,
    rules: Sequence[Any] = (),
) -> None:
    # Only payments nothing was allocated to yet: a person's or an earlier run's decisions stand.
    transactions = [t for t in rows if t.kind != "total" and t.amount != 0 and t.status in ("unmatched", "suggested")]
    # Money that came back reverses its original (MatchRun._reverse): it pays nothing.
    returned = [t for t in transactions if is_return(t)]
    if returned:
        summary.unmatched += len(returned)
        transactions = [t for t in transactions if not is_return(t)]
    if not transactions:
        return
    # Payments stored by this very upload have no suggestions yet: nothing was rejected, nothing to supersede.
    matcher.rejected = set() if fresh else _rejected(session, [t.id for t in transactions])
    if not fresh:
        _supersede_open_suggestions(session, [t.id for t in transactions])
    # Collections the company issued name their invoice by its own references: settled before the matcher.
    collected = match_collections(session, ledger, matcher.index, transactions)
    if collected:
        summary.matched += len(collected)
        transactions = [t for t in transactions if t.id not in collected]
    # In booking order, then as the bank listed them (ids are random: they must not decide who pays first).
    ordered = sorted(transactions, key=lambda t: (t.booking_date, t.line, t.detail, t.id))
    payments = [_payment(tx) for tx in ordered]
    matcher.index.prefetch(payments, matcher.config)
    for tx, payment in zip(ordered, payments, strict=True):
        ledger.touch(transaction_id=tx.id)
        outcome = matcher.match(payment)
        rule = first_fitting(rules, tx) if rules else None
        if rule is not None and _ruled(matcher.index, ledger, rule, tx, outcome, summary):
            continue
        if outcome.status == "matched":
            summary.matched += 1
            for a in outcome.allocations:
                allocation_id = ledger.allocate(
                    tx.id, a.invoice_id, a.amount, method=a.method, confidence=a.confidence, reasons=a.reasons
                )
                if a.write_off > 0:
                    ledger.write_off(
                        a.write_off,
                        "payment_difference",
                        invoice_id=a.invoice_id,
                        transaction_id=tx.id,
                        allocation_id=allocation_id,
                    )
        elif outcome.status == "suggested":
            summary.suggested += 1
        else:
            summary.unmatched += 1
        for suggestion in outcome.suggestions:
            ledger.suggest(tx.id, suggestion.score, [_part(p) for p in suggestion.allocations], suggestion.reasons)


def _ruled(index: Any, ledger: Ledger, rule: Any, tx: Any, outcome: Any, summary: MatchSummary) -> bool:
    """Whether the company's rule decided this payment instead of the engine (app/reconciliation/rules.py): never
    over a reference match; ``never_auto`` turns a match by weaker evidence into a suggestion."""
    by_reference = outcome.status == "matched" and all(a.method in REFERENCE_METHODS for a in outcome.allocations)
    if by_reference:
        return False
    if rule.action == "never_auto":
        if outcome.status != "matched":
            return False
        parts = [_part(a) for a in outcome.allocations]  # with the tolerance write-off the match carried
        score = min(a.confidence for a in outcome.allocations)
        ledger.suggest(tx.id, min(score, 0.99), parts, list(outcome.allocations[0].reasons))
        carry_out(ledger, tx.id, Plan(rule, note="proposed, not booked: never matched automatically"))
        summary.suggested += 1
        return True
    if outcome.status == "matched":
        return False
    planned = plan_in_run(index, rule, tx, left_of(tx))
    if not planned.acts:
        return False
    carry_out(ledger, tx.id, planned)
    for invoice_id, amount in planned.pay:  # the run's index follows, as for the engine's own allocations
        index.settle(index.by_id[invoice_id], amount)
    summary.matched += 1
    return True


def _payment(tx: Any) -> Payment:
    return Payment(
        id=tx.id,
        amount=tx.amount,
        booking_date=tx.booking_date,
        communication=tx.communication or "",
        structured_reference=tx.structured_reference,
        structured_content=tx.structured_content if tx.structured_type in ("101", "102") else None,
        counterparty_name=tx.counterparty_name,
        counterparty_iban=tx.counterparty_iban,
    )


def _part(part: Part | Matched) -> dict[str, str]:
    out = {"invoice_id": part.invoice_id, "amount": format_amount(part.amount)}
    if part.write_off > 0:
        out["write_off"] = format_amount(part.write_off)
    return out


def _supersede_open_suggestions(session: Session, transaction_ids: Sequence[str]) -> None:
    """Matching again (e.g. when the invoice arrives after the payment) replaces what was proposed before."""
    for start in range(0, len(transaction_ids), _CHUNK):
        session.execute(
            update(Suggestion)
            .where(
                one_of(col(Suggestion.transaction_id), transaction_ids[start : start + _CHUNK]),
                Suggestion.status == "open",
            )
            .values(status="superseded", decided_by="matcher", decided_at=utcnow())
        )


def rematch_for_new_invoices(session: Session, company_id: str, invoices: list[Any]) -> bool:
    """A payment that arrived before its invoice: match it now (by the new invoices' references). Returns
    whether any payment was waiting (then some of the invoices may be settled already)."""
    # Before looking for waiting payments: an upload storing one right now is then either seen here or sees
    # the new invoices itself (it holds the same lock while it matches).
    lock_company_ledger(session, company_id)
    waiting: list[str] = []
    # By the new invoices' references, and for collections by their end-to-end ids and mandates.
    for column, keys in (
        (_TX.c.structured_reference, [i.structured_reference for i in invoices]),
        (_TX.c.end_to_end_reference, sorted({i.collection_reference for i in invoices if i.collection_reference})),
        (_TX.c.mandate_reference, sorted({i.mandate_reference for i in invoices if i.mandate_reference})),
    ):
        for start in range(0, len(keys), _CHUNK):
            waiting += (
                session.execute(
                    select(_TX.c.id).where(
                        _TX.c.company_id == company_id,
                        one_of(column, keys[start : start + _CHUNK]),
                        _TX.c.status.in_(("unmatched", "suggested")),
                    )
                )
                .scalars()
                .all()
            )
    waiting = sorted(set(waiting))
    if waiting:
        match_transactions(session, company_id, waiting)
    return bool(waiting)
