"""The hot read (GET invoice, invoices/reads.py) gives exactly the resource the ORM presenter gives, for invoices
with and without allocations, write-offs and documents; errors are the ordinary problems."""

from __future__ import annotations

import asyncio
import base64
import json

from app.core.db import get_engine, unit_of_work
from app.core.errors import NotFound
from app.core.json_out import json_bytes
from app.invoices import reads
from app.invoices.models import Invoice
from app.invoices.presenter import invoice_document, present_invoice
from app.reconciliation.presenter import oldest_first
from tests.coda_builders import payment_file
from tests.helpers import OTHER_VAT, VAT, invoice_body, make_company, make_key


def presented(invoice_id: str) -> dict:
    with unit_of_work(read_only=True) as session:
        return present_invoice(session, session.get(Invoice, invoice_id))


def test_the_hot_read_equals_the_presenter_with_and_without_money(client):
    make_company(client)
    key = make_key(client)
    pdf = {"filename": "a.pdf", "content_type": "application/pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
    bare = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A"), headers=key).json()
    paid = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body("B", total="100.00", documents=[pdf]), headers=key
    ).json()
    client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("98.00", paid["structured_reference"])), headers=key
    ).raise_for_status()
    client.post(
        f"/v1/companies/{VAT}/invoices/{paid['id']}/write-offs",
        json={"amount": "2.00", "reason": "discount"},
        headers=key,
    ).raise_for_status()

    written_off = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("C"), headers=key).json()
    client.post(
        f"/v1/companies/{VAT}/invoices/{written_off['id']}/write-offs",
        json={"amount": written_off["total_amount"], "reason": "manual"},
        headers=key,
    ).raise_for_status()

    for invoice in (bare, paid, written_off):
        response = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == presented(invoice["id"])
    body = client.get(f"/v1/companies/{VAT}/invoices/{paid['id']}", headers=key).json()
    assert (body["status"], body["amount_paid"], body["write_off_amount"]) == ("paid", "98.00", "2.00")
    assert [len(body[k]) for k in ("allocations", "write_offs", "documents")] == [1, 1, 1]
    body = client.get(f"/v1/companies/{VAT}/invoices/{written_off['id']}", headers=key).json()
    assert (body["status"], len(body["write_offs"])) == ("paid", 1)


def test_the_hot_read_of_an_invoice_paid_in_parts_lists_its_allocations_oldest_first(client):
    """Allocations only (no write-off, no document) are read in one select with the invoice, and sorted there."""
    make_company(client)
    key = make_key(client)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P", total="100.00"), headers=key).json()
    ref = invoice["structured_reference"]
    for sequence, amount in ((1, "30.00"), (2, "25.00"), (3, "45.00")):
        client.post(
            f"/v1/companies/{VAT}/statements", content=payment_file((amount, ref), sequence=sequence), headers=key
        ).raise_for_status()
    body = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert body == presented(invoice["id"])
    assert (body["status"], body["amount_paid"], body["amount_due"]) == ("paid", "100.00", "0.00")
    assert [a["amount"] for a in body["allocations"]] == ["30.00", "25.00", "45.00"]
    assert (body["write_offs"], body["documents"]) == ([], [])


def test_errors_are_the_ordinary_problems(client):
    make_company(client)
    make_company(client, vat=OTHER_VAT, name="Other")
    key = make_key(client)
    other_key = make_key(client, vat=OTHER_VAT)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    url = f"/v1/companies/{VAT}/invoices/{invoice['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=other_key).status_code == 404  # another company's key: its own VAT only
    missing = client.get(f"/v1/companies/{VAT}/invoices/inv_{'0' * 28}", headers=key)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == f"no invoice inv_{'0' * 28}"


def test_reads_that_come_together_each_get_their_own_company_s_invoice(client, monkeypatch):
    """Concurrent reads of two companies' invoices (on PostgreSQL they share queries, app/core/batched_reads.py): each
    read gives what a read alone gives, and an invoice asked for under the wrong company stays not found even
    when its rows came in the same query as its own company's read."""
    ours, theirs = make_company(client)["id"], make_company(client, vat=OTHER_VAT, name="Other")["id"]
    key, other_key = make_key(client), make_key(client, vat=OTHER_VAT)
    paid = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P", total="50.00"), headers=key).json()
    client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("20.00", paid["structured_reference"])), headers=key
    ).raise_for_status()
    bare = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("B"), headers=key).json()
    other = client.post(f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body("P"), headers=other_key).json()
    alone = {
        (ours, paid["id"]): client.get(f"/v1/companies/{VAT}/invoices/{paid['id']}", headers=key).json(),
        (ours, bare["id"]): client.get(f"/v1/companies/{VAT}/invoices/{bare['id']}", headers=key).json(),
        (theirs, other["id"]): client.get(
            f"/v1/companies/{OTHER_VAT}/invoices/{other['id']}", headers=other_key
        ).json(),
    }
    assert alone[(ours, paid["id"])]["amount_paid"] == "20.00"
    wrong = [(theirs, paid["id"]), (ours, other["id"]), (ours, f"inv_{'0' * 28}")]
    asked = [*alone, *wrong] * 8

    queries: list[list[str]] = []
    query = reads._batched._query

    async def counted(ids):
        queries.append(ids)
        return await query(ids)

    monkeypatch.setattr(reads._batched, "_query", counted)

    async def read(company_id, invoice_id):
        try:
            invoice, allocations, write_offs, documents = await reads.invoice_rows(company_id, invoice_id)
            return json.loads(json_bytes(invoice_document(invoice, oldest_first(allocations), write_offs, documents)))
        except NotFound as missing:
            return missing

    async def read_all():
        return await asyncio.gather(*(read(company_id, invoice_id) for company_id, invoice_id in asked))

    got = asyncio.run(read_all())
    for (company_id, invoice_id), result in zip(asked, got, strict=True):
        if (company_id, invoice_id) in alone:
            assert result == alone[(company_id, invoice_id)]
        else:
            assert isinstance(result, NotFound), (company_id, invoice_id)
    if get_engine().dialect.name == "postgresql":
        assert 0 < len(queries) < len(asked)  # shared: fewer queries than reads
        assert any(len(ids) > 1 for ids in queries)
    else:
        assert queries == []  # SQLite reads answer at once, one select each
