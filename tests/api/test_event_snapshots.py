"""Events carry the resource as it was: the transaction snapshots are built without pydantic (for speed), so
they are held equal to the API's own resource, field for field, over every shape a transaction takes."""

from __future__ import annotations

from sqlmodel import select

from app.db import unit_of_work
from app.outbox_models import Event
from app.statements.models import BankTransaction
from app.statements.presenter import present_transactions, transaction_documents
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


def _upload(client, key, data: bytes) -> dict:
    response = client.post(f"/v1/companies/{VAT}/statements", files={"file": ("s.cod", data)}, headers=key)
    assert response.status_code == 201, response.text
    return response.json()


def test_transaction_snapshots_equal_the_api_resource(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    refs = []
    for n, total in enumerate(("121.00", "200.00", "50.00", "80.00", "64.10")):
        created = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"S{n}", total=total), headers=key)
        assert created.status_code == 201, created.text
        refs.append(created.json()["structured_reference"])
    _upload(
        client,
        key,
        payment_file(
            ("121.00", refs[0]),  # paid
            ("199.50", refs[1]),  # paid, the difference written off within the tolerance
            ("20.00", refs[2]),  # partly paid
            ("80.00", None),  # the amount of an invoice, no reference: a suggestion
            ("-15.25", None),  # money out
            ("33.333", None),  # a third decimal
            ("64.10", None),
        ),
    )
    with unit_of_work() as session:
        rows = session.exec(select(BankTransaction)).all()
        tx = next(t for t in rows if str(t.amount) == "33.333")
    kept = client.post(
        f"/v1/companies/{VAT}/transactions/{tx.id}/write-offs",
        json={"amount": "3.33", "reason": "bank_fee", "note": "kept"},
        headers=key,
    )
    assert kept.status_code == 201, kept.text

    with unit_of_work() as session:
        rows = session.exec(select(BankTransaction).order_by(BankTransaction.line)).all()
        expected = [t.model_dump(mode="json") for t in present_transactions(session, rows)]
        documents = transaction_documents(session, rows)
        events = session.exec(select(Event).where(Event.type.like("transaction.%"))).all()
    assert documents == expected
    # Every shape was there to compare: allocations, write-offs with and without an invoice, suggestions.
    assert any(d["allocations"] for d in documents)
    assert any(w["invoice_id"] for d in documents for w in d["write_offs"])
    assert any(w["invoice_id"] is None for d in documents for w in d["write_offs"])
    assert any(d["suggestions"] and d["suggestions"][0]["allocations"] for d in documents)
    assert {d["status"] for d in documents} >= {"matched", "partially_matched", "suggested", "unmatched"}
    # What the upload announced is the resource as it stood then, in the API's own JSON.
    latest = {}
    for event in sorted(events, key=lambda e: e.created_at):
        latest[event.subject_id] = event.payload["data"]
    by_id = {d["id"]: d for d in expected}
    assert latest and all(set(data) == set(by_id[subject]) for subject, data in latest.items())
    assert latest[tx.id] == by_id[tx.id]
