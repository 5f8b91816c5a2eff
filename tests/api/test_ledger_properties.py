"""Stateful property test of the money state, through the real API (SQLite, and PostgreSQL in its pass).

Random sequences of what really happens: CODA uploads (re-sent, and cut off half-way), manual allocations
(too much, to other companies' invoices, overpaying), accepting, rejecting and reopening suggestions, undo,
write-offs and their undo, cancellations and tolerance changes, and money that comes back (a payment
returned whole or in part, by SEPA R-transactions naming its end-to-end id, perhaps twice). After every step:

- the invariants of ``codarecon check`` hold (allocations plus write-offs within each transaction, each
  invoice's amounts equal to its allocations and write-offs, every status following from the amounts);
- each invoice whose money state changed got exactly one new event, carrying that state, and no other
  invoice got one; each credit that became unmatched got exactly one ``transaction.unmatched``;
- nothing answers 5xx, a cut-off file stores nothing, and a re-sent file stores nothing new.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import select

from app.statements.coda_writer import MovementSpec, StatementSpec, sepa_direct_debit_content, write_coda
from tests.helpers import IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

# Seconds per run: left out of `make mutate`'s per-mutant runs (see docs/testing.md).
# Money: run per mutant too (with fewer examples there, tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.money]

CUSTOMER_IBAN = "BE71096123456769"
REFERENCES = ["+++090/9337/55493+++", "+++000/0000/00101+++", "+++000/0000/00202+++", "+++000/0000/00303+++"]
AMOUNTS = st.sampled_from(["10.00", "19.50", "20.00", "25.00", "30.00", "40.00", "59.60", "60.00", "100.00"])


def _state(client, key) -> dict[str, tuple[str, str, str]]:
    items = client.get(f"/v1/companies/{VAT}/invoices", params={"limit": 500}, headers=key).json()["items"]
    return {i["id"]: (i["status"], i["amount_paid"], i["write_off_amount"]) for i in items}


def _transactions(client, key) -> dict[str, dict]:
    items = client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 500}, headers=key).json()["items"]
    return {t["id"]: t for t in items}


class MoneyMachine(RuleBasedStateMachine):
    client = None  # set by the test

    invoices = Bundle("invoices")

    def __init__(self) -> None:
        super().__init__()
        from tests.conftest import _empty_all_tables

        _empty_all_tables()
        make_company(self.client, accounts=[IBAN])
        make_company(self.client, vat=OTHER_VAT, name="Other")
        self.key = make_key(self.client)
        other_key = make_key(self.client, vat=OTHER_VAT)
        foreign = self.client.post(
            f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body("FOREIGN", total="20.00"), headers=other_key
        )
        self.foreign_invoice = foreign.json()["id"]
        self.sequence = 0
        self.day = date(2026, 11, 1)
        self.files: list[tuple[bytes, int]] = []  # (file, how many leaf movements it holds)
        self.seen_events: set[str] = set()
        self.before = _state(self.client, self.key)
        self.before_tx = {}
        self.references = list(REFERENCES)
        self.numbers: dict[str, str] = {}

    def expect(self, response, *allowed: int):
        assert response.status_code < 500, response.text
        assert response.status_code in allowed, (response.status_code, response.text)
        return response

    # -- invoices ------------------------------------------------------------------------------------------

    @initialize(target=invoices, total=AMOUNTS)
    def first_invoice(self, total):
        return self._invoice(total)

    @rule(target=invoices, total=AMOUNTS)
    def new_invoice(self, total):
        return self._invoice(total)

    def _invoice(self, total):
        reference = self.references.pop() if self.references else None
        body = invoice_body(f"EXT-{len(self.numbers)}-{total}", total=total, structured_reference=reference)
        if reference is None:
            body.pop("structured_reference")
        response = self.expect(self.client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=self.key), 201)
        self.numbers[response.json()["id"]] = response.json()["number"]
        return response.json()

    @rule(invoice=invoices)
    def cancel(self, invoice):
        self.expect(
            self.client.post(f"/v1/companies/{VAT}/invoices/{invoice['id']}/cancel", headers=self.key), 200, 409
        )

    # -- bank files ----------------------------------------------------------------------------------------

    def _file(self, payments) -> tuple[bytes, int]:
        self.sequence += 1
        self.day += timedelta(days=1)
        movements = [
            MovementSpec(
                Decimal(amount),
                ogm=invoice["structured_reference"] if by_reference else None,
                communication="" if by_reference else f"betaling {invoice['number']}",
                counterparty_name="KLANT NV",
                counterparty_iban=CUSTOMER_IBAN,
                end_to_end=f"E2E-{self.sequence}-{n}",  # what a return names it by
            )
            for n, (amount, invoice, by_reference) in enumerate(payments)
        ]
        data = write_coda([StatementSpec(IBAN, self.day, Decimal(0), movements, sequence=self.sequence)])
        return data, len(movements)

    @rule(payments=st.lists(st.tuples(AMOUNTS, invoices, st.booleans()), min_size=1, max_size=3))
    def upload(self, payments):
        data, count = self._file(payments)
        before = len(_transactions(self.client, self.key))
        response = self.expect(self.client.post(f"/v1/companies/{VAT}/statements", content=data, headers=self.key), 201)
        assert response.json()["transactions_created"] == count
        assert len(_transactions(self.client, self.key)) == before + count
        self.files.append((data, count))

    @rule(data=st.data())
    def resend(self, data):
        chosen = self._choose(data, self.files, key=lambda f: f[0])
        if chosen is None:
            return
        file, _ = chosen
        before = _transactions(self.client, self.key)
        response = self.expect(self.client.post(f"/v1/companies/{VAT}/statements", content=file, headers=self.key), 200)
        assert response.json()["transactions_created"] == 0
        assert _transactions(self.client, self.key).keys() == before.keys()

    @rule(payments=st.lists(st.tuples(AMOUNTS, invoices, st.booleans()), min_size=1, max_size=3), cut=st.floats(0, 1))
    def cut_off_then_whole(self, payments, cut):
        data, count = self._file(payments)
        lines = data.split(b"\n")
        kept = max(1, int((len(lines) - 2) * cut))  # never the trailer: that is the whole file
        before = len(_transactions(self.client, self.key))
        response = self.client.post(
            f"/v1/companies/{VAT}/statements", content=b"\n".join(lines[:kept]), headers=self.key
        )
        self.expect(response, 422)
        assert response.json()["errors"][0].get("line") is not None
        assert len(_transactions(self.client, self.key)) == before  # nothing of it was stored
        self.expect(self.client.post(f"/v1/companies/{VAT}/statements", content=data, headers=self.key), 201)
        assert len(_transactions(self.client, self.key)) == before + count
        self.files.append((data, count))

    @rule(data=st.data(), part=st.sampled_from(["1", "0.5"]), r_type=st.sampled_from(["1", "2", "3", "4"]))
    def return_payment(self, data, part, r_type):
        """A payment comes back, whole or half, as a SEPA R-transaction naming its end-to-end id (perhaps one
        already returned: then nothing is left to take back, and nothing is)."""
        paid_something = data.draw(st.booleans())  # mostly a payment that settled invoices: that is what reopens
        original = self._pick_transaction(
            data,
            lambda t: (
                Decimal(t["amount"]) > 0 and t["end_to_end_reference"] and (t["allocations"] or not paid_something)
            ),
        )
        if original is None:
            return
        amount = -(Decimal(original["amount"]) * Decimal(part)).quantize(Decimal("0.01"))
        content = sepa_direct_debit_content(
            settlement=self.day, mandate="MANDAAT-1", communication="", r_type=r_type, reason="AM04"
        )
        self.sequence += 1
        self.day += timedelta(days=1)
        movement = MovementSpec(
            amount, structured_type="127", structured_content=content, counterparty_iban=CUSTOMER_IBAN,
            end_to_end=original["end_to_end_reference"],
        )  # fmt: skip
        data_ = write_coda([StatementSpec(IBAN, self.day, Decimal(0), [movement], sequence=self.sequence)])
        self.expect(self.client.post(f"/v1/companies/{VAT}/statements", content=data_, headers=self.key), 201)
        self.files.append((data_, 1))

    # -- decisions -----------------------------------------------------------------------------------------

    def _choose(self, data, items, key):
        """One of ``items``, or None. Hypothesis replays an example to shrink it, and ids (random) differ
        between replays: so the items are put in an order that does not depend on ids (``key``, over what
        the example itself decided), and the draw is an index."""
        pick = data.draw(st.integers(min_value=0, max_value=10_000))
        ordered = sorted(items, key=key)
        return ordered[pick % len(ordered)] if ordered else None

    def _number(self, invoice_id):
        return self.numbers.get(invoice_id, invoice_id)

    def _tx_key(self, tx):
        return (tx["booking_date"], tx["bank_reference"], tx["amount"])

    def _pick_transaction(self, data, predicate=lambda t: True):
        candidates = [t for t in _transactions(self.client, self.key).values() if predicate(t)]
        return self._choose(data, candidates, self._tx_key)

    @rule(data=st.data(), invoice=invoices, amount=AMOUNTS, overpay=st.booleans(), foreign=st.booleans())
    def allocate(self, data, invoice, amount, overpay, foreign):
        tx = self._pick_transaction(data)
        if tx is None:
            return
        target = self.foreign_invoice if foreign else invoice["id"]
        due = self.client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=self.key).json()["amount_due"]
        response = self.client.post(
            f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
            json={"invoice_id": target, "amount": amount, "allow_overpayment": overpay},
            headers=self.key,
        )
        self.expect(response, 201, 409, 422)
        if foreign:
            assert response.status_code == 422  # another company's invoice is never paid
        if response.status_code == 201:
            assert Decimal(amount) <= abs(Decimal(tx["unallocated_amount"]))
            assert overpay or Decimal(amount) <= Decimal(due)  # more than is due only when asked for

    @rule(data=st.data())
    def undo_allocation(self, data):
        tx = self._pick_transaction(data, lambda t: t["allocations"])
        if tx is None:
            return
        allocation = self._choose(
            data, tx["allocations"], key=lambda a: (self._number(a["invoice_id"]), a["amount"], a["method"])
        )
        self._undone(
            self.client.delete(
                f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations/{allocation['id']}", headers=self.key
            )
        )

    @rule(data=st.data(), decision=st.sampled_from(["accept", "reject"]))
    def decide(self, data, decision):
        tx = self._pick_transaction(data, lambda t: t["suggestions"])
        if tx is None:
            return
        suggestion = self._choose(
            data,
            tx["suggestions"],
            key=lambda g: [(self._number(a["invoice_id"]), a["amount"]) for a in g["allocations"]],
        )
        self.expect(
            self.client.post(
                f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/{decision}",
                headers=self.key,
            ),
            200,
            409,
        )

    @rule(data=st.data())
    def reopen(self, data):
        from app.core.db import unit_of_work
        from app.reconciliation.models import Suggestion

        with unit_of_work(read_only=True) as session:
            rejected = [
                (s.transaction_id, s.id, [(self._number(a["invoice_id"]), a["amount"]) for a in s.allocations])
                for s in session.exec(select(Suggestion).where(Suggestion.status == "rejected"))
            ]
        transactions = _transactions(self.client, self.key)
        chosen = self._choose(data, rejected, key=lambda r: (self._tx_key(transactions[r[0]]), r[2]))
        if chosen is None:
            return
        tx_id, suggestion_id, _ = chosen
        self.expect(
            self.client.post(
                f"/v1/companies/{VAT}/transactions/{tx_id}/suggestions/{suggestion_id}/reopen", headers=self.key
            ),
            200,
            409,
        )

    @rule(
        invoice=invoices,
        amount=st.sampled_from(["0.40", "1.00", "5.00"]),
        reason=st.sampled_from(["discount", "bank_fee"]),
    )
    def write_off_invoice(self, invoice, amount, reason):
        self.expect(
            self.client.post(
                f"/v1/companies/{VAT}/invoices/{invoice['id']}/write-offs",
                json={"amount": amount, "reason": reason},
                headers=self.key,
            ),
            201,
            409,
            422,
        )

    @rule(data=st.data(), amount=st.sampled_from(["0.40", "1.00", "5.00"]))
    def write_off_transaction(self, data, amount):
        tx = self._pick_transaction(data, lambda t: Decimal(t["unallocated_amount"]) != 0)
        if tx is None:
            return
        self.expect(
            self.client.post(
                f"/v1/companies/{VAT}/transactions/{tx['id']}/write-offs",
                json={"amount": amount, "reason": "payment_difference"},
                headers=self.key,
            ),
            201,
            409,
            422,
        )

    @rule(data=st.data())
    def undo_write_off(self, data):
        tx = self._pick_transaction(data, lambda t: t["write_offs"])
        if tx is None:
            return
        write_off = self._choose(
            data, tx["write_offs"], key=lambda w: (w["amount"], w["reason"], self._number(w["invoice_id"]) or "")
        )
        self._undone(
            self.client.delete(
                f"/v1/companies/{VAT}/transactions/{tx['id']}/write-offs/{write_off['id']}", headers=self.key
            )
        )

    def _undone(self, response) -> None:
        """An undo is done, or refused for the one reason it may be: it would undo a return onto an invoice
        cancelled since (the invariants then check that nothing moved)."""
        self.expect(response, 204, 409)
        if response.status_code == 409:
            assert "cancelled invoice" in response.json()["detail"], response.text

    @rule(tolerance=st.sampled_from([None, {"amount": "1.00"}, {"percent": "1"}, {"amount": "0.50", "percent": "2"}]))
    def change_tolerance(self, tolerance):
        self.expect(
            self.client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": tolerance}, headers=self.key), 200
        )

    # -- after every step ----------------------------------------------------------------------------------

    @invariant()
    def money_state_is_consistent(self):
        from app.core.db import unit_of_work
        from app.reconciliation.invariants import check

        with unit_of_work(read_only=True) as session:
            violations = check(session)
        assert violations == [], [str(v) for v in violations]

    @invariant()
    def each_change_emits_one_event(self):
        from app.core.db import unit_of_work
        from app.core.outbox_models import Event

        after = _state(self.client, self.key)
        after_tx = _transactions(self.client, self.key)
        with unit_of_work(read_only=True) as session:
            new = [e for e in session.exec(select(Event)) if e.id not in self.seen_events]
        money_events = Counter(e.subject_id for e in new if e.type.startswith("invoice."))
        changed = {i for i, state in after.items() if state != self.before.get(i, ("open", "0.00", "0.00"))}
        assert set(money_events) == changed, (money_events, changed)
        assert all(n == 1 for n in money_events.values()), money_events
        for event in new:
            if event.type.startswith("invoice."):
                change = event.payload["change"]
                assert (change["status"], change["amount_paid"], change["write_off_amount"]) == after[event.subject_id]
                assert event.payload["data"]["status"] == after[event.subject_id][0]
        unmatched = Counter(e.subject_id for e in new if e.type == "transaction.unmatched")
        became = {
            t
            for t, tx in after_tx.items()
            if tx["status"] == "unmatched"
            and Decimal(tx["amount"]) > 0
            and self.before_tx.get(t, {}).get("status") != "unmatched"
        }
        assert set(unmatched) == became and all(n == 1 for n in unmatched.values()), (unmatched, became)
        self.seen_events |= {e.id for e in new}
        self.before, self.before_tx = after, after_tx


def _per_mutant() -> bool:
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_money_state_under_random_sequences(client):
    MoneyMachine.client = client
    MoneyMachine.TestCase.settings = settings(
        # Per mutant (`make mutate`), a few sequences: a broken money rule fails in the first ones.
        max_examples=int(os.environ.get("CODARECON_PROPERTY_EXAMPLES", "8" if _per_mutant() else "60")),
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    MoneyMachine.TestCase().runTest()
