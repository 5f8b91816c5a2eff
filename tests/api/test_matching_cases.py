"""The matching engine behind the API, case by case (see also tests/unit/test_matching_*.py)."""

from __future__ import annotations

import pytest

from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key

REF_A = "+++090/9337/55493+++"
REF_B = "+++000/0000/00101+++"


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def invoice(client, key, ext, total="121.00", ref=REF_A, **kw):
    response = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body(ext, total=total, structured_reference=ref, **kw),
        headers=key,
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload(client, key, *payments, sequence=1, name="KLANT NV"):
    from tests.coda_builders import payment_file as build

    response = client.post(
        f"/v1/companies/{VAT}/statements", content=build(*payments, sequence=sequence, name=name), headers=key
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def upload_text(client, key, amount, text, sequence=1):
    from datetime import date
    from decimal import Decimal

    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    movement = MovementSpec(
        Decimal(amount), communication=text, counterparty_name="KLANT NV", counterparty_iban="BE71096123456769"
    )
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [movement], sequence=sequence)])
    response = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
    assert response.status_code == 201, response.text
    return response.json()


def status(client, key, inv):
    return client.get(f"/v1/companies/{VAT}/invoices/{inv['id']}", headers=key).json()


def test_payment_before_its_invoice_is_matched_when_the_invoice_arrives(client, key):
    assert upload(client, key, ("121.00", REF_A))["matching"]["matched"] == 0
    inv = invoice(client, key, "LATE")
    paid = status(client, key, inv)
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "structured_reference"


def test_shortfall_within_the_tolerance_settles_with_a_write_off(client, key):
    tolerance = client.patch(
        f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "2.00", "percent": "2"}}, headers=key
    )
    assert tolerance.status_code == 200, tolerance.text
    assert tolerance.json()["payment_tolerance"] == {"amount": "2.00", "percent": "2"}
    inv = invoice(client, key, "FEE")
    upload(client, key, ("119.50", REF_A))
    paid = status(client, key, inv)
    assert (paid["status"], paid["amount_paid"], paid["write_off_amount"], paid["amount_due"]) == (
        "paid",
        "119.50",
        "1.50",
        "0.00",
    )
    [allocation] = paid["allocations"]
    assert allocation["amount"] == "119.50"
    [write_off] = paid["write_offs"]
    assert (write_off["amount"], write_off["reason"], write_off["allocation_id"]) == (
        "1.50",
        "payment_difference",
        allocation["id"],
    )


def test_without_a_tolerance_a_shortfall_leaves_the_invoice_partially_paid(client, key):
    inv = invoice(client, key, "FEE")
    upload(client, key, ("119.50", REF_A))
    paid = status(client, key, inv)
    assert (paid["status"], paid["amount_paid"], paid["write_off_amount"], paid["amount_due"]) == (
        "partially_paid",
        "119.50",
        "0.00",
        "1.50",
    )


def test_credit_note_netted_in_one_transfer(client, key):
    inv = invoice(client, key, "INV", total="100.00")
    note = invoice(client, key, "CN", total="20.00", ref=REF_B, kind="credit_note")
    upload_text(client, key, "80.00", "betaling 090/9337/55493 min creditnota 000/0000/00101")
    paid, netted = status(client, key, inv), status(client, key, note)
    assert (paid["status"], paid["amount_paid"]) == ("paid", "100.00")
    assert (netted["status"], netted["amount_paid"]) == ("paid", "20.00")
    # Against the 80.00 that came in, the credit note counts as money out: 100.00 - 20.00, nothing left.
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert (tx["status"], tx["allocated_amount"], tx["unallocated_amount"]) == ("matched", "80.00", "0.00")
    summary = client.get(f"/v1/companies/{VAT}/summary", headers=key).json()["matching"]
    assert (summary["allocated_amount"], summary["unallocated_amount"]) == ("80.00", "0.00")


def test_refund_settles_a_credit_note(client, key):
    note = invoice(client, key, "CN", total="20.00", ref=REF_B, kind="credit_note")
    upload(client, key, ("-20.00", REF_B))
    refunded = status(client, key, note)
    assert (refunded["status"], refunded["amount_paid"]) == ("paid", "20.00")
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert (tx["status"], tx["allocated_amount"], tx["unallocated_amount"]) == ("matched", "-20.00", "0.00")


