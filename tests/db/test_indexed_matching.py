"""Matching by index gives exactly what the pure engine gives over the whole ledger in memory (as matching
did before candidates were looked up by index), and its number of queries does not grow with the ledger."""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.core.db import unit_of_work
from app.invoices.models import OPEN_STATUSES, Invoice
from app.reconciliation.keys import customer_key
from app.reconciliation.matching import OpenInvoice, match_payments
from app.reconciliation.models import Allocation, LearnedPayer, Suggestion, WriteOff
from app.reconciliation.service import _payment
from app.statements.models import BankTransaction
from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, VAT, invoice_body, sql_sent
from tests.scenarios import CONFIG, TOLERANCE, generate


def _register(client, scenario) -> None:
    client.post(
        "/v1/companies",
        json={
            "vat": VAT,
            "name": "Scenario BV",
            "bank_accounts": [scenario.account_iban],
            "payment_tolerance": TOLERANCE.as_config(),
        },
        headers=ADMIN,
    ).raise_for_status()
    # Registered in no particular order (as integrators send them): the index must not rely on the order.
    invoices = random.Random(3).sample(scenario.invoices, len(scenario.invoices))
    for start in range(0, len(invoices), 1000):
        batch = [scenario.invoice_body(i) for i in invoices[start : start + 1000]]
        client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=ADMIN).raise_for_status()


def _whole_ledger(session) -> tuple[list[OpenInvoice], dict[str, set[str]]]:
    """What matching loaded before it looked candidates up by index: every open invoice, and the accounts
    customers paid from, recomputed from every allocation ever made."""
    invoices = [
        OpenInvoice(
            id=r.id,
            number=r.number,
            kind=r.kind,
            due=r.total_amount - r.amount_paid - r.write_off_amount,
            issue_date=r.issue_date,
            due_date=r.due_date,
            reference=r.structured_reference,
            customer_key=customer_key(r.customer_vat, r.customer_name),
            customer_name=r.customer_name,
            customer_iban=r.customer_iban,
            total=r.total_amount,
        )
        for r in session.exec(select(Invoice).where(col(Invoice.status).in_(OPEN_STATUSES))).scalars()
    ]
    learned: dict[str, set[str]] = defaultdict(set)
    for iban, vat, name in session.execute(
        select(BankTransaction.counterparty_iban, Invoice.customer_vat, Invoice.customer_name)
        .join(Allocation, col(Allocation.transaction_id) == col(BankTransaction.id))
        .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
        .where(col(BankTransaction.counterparty_iban).is_not(None))
    ):
        learned[iban].add(customer_key(vat, name))
    return invoices, learned


def _expected(snapshot: tuple[list[OpenInvoice], dict[str, set[str]]], statement_id: str) -> tuple[dict, dict]:
    """The pure engine over the ledger as it was before the upload, on the payments the upload stored."""
    invoices, learned = snapshot
    with unit_of_work() as session:
        rows = session.exec(
            select(BankTransaction).where(
                BankTransaction.statement_id == statement_id, col(BankTransaction.kind) != "total"
            )
        ).scalars()
        ordered = sorted(rows, key=lambda t: (t.booking_date, t.line, t.detail, t.id))
    outcomes = match_payments([_payment(t) for t in ordered], invoices, config=CONFIG, learned_ibans=learned)
    allocations = {(o.payment_id, a.invoice_id): (a.amount, a.write_off) for o in outcomes for a in o.allocations}
    suggestions = {
        o.payment_id: sorted(
            (s.score, tuple((p.invoice_id, p.amount, p.write_off) for p in s.allocations)) for s in o.suggestions
        )
        for o in outcomes
        if o.suggestions
    }
    return allocations, suggestions


