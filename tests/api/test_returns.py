"""Money that comes back (issue 40): a returned or reversed collection reopens what it paid, from CODA (type
127) and camt.053 alike, on SQLite and PostgreSQL; undone, found for sure or only suggested, never twice; and a
refund that came back reopens its credit note."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlmodel import select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.reconciliation.invariants import check
from app.statements.camt_writer import CamtMovementSpec, write_camt
from app.statements.coda_writer import MovementSpec, StatementSpec, sepa_direct_debit_content, write_coda
from tests.conftest import CAMT_SAMPLES
from tests.direct_debits import debit, read, register
from tests.helpers import VAT, invoice_body, make_company, make_key

ACCOUNT = "GB29NWBK60161331926819"  # the real file's account


def read_invoice(client, key, invoice: dict) -> dict:
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()


def _violations() -> list[str]:
    with unit_of_work(read_only=True) as session:
        return [str(v) for v in check(session)]


def _events(subject_id: str) -> list[Event]:
    with unit_of_work(read_only=True) as session:
        rows = session.exec(select(Event).where(Event.subject_id == subject_id)).all()
        return sorted(rows, key=lambda e: (e.created_at, e.id))


def test_a_collection_its_return_and_a_second_collection_end_paid_with_one_return(bank):
    invoice = register(bank, mandate_reference="MANDAAT-0042")
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    assert read(bank, invoice)["status"] == "paid"

    upload = bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=12))
    assert upload["matching"] == {"matched": 1, "suggested": 0, "unmatched": 0}
    reopened = read(bank, invoice)
    assert (reopened["status"], reopened["amount_paid"], reopened["amount_due"]) == ("open", "0.00", "121.00")
    txs = bank.transactions()
    collection, returned = txs[("121.00", "2026-11-04")], txs[("-121.00", "2026-11-12")]
    assert (returned["status"], returned["returns"], returned["unallocated_amount"]) == (
        "returned",
        collection["id"],
        "0.00",
    )
    [back] = reopened["returns"]
    assert back["transaction_id"] == returned["id"]
    assert (back["amount"], back["reason_code"], back["reason"], back["booking_date"]) == (
        "121.00",
        "AM04",
        "insufficient funds",
        "2026-11-12",
    )
    events = _events(invoice["id"])
    assert [e.type for e in events] == ["invoice.paid", "invoice.reopened"]
    change = events[-1].payload["change"]
    assert (change["reason"], change["status"], change["return"]["reason_code"]) == ("returned", "open", "AM04")

    bank.book(debit("121.00", end_to_end="E2E-2", day=20))  # presented again, and paid this time
    final = read(bank, invoice)
    assert (final["status"], final["amount_paid"], len(final["returns"])) == ("paid", "121.00", 1)
    assert final["paid_at"] == "2026-11-20"
    assert _violations() == []


def test_a_reversal_found_by_mandate_alone_reopens_theregister(bank):
    """No end-to-end id in either movement: the mandate and the amount name the one collection."""
    invoice = register(bank)
    bank.book(debit("121.00", day=4))
    bank.book(debit("-121.00", r_type="reversal", reason="MD06", communication="", day=30))
    assert read(bank, invoice)["status"] == "open"
    assert read(bank, invoice)["returns"][0]["reason_code"] == "MD06"
    assert _violations() == []


def test_part_of_a_payment_coming_back_reopens_that_part(bank):
    invoice = register(bank)
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-21.00", r_type="refund", reason="MD06", end_to_end="E2E-1", day=9))
    partly = read(bank, invoice)
    assert (partly["status"], partly["amount_paid"], partly["amount_due"]) == ("partially_paid", "100.00", "21.00")
    assert [e.type for e in _events(invoice["id"])] == ["invoice.paid", "invoice.reopened"]
    assert _violations() == []


def test_a_return_is_applied_once_and_a_second_one_finds_nothing_left(bank):
    invoice = register(bank)
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=9))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=10))
    txs = bank.transactions()
    assert txs[("-121.00", "2026-11-09")]["status"] == "returned"
    assert (txs[("-121.00", "2026-11-10")]["status"], txs[("-121.00", "2026-11-10")]["returns"]) == ("unmatched", None)
    assert len(read(bank, invoice)["returns"]) == 1
    assert _violations() == []


def test_undoing_a_return_pays_the_invoice_again(bank):
    invoice = register(bank)
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=9))
    returned = bank.transactions()[("-121.00", "2026-11-09")]
    [allocation] = returned["allocations"]
    assert allocation["returns"] is not None
    response = bank.client.delete(
        f"/v1/companies/{VAT}/transactions/{returned['id']}/allocations/{allocation['id']}", headers=bank.key
    )
    assert response.status_code == 204, response.text
    assert read(bank, invoice)["status"] == "paid"
    again = bank.transactions()[("-121.00", "2026-11-09")]
    assert (again["status"], again["returns"]) == ("unmatched", None)
    assert _violations() == []


def test_undoing_the_original_payment_undoes_its_return_too(bank):
    invoice = register(bank)
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=9))
    collection = bank.transactions()[("121.00", "2026-11-04")]
    [allocation] = collection["allocations"]
    response = bank.client.delete(
        f"/v1/companies/{VAT}/transactions/{collection['id']}/allocations/{allocation['id']}", headers=bank.key
    )
    assert response.status_code == 204, response.text
    assert read(bank, invoice)["returns"] == []
    assert read(bank, invoice)["status"] == "open"
    assert _violations() == []


def test_a_return_found_only_by_account_and_amount_is_a_suggestion(bank):
    """Different mandates, no end-to-end id, no reference: only the payer's account and the amount agree. A
    person decides; accepting applies it."""
    invoice = register(bank)
    bank.book(debit("121.00", mandate="MANDATE-A", day=4))
    upload = bank.book(debit("-121.00", r_type="return", reason="AC04", mandate="MANDATE-B", communication="", day=9))
    assert upload["matching"] == {"matched": 0, "suggested": 1, "unmatched": 0}
    assert read(bank, invoice)["status"] == "paid"  # never on a guess
    returned = bank.transactions()[("-121.00", "2026-11-09")]
    [suggestion] = returned["suggestions"]
    assert suggestion["allocations"][0]["returns"] is not None
    assert suggestion["reasons"][0]["code"] == "returned"
    response = bank.client.post(
        f"/v1/companies/{VAT}/transactions/{returned['id']}/suggestions/{suggestion['id']}/accept", headers=bank.key
    )
    assert response.status_code == 200, response.text
    assert read(bank, invoice)["status"] == "open"
    assert bank.transactions()[("-121.00", "2026-11-09")]["status"] == "returned"
    assert _violations() == []


def test_a_collection_nobody_claimed_and_its_return_leave_nothing_to_review(bank):
    """The collection matched no invoice; it came back whole: both sides are written off as returned, so
    neither waits in the review queue."""
    bank.book(debit("80.00", end_to_end="E2E-9", communication="no reference", day=4))
    bank.book(debit("-80.00", r_type="return", reason="MS02", end_to_end="E2E-9", communication="", day=9))
    txs = bank.transactions()
    original, returned = txs[("80.00", "2026-11-04")], txs[("-80.00", "2026-11-09")]
    assert (returned["status"], returned["unallocated_amount"]) == ("returned", "0.00")
    assert (original["status"], original["unallocated_amount"]) == ("matched", "0.00")
    assert [w["reason"] for w in original["write_offs"]] == ["returned"]
    assert _violations() == []


def test_a_refund_that_came_back_reopens_its_credit_note(client):
    """A real bank's camt.053 (camt-samples, sebastienrousseau: a refund of 1,500.00 returned, AC04 account
    closed). The company had refunded a credit note by a transfer with that end-to-end id: the credit note is
    owed again."""
    real = CAMT_SAMPLES / "sebastienrousseau-camt053__v14_returns_mixed_sts_clbd_only.xml"
    if not real.is_file():
        pytest.skip(f"{real} is not there (../shared beside the repository)")
    make_company(client, accounts=[ACCOUNT])
    key = make_key(client)
    note = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body("CN-1", total="1500.00", kind="credit_note", customer={"name": "Globex SA"}),
        headers=key,
    ).json()
    refund = CamtMovementSpec(
        D("-1500.00"), ogm=note["structured_reference"], counterparty_name="Globex SA",
        counterparty_iban="DE89370400440532013000", end_to_end="E2E-0001", booking_date=date(2026, 6, 10),
    )  # fmt: skip
    ours = write_camt([StatementSpec(ACCOUNT, date(2026, 6, 10), D("10000.00"), [refund], sequence=90)])
    assert client.post(f"/v1/companies/{VAT}/statements", content=ours, headers=key).status_code == 201
    assert read_invoice(client, key, note)["status"] == "paid"

    assert client.post(f"/v1/companies/{VAT}/statements", content=real.read_bytes(), headers=key).status_code == 201
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    back = next(t for t in items if t["end_to_end_reference"] == "E2E-0001" and t["amount"] == "1500.00")
    assert back["transfer_return"] == {"r_transaction": "return", "reason": "AC04"}
    assert back["status"] == "returned"
    reopened = read_invoice(client, key, note)
    assert (reopened["status"], reopened["amount_due"]) == ("open", "1500.00")
    assert (reopened["returns"][0]["reason_code"], reopened["returns"][0]["reason"]) == ("AC04", "account closed")
    # The other return of the file names a payment we never made: nothing to take back.
    other = next(t for t in items if t["end_to_end_reference"] == "E2E-0002")
    assert (other["transfer_return"]["reason"], other["status"], other["returns"]) == ("AC06", "unmatched", None)
    assert _violations() == []


def test_the_summary_counts_what_came_back_by_reason(bank):
    for n, (amount, reason) in enumerate([("121.00", "AM04"), ("60.00", "AM04"), ("30.00", "MD06")], start=1):
        register(bank, f"DD-{n}", amount, reference=None, collection_reference=f"COLL-{n}")
        bank.book(debit(amount, end_to_end=f"COLL-{n}", communication="abonnement", day=n))
        bank.book(debit(f"-{amount}", r_type="return", reason=reason, end_to_end=f"COLL-{n}", day=10 + n))
    bank.book(debit("-5.00", r_type="return", reason="AC04", end_to_end="NOT-OURS", mandate="OTHER", day=20))
    returns = bank.client.get(f"/v1/companies/{VAT}/summary", headers=bank.key).json()["returns"]
    assert returns == {
        "count": 3,
        "amount": "211.00",
        "reasons": [
            {"code": "AM04", "text": "insufficient funds", "count": 2, "amount": "181.00"},
            {"code": "MD06", "text": "refund requested by the debtor", "count": 1, "amount": "30.00"},
        ],
    }


def test_a_dutch_banks_reversal_batch_reopens_the_invoice_its_collection_paid(client):
    """A real bank's camt.053 (camt-samples, OCA: a batch of two collections reversed, AC06 account blocked,
    each with the end-to-end id and mandate of its collection). One of them was ours, for an invoice."""
    real = CAMT_SAMPLES / "oca-bank-statement-import__nl_v02_reversal_batch_balance_mismatch.xml"
    if not real.is_file():
        pytest.skip(f"{real} is not there (../shared beside the repository)")
    account, e2e, mandate = "NL77ABNA0574908765", "TESTBANK/NL/20141229/01206408", "NL22ZZZ524885430000-C0125.1"
    make_company(client, accounts=[account])
    key = make_key(client)
    policy = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body("S14-0410", total="564.05", customer={"name": "Test Customer"}, collection_reference=e2e),
        headers=key,
    ).json()
    content = sepa_direct_debit_content(settlement=date(2014, 1, 2), mandate=mandate, communication="S14 0410")
    collection = MovementSpec(
        D("564.05"), structured_type="127", structured_content=content, counterparty_name="Test Customer",
        counterparty_iban="NL46ABNA0499998748", end_to_end=e2e, booking_date=date(2014, 1, 2),
    )  # fmt: skip
    ours = write_camt([StatementSpec(account, date(2014, 1, 2), D("0"), [collection], sequence=90)])
    assert client.post(f"/v1/companies/{VAT}/statements", content=ours, headers=key).status_code == 201
    assert read_invoice(client, key, policy)["status"] == "paid"

    assert client.post(f"/v1/companies/{VAT}/statements", content=real.read_bytes(), headers=key).status_code == 201
    reopened = read_invoice(client, key, policy)
    assert (reopened["status"], reopened["amount_due"]) == ("open", "564.05")
    assert [(r["amount"], r["reason_code"], r["reason"]) for r in reopened["returns"]] == [
        ("564.05", "AC06", "account blocked")
    ]
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    reversals = {t["direct_debit"]["mandate_reference"]: t for t in items if t["amount"] in ("-564.05", "-100.00")}
    assert reversals[mandate]["status"] == "returned"
    assert reversals["NL22ZZZ524885430000-C0125.2"]["status"] == "unmatched"  # not a collection of ours
    assert _violations() == []


def test_undoing_part_of_a_reversal_undoes_all_of_it(bank):
    """Found by the stateful test: 60.00 paid an invoice of 10.00 and left 50.00; all 60.00 came back (10.00
    taken back off the invoice, 50.00 written off as returned on both). Undoing the return allocation undoes the
    write-offs too: a payment never counts as come back while it still pays."""
    invoice = register(bank, "DD-1", "10.00")
    bank.book(debit("60.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-60.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=9))
    txs = bank.transactions()
    original, returned = txs[("60.00", "2026-11-04")], txs[("-60.00", "2026-11-09")]
    assert (returned["status"], [w["reason"] for w in original["write_offs"]]) == ("returned", ["returned"])
    [taken_back] = returned["allocations"]
    response = bank.client.delete(
        f"/v1/companies/{VAT}/transactions/{returned['id']}/allocations/{taken_back['id']}", headers=bank.key
    )
    assert response.status_code == 204, response.text
    txs = bank.transactions()
    original, returned = txs[("60.00", "2026-11-04")], txs[("-60.00", "2026-11-09")]
    assert (returned["status"], returned["returns"], returned["write_offs"]) == ("unmatched", None, [])
    assert (original["status"], original["write_offs"], original["unallocated_amount"]) == (
        "partially_matched",
        [],
        "50.00",
    )
    assert read(bank, invoice)["status"] == "paid"
    assert _violations() == []


def test_a_return_cannot_be_undone_onto_an_invoice_cancelled_since(client):
    """Found by the ledger's stateful property test: an overpaid invoice's payment comes back, the invoice is then
    cancelled (it holds no money), and undoing the return would have paid the cancelled invoice again."""
    from tests.helpers import IBAN

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A", "10.00"), headers=key).json()
    payment = MovementSpec(
        D("20.00"), ogm=invoice["structured_reference"], counterparty_iban="BE71096123456769", end_to_end="E2E-1"
    )
    back = MovementSpec(
        D("-20.00"),
        structured_type="127",
        structured_content=sepa_direct_debit_content(
            settlement=date(2026, 11, 21), mandate="M-1", communication="", r_type="1", reason="AM04"
        ),
        counterparty_iban="BE71096123456769",
        end_to_end="E2E-1",
    )
    for n, (day, movement) in enumerate(((date(2026, 11, 20), payment), (date(2026, 11, 21), back)), start=1):
        statement = write_coda([StatementSpec(IBAN, day, D(0), [movement], sequence=n)])
        assert client.post(f"/v1/companies/{VAT}/statements", content=statement, headers=key).status_code == 201
    assert read_invoice(client, key, invoice)["amount_paid"] == "0.00"
    assert client.post(f"/v1/companies/{VAT}/invoices/{invoice['id']}/cancel", headers=key).status_code == 200
    txs = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [(tx_id, write_off_id)] = [(t["id"], w["id"]) for t in txs if t["amount"] == "20.00" for w in t["write_offs"]]
    refused = client.delete(f"/v1/companies/{VAT}/transactions/{tx_id}/write-offs/{write_off_id}", headers=key)
    assert refused.status_code == 409 and "cancelled invoice 2026/A" in refused.json()["detail"]
    after = read_invoice(client, key, invoice)
    assert (after["status"], after["amount_paid"]) == ("cancelled", "0.00")
    assert _violations() == []