def test_one_typo_in_the_reference_is_recovered_when_amount_and_payer_agree(client, key):
    inv = invoice(client, key, "TYPO", customer={"name": "Klant NV", "iban": "BE71096123456769"})
    upload_text(client, key, "121.00", "+++090/9337/55439+++")  # two digits swapped
    paid = status(client, key, inv)
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "reference_typo"


def test_typo_with_a_different_amount_is_only_a_suggestion(client, key):
    inv = invoice(client, key, "TYPO2", customer={"name": "Iemand Anders", "iban": "BE67735000000287"})
    result = upload_text(client, key, "50.00", "+++090/9337/55439+++")
    assert status(client, key, inv)["status"] == "open"
    assert result["matching"]["matched"] == 0


def test_invoice_number_in_free_text(client, key):
    inv = invoice(client, key, "0153", customer={"name": "Klant NV", "iban": "BE71096123456769"})
    upload_text(client, key, "121.00", "Factuur 2026/0153 dank u")
    paid = status(client, key, inv)
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "invoice_number"


def test_thresholds_are_configurable_per_company(client, key):
    response = client.put(f"/v1/companies/{VAT}/matching-config", json={"auto_threshold": 0.99}, headers=ADMIN)
    assert response.status_code == 200, response.text
    inv = invoice(client, key, "0153", customer={"name": "Klant NV", "iban": "BE71096123456769"})
    result = upload_text(client, key, "121.00", "Factuur 2026/0153")
    assert result["matching"] == {"matched": 0, "suggested": 1, "unmatched": 0}  # 0.97 is no longer enough
    assert status(client, key, inv)["status"] == "open"
    assert (
        client.put(f"/v1/companies/{VAT}/matching-config", json={"auto_threshold": 2}, headers=ADMIN).status_code == 422
    )
    assert client.put(f"/v1/companies/{VAT}/matching-config", json={}, headers=key).status_code == 403


def test_globalisation_details_are_each_matched_and_the_total_never(client, key):
    from datetime import date
    from decimal import Decimal

    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    a = invoice(client, key, "A", total="10.00", ref=REF_A)
    b = invoice(client, key, "B", total="20.00", ref=REF_B)
    total = MovementSpec(
        Decimal("30.00"), details=[MovementSpec(Decimal("10.00"), ogm=REF_A), MovementSpec(Decimal("20.00"), ogm=REF_B)]
    )
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [total])])
    result = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).json()
    assert result["matching"] == {"matched": 2, "suggested": 0, "unmatched": 0}
    assert status(client, key, a)["status"] == status(client, key, b)["status"] == "paid"


def test_rejected_pair_is_not_proposed_again_when_matching_reruns(client, key):
    invoice(client, key, "X", total="121.00", ref=REF_A)
    upload(client, key, ("121.00", None))
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "suggested"}, headers=key).json()["items"]
    client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{tx['suggestions'][0]['id']}/reject", headers=key
    )
    from app.core.db import unit_of_work
    from app.reconciliation.service import match_transactions
    from app.statements.models import BankTransaction

    with unit_of_work() as session:
        company_id = session.get(BankTransaction, tx["id"]).company_id
        summary = match_transactions(session, company_id, [tx["id"]])
    assert summary.suggested == 0
    assert client.get(f"/v1/companies/{VAT}/transactions/{tx['id']}", headers=key).json()["suggestions"] == []


def upload_structured(client, key, amount, kind, content, sequence=1):
    """One payment from the customer's account with a structured communication of this type, as the bank wrote it."""
    from datetime import date
    from decimal import Decimal

    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    movement = MovementSpec(
        Decimal(amount),
        structured_type=kind,
        structured_content=content,
        counterparty_name="KLANT NV",
        counterparty_iban="BE71096123456769",
    )
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [movement], sequence=sequence)])
    response = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
    assert response.status_code == 201, response.text
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 1}, headers=key).json()["items"]
    return tx