def _stored(statement_id: str) -> tuple[dict, dict]:
    with unit_of_work() as session:
        ids = list(
            session.exec(select(BankTransaction.id).where(BankTransaction.statement_id == statement_id)).scalars()
        )
        write_offs = {
            w.allocation_id: w.amount
            for w in session.exec(select(WriteOff).where(col(WriteOff.transaction_id).in_(ids))).scalars()
        }
        allocations = {
            (a.transaction_id, a.invoice_id): (a.amount, write_offs.get(a.id, Decimal("0.00")))
            for a in session.exec(select(Allocation).where(col(Allocation.transaction_id).in_(ids))).scalars()
        }
        by_tx: dict[str, list] = defaultdict(list)
        for s in session.exec(
            select(Suggestion).where(col(Suggestion.transaction_id).in_(ids), Suggestion.status == "open")
        ).scalars():
            parts = tuple(
                (p["invoice_id"], Decimal(p["amount"]), Decimal(p.get("write_off", "0.00"))) for p in s.allocations
            )
            by_tx[s.transaction_id].append((s.score, parts))
    return allocations, {tx: sorted(items) for tx, items in by_tx.items()}


@pytest.mark.slow
@pytest.mark.parametrize("factor", [0, 1_000_000], ids=["by-index", "whole-ledger"])
def test_indexed_matching_finds_what_the_whole_ledger_in_memory_finds(client, monkeypatch, factor):
    """By index (a small run against a large ledger) and with the open ledger read at once (a run as large as
    the ledger): the same outcome as the pure engine over the whole ledger in memory."""
    from app.reconciliation import candidates

    monkeypatch.setattr(candidates, "WHOLE_LEDGER_FACTOR", factor)
    scenario = generate(seed=5, invoices=3_000, payments=1_200)
    _register(client, scenario)
    half = len(scenario.payments) // 2
    compared = 0
    # Two uploads: the second also finds payers by the accounts learned from the first one's allocations.
    for sequence, payments in enumerate((scenario.payments[:half], scenario.payments[half:]), start=1):
        part = copy.copy(scenario)
        part.payments = payments
        with unit_of_work() as session:
            snapshot = _whole_ledger(session)
        if sequence == 2:
            assert snapshot[1], "the first upload taught accounts"
        response = client.post(
            f"/v1/companies/{VAT}/statements",
            content=part.to_coda(per_statement=len(payments), first_sequence=sequence),
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
        [statement] = response.json()["statements"]
        stored, expected = _stored(statement["id"]), _expected(snapshot, statement["id"])
        assert stored[0] == expected[0]  # the same allocations and write-offs, to the cent
        assert stored[1] == expected[1]  # the same suggestions, scores and parts
        compared += len(expected[0]) + len(expected[1])
    assert compared > 1_000


def _small_statement() -> bytes:
    """The daily case: five movements that exercise every lookup (reference, numbers, amount, payer, name)."""
    from datetime import date

    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    movements = [
        MovementSpec(Decimal("121.00"), ogm="090933755493", counterparty_name="KLANT NV"),
        MovementSpec(Decimal("50.00"), communication="factuur 2026/0002", counterparty_name="Andere Klant"),
        MovementSpec(Decimal("75.25"), communication="betaling", counterparty_name="Derde BV",
                     counterparty_iban="BE71096123456769"),
        MovementSpec(Decimal("34.00"), communication="zonder referentie", counterparty_name="Vierde Klant"),
        MovementSpec(Decimal("-10.00"), communication="kosten"),
    ]  # fmt: skip
    return write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal("0"), movements)])


def _statements_for_small_upload(client, filler: int) -> tuple[int, dict]:
    client.post("/v1/companies", json={"vat": VAT, "name": "Demo BV", "bank_accounts": [IBAN]}, headers=ADMIN)
    known = [
        invoice_body("INV-1", total="121.00", structured_reference="+++090/9337/55493+++"),
        invoice_body("INV-2", total="50.00", number="2026/0002", customer={"name": "Andere Klant"}),
        invoice_body("INV-3", total="75.25", customer={"name": "Derde BV", "iban": "BE71096123456769"}),
        invoice_body("INV-4", total="34.00", customer={"name": "Vierde Klant"}),
    ]
    others = [
        invoice_body(f"F{n}", total=f"{1000 + n}.{n % 100:02d}", customer={"name": f"Filler {n:05d} NV"})
        for n in range(filler)
    ]
    for start in range(0, len(known) + len(others), 1000):
        batch = (known + others)[start : start + 1000]
        client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=ADMIN).raise_for_status()
    with sql_sent() as sent:
        response = client.post(f"/v1/companies/{VAT}/statements", content=_small_statement(), headers=ADMIN)
    assert response.status_code == 201, response.text
    return len(sent), response.json()["matching"]


