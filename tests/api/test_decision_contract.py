"""What a person's decisions on money answer, to the letter: each refusal names the field and the amounts
involved (clients show these messages to bookkeepers), each decision records who made it and why, and each
undo restores exactly what it replaced. Found missing by `make mutate` (docs/testing.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from tests.api.test_money_guards import allocate, create, invoice, only_transaction, upload
from tests.coda_builders import payment_file
from tests.helpers import IBAN, OTHER_VAT, VAT, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def actor_of(key) -> str:
    return "key:" + key["Authorization"].removeprefix("Bearer ").split(".", 1)[0]


def problem(response) -> tuple:
    body = response.json()
    return response.status_code, body["detail"], body.get("errors")


def tx_path(tx, tail="") -> str:
    return f"/v1/companies/{VAT}/transactions/{tx['id']}{tail}"


def audit(client, key, action):
    items = client.get(f"/v1/companies/{VAT}/audit-events", params={"action": action}, headers=key).json()["items"]
    return [(e["actor"], e["subject_id"], e["details"]) for e in items]


def set_status(transaction_id: str, status: str) -> None:
    from app.core.db import unit_of_work
    from app.statements.models import BankTransaction

    with unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        tx.status = status
        session.add(tx)


def test_refused_manual_allocations_name_the_field_and_the_amounts(client, key):
    small = create(client, key, "SMALL", "10.00")
    big = create(client, key, "BIG", "100.00")
    upload(client, key, ("42.00", None))
    tx = only_transaction(client, key)
    write_off = client.post(tx_path(tx, "/write-offs"), json={"amount": "2.00", "reason": "bank_fee"}, headers=key)
    assert write_off.status_code == 201, write_off.text
    assert allocate(client, key, tx, big, "30.00").status_code == 201  # 42 - 2 written off - 30: 10.00 left

    assert problem(allocate(client, key, tx, big, "10.01")) == (
        422,
        "this would allocate more than the transaction's unallocated 10.00",
        [{"loc": "body.amount", "message": "at most 10.00 of this transaction is unallocated"}],
    )
    assert problem(allocate(client, key, tx, big, "0")) == (
        422,
        "amount must be greater than zero",
        [{"loc": "body.amount", "message": "must be greater than zero"}],
    )
    exactly = allocate(client, key, tx, small, "10.00")  # what is left, to the cent, fits
    assert (exactly.status_code, exactly.json()["unallocated_amount"]) == (201, "0.00")


def test_more_than_due_and_unknown_or_cancelled_invoices_are_refused_by_name(client, key):
    inv = create(client, key, "DUE", "10.00")
    gone = create(client, key, "GONE", "10.00")
    client.post(f"/v1/companies/{VAT}/invoices/{gone['id']}/cancel", headers=key).raise_for_status()
    upload(client, key, ("50.00", None))
    tx = only_transaction(client, key)

    assert problem(allocate(client, key, tx, inv, "30.00")) == (
        422,
        "30.00 is more than the 10.00 due on invoice 2026/DUE; send allow_overpayment: true to allocate it anyway",
        [{"loc": "body.amount", "message": "invoice 2026/DUE has 10.00 due"}],
    )
    assert problem(allocate(client, key, tx, {"id": "inv_nothing"}, "1.00")) == (
        422,
        "no invoice inv_nothing",
        [{"loc": "body.invoice_id", "message": "unknown invoice"}],
    )
    assert problem(allocate(client, key, tx, gone, "1.00")) == (409, "invoice 2026/GONE is cancelled", None)
    assert problem(allocate(client, key, {"id": "txn_nothing"}, inv, "1.00")) == (
        404,
        "no transaction txn_nothing",
        None,
    )
    set_status(tx["id"], "ignored")  # set aside: no decision may touch it
    assert problem(allocate(client, key, tx, inv, "1.00")) == (
        409,
        f"transaction {tx['id']} is set aside (ignored)",
        None,
    )


def test_a_globalisation_total_is_not_a_transaction_one_can_allocate(client, key):
    from app.core.db import unit_of_work
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
    from app.statements.models import BankTransaction

    inv = create(client, key, "G", "30.00")
    data = write_coda(
        [
            StatementSpec(
                IBAN,
                date(2026, 11, 20),
                Decimal(0),
                [
                    MovementSpec(
                        Decimal("30.00"), details=[MovementSpec(Decimal("10.00")), MovementSpec(Decimal("20.00"))]
                    )
                ],
            )
        ]
    )
    client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).raise_for_status()
    with unit_of_work(read_only=True) as session:
        [total] = session.exec(select(BankTransaction).where(BankTransaction.kind == "total")).all()
    assert problem(allocate(client, key, {"id": total.id}, inv, "10.00")) == (404, f"no transaction {total.id}", None)
    refused = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "1.00", "transaction_id": total.id},
        headers=key,
    )
    assert problem(refused) == (
        422,
        f"no transaction {total.id}",
        [{"loc": "body.transaction_id", "message": "unknown transaction"}],
    )


def test_a_manual_allocation_records_who_made_it_and_the_tolerated_difference(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"percent": "1"}}, headers=key).raise_for_status()
    inv = create(client, key, "TOL", "200.00")
    create(client, key, "ELSE", "77.00")
    upload(client, key, ("198.50", None), ("77.00", None))  # 1.50 short: within 1 % of 200.00 (2.00)
    tx, elsewhere = sorted(
        client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"], key=lambda t: Decimal(t["amount"])
    )[::-1]
    [matcher_suggestion] = tx["suggestions"]
    body = allocate(client, key, tx, inv, "198.50").json()

    [allocation] = body["allocations"]
    assert allocation["method"] == "manual"
    assert allocation["reasons"] == [
        {"code": "manual", "message": f"allocated by {actor_of(key)}"},
        {"code": "payment_difference", "message": "1.50 short, within the payment tolerance"},
    ]
    paid = invoice(client, key, inv)
    assert (paid["status"], paid["write_off_amount"]) == ("paid", "1.50")
    assert [(w["amount"], w["reason"], w["transaction_id"]) for w in paid["write_offs"]] == [
        ("1.50", "payment_difference", tx["id"])
    ]
    # The suggestion the matcher had made is closed by this allocation, and says by whom; no other is.
    assert body["suggestions"] == []
    from app.core.db import unit_of_work
    from app.reconciliation.models import Suggestion

    with unit_of_work(read_only=True) as session:
        closed = session.get(Suggestion, matcher_suggestion["id"])
        assert (closed.status, closed.decided_by, closed.closed_by) == ("superseded", actor_of(key), allocation["id"])
    assert client.get(tx_path(elsewhere), headers=key).json()["status"] == "suggested"


def test_without_tolerance_the_shortfall_stays_due(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"percent": "1"}}, headers=key).raise_for_status()
    inv = create(client, key, "NOTOL", "200.00")
    upload(client, key, ("198.50", None))
    tx = only_transaction(client, key)
    body = allocate(client, key, tx, inv, "198.50", apply_tolerance=False).json()
    assert [r["code"] for r in body["allocations"][0]["reasons"]] == ["manual"]
    assert (invoice(client, key, inv)["status"], invoice(client, key, inv)["amount_due"]) == ("partially_paid", "1.50")


def test_accepting_a_suggestion_with_a_tolerated_difference_writes_it_off_and_undo_reopens_it(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    inv = create(client, key, "SUG", "121.00")
    upload(client, key, ("120.40", None))  # no reference: a suggestion, 0.60 short
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    assert suggestion["id"].startswith("sug_")
    assert suggestion["allocations"] == [
        {"invoice_id": inv["id"], "amount": "120.40", "write_off": "0.60", "returns": None}
    ]
    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    with unit_of_work(read_only=True) as session:
        [created] = session.exec(select(Event).where(Event.type == "suggestion.created")).all()
    assert (created.subject_id, created.payload["change"]) == (
        tx["id"],
        {"suggestion_id": suggestion["id"], "score": suggestion["score"]},
    )
    accepted = client.post(tx_path(tx, f"/suggestions/{suggestion['id']}/accept"), headers=key)
    assert accepted.status_code == 200, accepted.text

    [allocation] = accepted.json()["allocations"]
    assert allocation["reasons"][-1] == {"code": "accepted", "message": f"suggestion accepted by {actor_of(key)}"}
    paid = invoice(client, key, inv)
    assert (paid["status"], paid["amount_paid"], paid["write_off_amount"]) == ("paid", "120.40", "0.60")
    assert [(w["reason"], w["transaction_id"]) for w in paid["write_offs"]] == [("payment_difference", tx["id"])]
    assert audit(client, key, "suggestion.accepted") == [
        (actor_of(key), suggestion["id"], {"transaction_id": tx["id"]})
    ]
    again = client.post(tx_path(tx, f"/suggestions/{suggestion['id']}/accept"), headers=key)
    assert problem(again) == (409, f"suggestion {suggestion['id']} is already accepted", None)

    undo = client.delete(tx_path(tx, f"/allocations/{allocation['id']}"), headers=key)
    assert undo.status_code == 204
    back = only_transaction(client, key)
    assert (back["status"], [s["id"] for s in back["suggestions"]]) == ("suggested", [suggestion["id"]])
    assert invoice(client, key, inv)["write_offs"] == []
    assert problem(client.delete(tx_path(tx, f"/allocations/{allocation['id']}"), headers=key)) == (
        404,
        f"no allocation {allocation['id']}",
        None,
    )


def test_a_combined_suggestion_reopens_only_when_its_last_allocation_is_undone(client, key):
    a = create(client, key, "A", "30.00", customer={"name": "Klant NV"})
    b = create(client, key, "B", "20.00", customer={"name": "Klant NV"})
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    data = write_coda(
        [
            StatementSpec(
                IBAN,
                date(2026, 11, 20),
                Decimal(0),
                [MovementSpec(Decimal("50.00"), counterparty_name="Klant NV", counterparty_iban="BE68539007547034")],
            )
        ]
    )
    client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).raise_for_status()
    tx = only_transaction(client, key)
    assert tx["status"] == "suggested"  # a payer known by name only: the engine asks
    combined = next(s for s in tx["suggestions"] if len(s["allocations"]) == 2)
    assert {x["invoice_id"] for x in combined["allocations"]} == {a["id"], b["id"]}
    body = client.post(tx_path(tx, f"/suggestions/{combined['id']}/accept"), headers=key).json()
    first, second = body["allocations"]

    client.delete(tx_path(tx, f"/allocations/{first['id']}"), headers=key).raise_for_status()
    half = only_transaction(client, key)
    assert (half["status"], half["suggestions"]) == ("partially_matched", [])  # the other half still stands
    client.delete(tx_path(tx, f"/allocations/{second['id']}"), headers=key).raise_for_status()
    back = only_transaction(client, key)
    assert back["status"] == "suggested"
    assert combined["id"] in [s["id"] for s in back["suggestions"]]


def test_reject_and_reopen_answer_and_record_by_name(client, key):
    create(client, key, "R", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    path = tx_path(tx, f"/suggestions/{suggestion['id']}")
    assert problem(client.post(f"{path}/reopen", headers=key)) == (
        409,
        f"suggestion {suggestion['id']} is open; only a rejected one can be reopened",
        None,
    )
    client.post(f"{path}/reject", headers=key).raise_for_status()
    assert problem(client.post(f"{path}/reject", headers=key)) == (
        409,
        f"suggestion {suggestion['id']} is already rejected",
        None,
    )
    client.post(f"{path}/reopen", headers=key).raise_for_status()
    expected = [(actor_of(key), suggestion["id"], {"transaction_id": tx["id"]})]
    assert audit(client, key, "suggestion.rejected") == expected
    assert audit(client, key, "suggestion.reopened") == expected
    wrong_tx = f"/v1/companies/{VAT}/transactions/txn_other/suggestions/{suggestion['id']}/reject"
    assert problem(client.post(wrong_tx, headers=key))[:2] == (404, "no transaction txn_other")


def test_a_rejected_suggestion_that_no_longer_fits_cannot_be_reopened(client, key):
    inv = create(client, key, "FIT", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    path = tx_path(tx, f"/suggestions/{suggestion['id']}")
    client.post(f"{path}/reject", headers=key).raise_for_status()
    client.post(f"/v1/companies/{VAT}/invoices/{inv['id']}/cancel", headers=key).raise_for_status()
    assert problem(client.post(f"{path}/reopen", headers=key)) == (
        409,
        f"suggestion {suggestion['id']} no longer fits the transaction or its invoices",
        None,
    )


def test_invoice_write_offs_are_bounded_by_what_is_due_and_keep_their_payment_and_note(client, key):
    inv = create(client, key, "WO", "50.00")
    upload(client, key, ("45.00", None))
    tx = only_transaction(client, key)
    path = f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs"
    for amount in ("0", "50.01"):
        assert problem(client.post(path, json={"amount": amount, "reason": "discount"}, headers=key)) == (
            422,
            f"a write-off of {Decimal(amount):.2f} does not fit the 50.00 due on 2026/WO",
            [{"loc": "body.amount", "message": "must be more than 0 and at most the 50.00 due"}],
        )
    assert problem(client.post(path, json={"amount": "1.00", "reason": "gift"}, headers=key))[0] == 422
    whole = client.post(
        path,
        json={"amount": "50.00", "reason": "discount", "transaction_id": tx["id"], "note": "goodwill"},
        headers=key,
    )
    assert whole.status_code == 201, whole.text  # exactly what is due is allowed
    [write_off] = whole.json()["write_offs"]
    assert (write_off["amount"], write_off["reason"], write_off["transaction_id"]) == ("50.00", "discount", tx["id"])
    assert (write_off["note"], write_off["created_by"]) == ("goodwill", actor_of(key))

    make_company(client, vat=OTHER_VAT, name="Other", accounts=["BE68539007547034"])
    other = make_key(client, vat=OTHER_VAT)
    client.post(
        f"/v1/companies/{OTHER_VAT}/statements",
        content=payment_file(("9.00", None), account="BE68539007547034"),
        headers=other,
    ).raise_for_status()
    [theirs] = client.get(f"/v1/companies/{OTHER_VAT}/transactions", headers=other).json()["items"]
    second = create(client, key, "WO2", "10.00")
    foreign = client.post(
        f"/v1/companies/{VAT}/invoices/{second['id']}/write-offs",
        json={"amount": "1.00", "transaction_id": theirs["id"]},
        headers=key,
    )
    assert problem(foreign) == (
        422,
        f"no transaction {theirs['id']}",
        [{"loc": "body.transaction_id", "message": "unknown transaction"}],
    )
    # A write-off is undone only through the invoice it belongs to.
    wrong_owner = f"/v1/companies/{VAT}/invoices/{second['id']}/write-offs/{write_off['id']}"
    assert problem(client.delete(wrong_owner, headers=key)) == (404, f"no write-off {write_off['id']}", None)
    assert invoice(client, key, inv)["status"] == "paid"


def test_the_matcher_writes_off_a_tolerated_difference_against_the_payment(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "2.00"}}, headers=key).raise_for_status()
    inv = create(client, key, "AUTO", "100.00", ref="+++090/9337/55493+++")
    upload(client, key, ("98.50", "+++090/9337/55493+++"))
    tx = only_transaction(client, key)
    paid = invoice(client, key, inv)
    assert (paid["status"], tx["status"]) == ("paid", "matched")
    assert [(w["amount"], w["reason"], w["transaction_id"], w["created_by"]) for w in paid["write_offs"]] == [
        ("1.50", "payment_difference", tx["id"], "matcher")
    ]


def test_transaction_write_offs_count_the_earlier_ones(client, key):
    upload(client, key, ("10.00", None))
    tx = only_transaction(client, key)
    path = tx_path(tx, "/write-offs")
    assert client.post(path, json={"amount": "4.00", "reason": "bank_fee"}, headers=key).status_code == 201
    refused = client.post(path, json={"amount": "6.01", "reason": "bank_fee"}, headers=key)
    assert problem(refused)[0] == 422
    assert "6.00" in refused.json()["detail"]
    assert client.post(path, json={"amount": "6.00", "reason": "manual"}, headers=key).json()["status"] == "matched"


@pytest.mark.parametrize(
    ("amount", "owner"),
    [("0", {"invoice_id": "inv_x"}), ("-1", {"transaction_id": "tx_x"}), ("1.00", {})],
)
def test_the_ledger_refuses_a_write_off_that_is_not_positive_or_belongs_to_nothing(client, key, amount, owner):
    from app.companies.access import company_by_vat
    from app.core.db import unit_of_work
    from app.reconciliation.ledger import Ledger

    with unit_of_work() as session:
        ledger = Ledger(session, company_by_vat(session, VAT).id, "test")
        with pytest.raises(ValueError, match=r"^a write-off is positive and belongs to an invoice or a transaction$"):
            ledger.write_off(Decimal(amount), "manual", **owner)