@pytest.mark.parametrize("kind", ["101", "102"])
def test_a_mistyped_structured_communication_is_recovered_as_the_bank_sent_it(client, key, kind):
    # Types 101 and 102 both carry an OGM; with two digits swapped the check fails, so the bank's own field
    # is the only place the engine can read the payer's attempt from.
    inv = invoice(client, key, "TYPO", customer={"name": "Klant NV", "iban": "BE71096123456769"})
    tx = upload_structured(client, key, "121.00", kind, "090933755439")
    assert (tx["structured_type"], tx["structured_reference"]) == (kind, None)
    paid = status(client, key, inv)
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "reference_typo"


@pytest.mark.parametrize("written", ["090933755439", "090/9337/55439", "+++090/9337/55439+++"])
def test_a_mistyped_bba_reference_in_camt_is_recovered_beside_a_free_text(client, key, written):
    # camt.053 carries the creditor reference apart from the free text: here the text says nothing, and the
    # reference (two digits swapped, in whatever notation the bank wrote it) is the payer's only attempt.
    from datetime import date
    from decimal import Decimal

    from app.statements.camt_writer import write_camt
    from app.statements.coda_writer import MovementSpec, StatementSpec

    inv = invoice(client, key, "TYPO", customer={"name": "Klant NV", "iban": "BE71096123456769"})
    movement = MovementSpec(
        Decimal("121.00"),
        ogm="090933755439",
        communication="betaling",
        counterparty_name="KLANT NV",
        counterparty_iban="BE71096123456769",
    )
    data = write_camt([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [movement], sequence=1)])
    data = data.replace(b"<Ref>090933755439</Ref>", f"<Ref>{written}</Ref>".encode())
    response = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
    assert response.status_code == 201, response.text
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert (tx["communication"], tx["structured_type"], tx["structured_reference"]) == ("betaling", "101", None)
    paid = status(client, key, inv)
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "reference_typo"


def test_of_two_payments_for_one_invoice_the_one_the_bank_listed_first_takes_it(client, key):
    # Ids are random: the order they sort in must not decide which payment pays. Ten invoices make a lucky
    # order (1 in 1,024) out of the question.
    from datetime import date
    from decimal import Decimal

    from app.identifiers.references import format_ogm
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    refs = [format_ogm(f"{7000 + n:010d}{(7000 + n) % 97 or 97:02d}") for n in range(10)]
    invoices = [invoice(client, key, f"TWICE{n}", total="50.00", ref=ref) for n, ref in enumerate(refs)]
    movements = [
        MovementSpec(Decimal("50.00"), ogm=ref, bank_reference=f"{which}-{n}")
        for n, ref in enumerate(refs)
        for which in ("first", "second")
    ]
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), movements)])
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).status_code == 201
    items = client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 100}, headers=key).json()["items"]
    listed_as = {tx["id"]: tx["bank_reference"] for tx in items}
    for n, inv in enumerate(invoices):
        [allocation] = status(client, key, inv)["allocations"]
        assert listed_as[allocation["transaction_id"]] == f"first-{n}"


def test_a_payment_of_one_euro_and_a_write_off_under_one_euro_are_booked(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "2.00"}}, headers=key)
    one = invoice(client, key, "ONE", total="1.00", ref=REF_A)
    short = invoice(client, key, "SHORT", total="10.00", ref=REF_B)
    result = upload(client, key, ("1.00", REF_A), ("9.60", REF_B))
    assert result["matching"] == {"matched": 2, "suggested": 0, "unmatched": 0}
    assert status(client, key, one)["status"] == "paid"
    settled = status(client, key, short)
    assert (settled["status"], settled["amount_paid"], settled["write_off_amount"]) == ("paid", "9.60", "0.40")


def test_the_upload_counts_every_payment_only_proposed(client, key):
    invoice(client, key, "P1", total="31.00", ref=REF_A)
    invoice(client, key, "P2", total="32.00", ref=REF_B)
    result = upload(client, key, ("31.00", None), ("32.00", None))  # amounts alone: proposals, never bookings
    assert result["matching"] == {"matched": 0, "suggested": 2, "unmatched": 0}
