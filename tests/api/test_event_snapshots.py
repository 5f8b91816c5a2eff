"""Events carry the resource as it was: the invoice and transaction snapshots are rendered without pydantic (for speed),
by the same renderers as the API's answers, so they are held equal to the API's documented resource, field for field,
over every shape a transaction takes."""

from __future__ import annotations

import base64

from sqlmodel import select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.invoices.models import Invoice
from app.invoices.presenter import present_invoices
from app.invoices.schemas import InvoicePublic
from app.statements.models import BankTransaction
from app.statements.presenter import present_transactions
from app.statements.schemas import TransactionPublic
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


def _upload(client, key, data: bytes) -> dict:
    response = client.post(f"/v1/companies/{VAT}/statements", files={"file": ("s.cod", data)}, headers=key)
    assert response.status_code == 201, response.text
    return response.json()


def _upload_every_shape(client, key) -> None:
    """Invoices of every shape, paid in every way by one upload (see the comments on the payments)."""
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    refs = []
    for n, total in enumerate(("121.00", "200.00", "50.00", "80.00", "64.10", "40.00")):
        body = invoice_body(f"S{n}", total=total)
        if n == 0:  # lines, an address, a reference and a PDF: every part of an invoice's resource
            body.pop("total_amount")
            body["lines"] = [
                {"description": "Werk", "quantity": "1", "unit_price": "100.00", "vat_rate": "21"},
            ]
            body["customer"]["address"] = {
                "street": "Markt 5",
                "city": "Brugge",
                "postal_code": "8000",
                "country": "BE",
            }
            body["buyer_reference"] = "PO-1"
            pdf = base64.b64encode(b"%PDF-1.7").decode()
            body["documents"] = [{"filename": "f.pdf", "content_type": "application/pdf", "content_base64": pdf}]
        created = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
        assert created.status_code == 201, created.text
        refs.append(created.json()["structured_reference"])
    cancelled = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("S9"), headers=key)
    assert cancelled.status_code == 201, cancelled.text
    client.post(f"/v1/companies/{VAT}/invoices/{cancelled.json()['id']}/cancel", headers=key).raise_for_status()
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
            ("55.00", refs[5]),  # more than due: the remainder stays on the payment
        ),
    )


def test_transaction_snapshots_equal_the_api_resource(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    _upload_every_shape(client, key)
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
        documents = present_transactions(session, rows)
        expected = [TransactionPublic.model_validate(d).model_dump(mode="json") for d in documents]
        events = session.exec(select(Event).where(Event.type.like("transaction.%"))).all()
        invoices = session.exec(select(Invoice).order_by(Invoice.number)).all()
        invoice_snapshots = present_invoices(session, invoices)
        expected_invoices = [InvoicePublic.model_validate(i).model_dump(mode="json") for i in invoice_snapshots]
    assert invoice_snapshots == expected_invoices
    assert {i["status"] for i in invoice_snapshots} == {"paid", "partially_paid", "open", "cancelled"}
    assert any(i["lines"] and i["customer"]["address"] and i["documents"] for i in invoice_snapshots)
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


def test_an_upload_announces_what_the_api_then_returns(client):
    """An upload presents its new transactions from what it stored and queued, and the invoices it settles from
    what it read to settle them, not from reading them back after: each event of the upload must still be the
    resource as the API returns it right after the upload (nothing changed it since)."""
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    _upload_every_shape(client, key)
    with unit_of_work() as session:
        events = session.exec(
            select(Event).where(Event.type.like("transaction.%") | Event.type.like("invoice.%"))
        ).all()
        events += session.exec(select(Event).where(Event.type == "suggestion.created")).all()
    announced = [e for e in events if e.type != "invoice.cancelled"]  # the cancel came before the upload
    kinds = {e.type for e in announced}
    assert kinds >= {
        "transaction.unmatched",
        "transaction.partially_matched",
        "suggestion.created",
        "invoice.paid",
        "invoice.partially_paid",
    }
    for event in announced:
        path = "invoices" if event.type.startswith("invoice.") else "transactions"
        resource = client.get(f"/v1/companies/{VAT}/{path}/{event.subject_id}", headers=key)
        assert resource.status_code == 200, resource.text
        assert event.payload["data"] == resource.json(), event.type
