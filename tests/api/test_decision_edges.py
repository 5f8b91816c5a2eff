"""Decisions at their edges: what allocations leave for a write-off, paths that name the wrong transaction,
accepting one suggestion closes its own transaction's others only, and undo reopens exactly what it closed.
Found missing by `make mutate` (docs/testing.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from app.core.errors import ValidationFailed
from tests.api.test_decision_contract import actor_of, problem, tx_path
from tests.api.test_money_guards import allocate, create, events, invoice, only_transaction, upload
from tests.helpers import IBAN, VAT, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def transactions(client, key) -> list[dict]:
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return sorted(items, key=lambda t: t["bank_reference"])


def suggestions_by_status(transaction_id: str) -> dict[str, set[str]]:
    from app.core.db import unit_of_work
    from app.reconciliation.models import Suggestion

    out: dict[str, set[str]] = {}
    with unit_of_work(read_only=True) as session:
        for s in session.exec(select(Suggestion).where(Suggestion.transaction_id == transaction_id)):
            out.setdefault(s.status, set()).add(s.allocations[0]["invoice_id"])
    return out


def test_a_transaction_write_off_fits_what_allocations_left(client, key):
    small = create(client, key, "SMALL", "0.50")
    big = create(client, key, "BIG", "60.00")
    upload(client, key, ("100.00", None))
    tx = only_transaction(client, key)
    assert allocate(client, key, tx, small, "0.50").status_code == 201  # cents are money too
    assert allocate(client, key, tx, big, "60.00").status_code == 201  # 39.50 left
    path = tx_path(tx, "/write-offs")

    assert problem(client.post(path, json={"amount": "39.51", "reason": "manual"}, headers=key)) == (
        422,
        "a write-off of 39.51 does not fit the transaction's unallocated 39.50",
        [{"loc": "body.amount", "message": "must be more than 0 and at most the 39.50 unallocated"}],
    )
    assert problem(client.post(path, json={"amount": "0", "reason": "manual"}, headers=key))[0] == 422
    fee = client.post(path, json={"amount": "0.50", "reason": "bank_fee", "note": "kept by the bank"}, headers=key)
    assert fee.status_code == 201, fee.text
    rest = client.post(path, json={"amount": "39.00", "reason": "manual"}, headers=key).json()
    assert (rest["status"], rest["unallocated_amount"]) == ("matched", "0.00")
    assert sorted((w["amount"], w["reason"], w["note"]) for w in rest["write_offs"]) == [
        ("0.50", "bank_fee", "kept by the bank"),
        ("39.00", "manual", None),
    ]


def test_invoice_write_offs_of_cents_and_of_unknown_invoices(client, key):
    inv = create(client, key, "TEN", "10.00")
    cents = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "0.50", "reason": "discount"},
        headers=key,
    )
    assert (cents.status_code, cents.json()["amount_due"]) == (201, "9.50")
    unknown = client.post(
        f"/v1/companies/{VAT}/invoices/inv_unknown/write-offs",
        json={"amount": "1.00", "reason": "discount"},
        headers=key,
    )
    # The path names no invoice: 404, like every other address of nothing (a body naming one is a 422).
    assert problem(unknown) == (404, "no invoice inv_unknown", None)
    gone = client.delete(f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs/wo_unknown", headers=key)
    assert problem(gone) == (404, "no write-off wo_unknown", None)


def test_an_unknown_write_off_reason_is_refused_by_name(client, key):
    from app.companies.access import company_by_vat
    from app.core.db import unit_of_work
    from app.reconciliation import decisions
    from app.reconciliation.models import WRITE_OFF_REASONS

    upload(client, key, ("10.00", None))
    tx = only_transaction(client, key)
    # The JSON routes only accept known reasons; the review page's form passes what it was sent.
    with unit_of_work() as session, pytest.raises(ValidationFailed) as refused:
        company_id = company_by_vat(session, VAT).id
        decisions.write_off_transaction(session, company_id, tx["id"], Decimal("1.00"), "gift", "test", note=None)
    assert refused.value.errors == [{"loc": "body.reason", "message": f"must be one of {', '.join(WRITE_OFF_REASONS)}"}]


def test_a_refund_settles_a_credit_note_by_hand(client, key):
    note = create(client, key, "CN", "20.00", kind="credit_note")
    upload(client, key, ("-20.00", None))
    tx = only_transaction(client, key)
    settled = allocate(client, key, tx, note, "20.00")
    assert settled.status_code == 201, settled.text
    assert (settled.json()["status"], invoice(client, key, note)["status"]) == ("matched", "paid")


def test_a_path_must_name_the_transaction_that_holds_the_allocation_or_suggestion(client, key):
    paid = create(client, key, "PAID", "121.00")
    create(client, key, "OPEN", "50.00")
    upload(client, key, ("121.00", paid["structured_reference"]), ("50.00", None))
    matched, asking = sorted(transactions(client, key), key=lambda t: t["status"])
    assert (matched["status"], asking["status"]) == ("matched", "suggested")
    [allocation] = matched["allocations"]
    suggestion = asking["suggestions"][0]

    wrong = client.delete(tx_path(asking, f"/allocations/{allocation['id']}"), headers=key)
    assert problem(wrong) == (404, f"no allocation {allocation['id']}", None)
    for action in ("accept", "reject"):
        wrong = client.post(tx_path(matched, f"/suggestions/{suggestion['id']}/{action}"), headers=key)
        assert problem(wrong) == (404, f"no suggestion {suggestion['id']}", None)
    assert invoice(client, key, paid)["status"] == "paid"


def test_accepting_closes_its_own_transactions_suggestions_and_undo_reopens_exactly_those(client, key):
    a, b, c = (create(client, key, name, "50.00") for name in ("A", "B", "C"))
    upload(client, key, ("50.00", None), ("50.00", None))
    first, second = transactions(client, key)
    assert suggestions_by_status(first["id"]) == {"open": {a["id"], b["id"], c["id"]}}
    pick = {s["allocations"][0]["invoice_id"]: s["id"] for s in first["suggestions"]}
    client.post(tx_path(first, f"/suggestions/{pick[a['id']]}/accept"), headers=key).raise_for_status()

    from app.core.db import unit_of_work
    from app.reconciliation.models import Suggestion

    with unit_of_work(read_only=True) as session:
        closed = session.exec(select(Suggestion).where(Suggestion.status == "superseded")).all()
    assert {(s.transaction_id, s.closed_by, s.decided_by) for s in closed} == {
        (first["id"], pick[a["id"]], actor_of(key))
    }
    assert len(closed) == 2
    assert suggestions_by_status(second["id"])["open"] >= {b["id"], c["id"]}  # the other payment still asks

    second = next(t for t in transactions(client, key) if t["id"] == second["id"])
    other = next(s for s in second["suggestions"] if s["allocations"][0]["invoice_id"] == b["id"])
    client.post(tx_path(second, f"/suggestions/{other['id']}/accept"), headers=key).raise_for_status()
    unmatched_before = len(events("transaction.unmatched"))

    [allocation] = next(t for t in transactions(client, key) if t["id"] == first["id"])["allocations"]
    client.delete(tx_path(first, f"/allocations/{allocation['id']}"), headers=key).raise_for_status()
    # The accepted suggestion is open again although other allocations exist, and so is what it closed and
    # still fits (C); B was paid by the other payment meanwhile, so its suggestion stays closed.
    assert suggestions_by_status(first["id"]) == {"open": {a["id"], c["id"]}, "superseded": {b["id"]}}
    assert next(t for t in transactions(client, key) if t["id"] == first["id"])["status"] == "suggested"
    assert len(events("transaction.unmatched")) == unmatched_before  # one settle: never announced as unmatched


@pytest.fixture
def tolerated(client, key):
    """A suggestion that pays 120.40 of 121.00 and writes 0.60 off, and a discount that left 120.50 due."""
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    inv = create(client, key, "TOL", "121.00")
    upload(client, key, ("120.40", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    assert suggestion["allocations"][0]["write_off"] == "0.60"
    return tx, suggestion, inv


def discount(client, key, inv, amount) -> None:
    client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": amount, "reason": "discount"},
        headers=key,
    ).raise_for_status()


def test_a_suggestion_whose_write_off_no_longer_fits_is_not_accepted(client, key, tolerated):
    tx, suggestion, inv = tolerated
    discount(client, key, inv, "0.50")  # 120.50 due: 120.40 paid + 0.60 written off would be 121.00
    stale = client.post(tx_path(tx, f"/suggestions/{suggestion['id']}/accept"), headers=key)
    assert problem(stale) == (409, "invoice 2026/TOL has 120.50 due now; the suggestion is out of date", None)


def test_a_rejected_suggestion_whose_write_off_no_longer_fits_is_not_reopened(client, key, tolerated):
    tx, suggestion, inv = tolerated
    path = tx_path(tx, f"/suggestions/{suggestion['id']}")
    client.post(f"{path}/reject", headers=key).raise_for_status()
    discount(client, key, inv, "0.50")
    assert problem(client.post(f"{path}/reopen", headers=key))[0] == 409


def test_a_rejected_suggestion_does_not_reopen_over_money_allocated_since(client, key):
    create(client, key, "FULL", "100.00")
    other = create(client, key, "HALF", "50.00", customer={"name": "Ander BV"})
    upload(client, key, ("100.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    path = tx_path(tx, f"/suggestions/{suggestion['id']}")
    client.post(f"{path}/reject", headers=key).raise_for_status()
    assert allocate(client, key, tx, other, "50.00").status_code == 201  # 50 left: the 100 no longer fits
    assert problem(client.post(f"{path}/reopen", headers=key))[0] == 409


def test_writing_off_all_of_a_payment_closes_its_suggestions_and_the_undo_reopens_them(client, key):
    """Found by the ledger's property test: a transaction written off whole kept an open suggestion, which
    `codarecon check` reports (fully matched, yet a suggestion is still open)."""
    create(client, key, "A", "80.00")
    upload(client, key, ("80.00", None))  # the amount of an invoice, no reference: a suggestion
    tx = only_transaction(client, key)
    assert tx["status"] == "suggested" and suggestions_by_status(tx["id"]).keys() == {"open"}
    path = tx_path(tx, "/write-offs")

    fee = client.post(path, json={"amount": "1.00", "reason": "bank_fee"}, headers=key)
    assert fee.status_code == 201, fee.text
    assert suggestions_by_status(tx["id"]).keys() == {"open"}  # 79.00 left: it may still be for the invoice
    fee_id = fee.json()["write_offs"][0]["id"]
    assert client.delete(tx_path(tx, f"/write-offs/{fee_id}"), headers=key).status_code == 204

    whole = client.post(path, json={"amount": "80.00", "reason": "manual"}, headers=key).json()
    assert (whole["status"], whole["suggestions"]) == ("matched", [])
    assert suggestions_by_status(tx["id"]).keys() == {"superseded"}

    undone = client.delete(tx_path(tx, f"/write-offs/{whole['write_offs'][0]['id']}"), headers=key)
    assert undone.status_code == 204, undone.text
    after = client.get(tx_path(tx), headers=key).json()
    assert after["status"] == "suggested" and [s["status"] for s in after["suggestions"]] == ["open"]
