"""Ids and query values that cannot exist are refused before any query: a 404 (an id none of ours can be) or a
422 (a control character in the query), never a 500, and never a failure of another company's read that would
have shared a query with them (PostgreSQL's batched reads)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key, serving

IMPOSSIBLE = ["inv_%00x", "inv_%00", "%00", "tx_%1F", "inv_%7F", "inv_" + "0" * 60]


@pytest.mark.parametrize("bad", IMPOSSIBLE)
@pytest.mark.parametrize(
    "template",
    [
        "/v1/companies/{vat}/invoices/{bad}",
        "/v1/companies/{vat}/transactions/{bad}",
        "/v1/companies/{vat}/transactions/{bad}/allocations/alc_" + "0" * 28,
    ],
)
def test_an_impossible_id_in_the_path_is_a_404(client, bad, template):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    method = "DELETE" if template.endswith("0" * 28) else "GET"
    response = client.request(method, template.format(vat=VAT, bad=bad), headers=key)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_impossible_webhook_endpoint_id_is_a_404(client):
    for bad in ("whe_%00", "whe_1", "x" * 300):
        assert client.get(f"/v1/webhook-endpoints/{bad}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("query", ["external_id=%00", "external_id=a%00b", "cursor=%01", "external_id=%7F"])
def test_a_control_character_in_the_query_is_a_422(client, query):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    response = client.get(f"/v1/companies/{VAT}/invoices?{query}", headers=key)
    assert response.status_code == 422, response.text


def test_one_companys_impossible_reads_never_fail_anothers(client, app):
    """Company A hammers invoice reads with impossible ids (a NUL; a wrong prefix or length, which the shared
    read refuses too) while company B reads its own invoice: every B read answers 200 (on PostgreSQL the reads
    that arrive together share one query)."""
    make_company(client, accounts=[IBAN])
    a_key = make_key(client)
    make_company(client, vat=OTHER_VAT, name="Other", accounts=["BE68539007547034"])
    b_key = make_key(client, vat=OTHER_VAT)
    invoice = client.post(f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body("B-1"), headers=b_key).json()
    with serving(app) as port:
        base = f"http://127.0.0.1:{port}"
        go = threading.Barrier(16)

        def read(n: int) -> list[int]:
            with httpx.Client(base_url=base, timeout=10) as http:
                go.wait(timeout=30)
                if n % 2:
                    bad = (f"inv_%00{n}", f"inv_{n}", "INV_" + "0" * 28)
                    return [
                        http.get(f"/v1/companies/{VAT}/invoices/{bad[i % 3]}", headers=a_key).status_code
                        for i in range(20)
                    ]
                return [
                    http.get(f"/v1/companies/{OTHER_VAT}/invoices/{invoice['id']}", headers=b_key).status_code
                    for _ in range(20)
                ]

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(read, range(16)))
    assert {status for n, statuses in enumerate(answers) if n % 2 == 0 for status in statuses} == {200}
    assert {status for n, statuses in enumerate(answers) if n % 2 for status in statuses} == {404}


@pytest.mark.parametrize("bad", ["inv_\x00x", "inv_1", "INV_" + "0" * 28, "inv_" + "g" * 28])
def test_the_shared_invoice_read_refuses_an_impossible_id_before_any_query(client, monkeypatch, bad):
    """The invoice read batches ids into one PostgreSQL query: an id none of ours can be never joins it."""
    import asyncio

    from app.core.errors import NotFound
    from app.invoices import reads

    def no_query(*_, **__):
        raise AssertionError("a query was sent")

    monkeypatch.setattr(reads._batched, "rows", no_query)
    monkeypatch.setattr(reads.kept_read_connections, "read", no_query)
    with pytest.raises(NotFound):
        asyncio.run(reads.invoice_rows("co_x", bad))