@pytest.mark.slow
def test_a_small_upload_costs_the_same_statements_at_100_and_at_10000_open_invoices(client, monkeypatch):
    """By index, that is. (A run with at most WHOLE_LEDGER_FACTOR open invoices per payment reads the ledger
    in one query instead, which is bounded by the payments by construction.)"""
    from app.reconciliation import candidates

    monkeypatch.setattr(candidates, "WHOLE_LEDGER_FACTOR", 0)
    small = _statements_for_small_upload(client, filler=96)
    from tests.conftest import _empty_all_tables

    _empty_all_tables()
    from app.companies.access import company_cache

    company_cache.clear()
    large = _statements_for_small_upload(client, filler=9_996)
    assert small == large, (small, large)  # the same statements, and the same outcome
    assert small[1]["unmatched"] == 1  # only the bank's own fee finds nothing
    assert small[0] < 60  # a few indexed lookups per statement, not one per invoice
    print(f"SQL statements for a 5-movement upload: {small[0]} at 100 and at 10,000 open invoices")


def test_the_learned_payer_table_follows_allocations_and_their_undo(client):
    from tests.helpers import make_key

    client.post("/v1/companies", json={"vat": VAT, "name": "Demo BV", "bank_accounts": [IBAN]}, headers=ADMIN)
    key = make_key(client)
    invoices = [
        client.post(
            f"/v1/companies/{VAT}/invoices",
            json=invoice_body(external, structured_reference=ref, customer={"name": "Klant NV"}),
            headers=key,
        ).json()
        for external, ref in (("A", "+++090/9337/55493+++"), ("B", "+++100/0000/00135+++"))
    ]
    upload = client.post(
        f"/v1/companies/{VAT}/statements",
        content=payment_file(("121.00", "090933755493"), ("121.00", "100000000135")),
        headers=key,
    )
    assert upload.json()["matching"]["matched"] == 2

    def learned() -> list[tuple[str, str, int]]:
        with unit_of_work() as session:
            return [(r.iban, r.customer_key, r.allocations) for r in session.exec(select(LearnedPayer)).scalars()]

    assert learned() == [("BE71096123456769", "name:KLANT", 2)]  # two payments from one account: counted
    for left, invoice in zip(([("BE71096123456769", "name:KLANT", 1)], []), invoices, strict=True):
        [allocation] = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()["allocations"]
        undo = client.delete(
            f"/v1/companies/{VAT}/transactions/{allocation['transaction_id']}/allocations/{allocation['id']}",
            headers=key,
        )
        assert undo.status_code == 204, undo.text
        assert learned() == left  # each undo takes one off; the row goes with the last


def test_the_whole_ledger_is_read_at_once_only_up_to_its_limit(client, monkeypatch):
    """However many payments a run has, it holds at most WHOLE_LEDGER_LIMIT open invoices in memory at once;
    beyond it, it looks them up by key."""
    from app.reconciliation import candidates

    client.post("/v1/companies", json={"vat": VAT, "name": "Demo BV", "bank_accounts": [IBAN]}, headers=ADMIN)
    batch = [invoice_body(f"L{n}", total=f"{100 + n}.00") for n in range(30)]
    client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=ADMIN).raise_for_status()
    with unit_of_work() as session:
        company_id = session.exec(select(Invoice.company_id)).scalars().first()
        for limit, whole in ((29, False), (30, True)):
            monkeypatch.setattr(candidates, "WHOLE_LEDGER_LIMIT", limit)
            index = candidates.StoredInvoiceIndex(candidates.SqlCandidates(session, company_id))
            assert index.load_everything_if_small(payments=1_000) is whole
            assert len(index.by_id) == (30 if whole else 0)
