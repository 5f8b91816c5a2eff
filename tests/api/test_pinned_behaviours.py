"""Behaviours an audit found unpinned (each was broken by hand and no test noticed): the payment tolerance at
its edges (an exact allocation, a shortfall of exactly the percentage, a split payment, a second manual
allocation), a standard-rated line at 0 %, a client's UBL whose seller names no VAT number, and a webhook body
frozen at the moment of its event."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from app.codabox.ubl import Address, Party, UblInvoice, build_ubl
from app.peppol.lines import Line
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.coda_builders import payment_file
from tests.helpers import IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

COUNTERPARTY_IBAN = "BE71096123456769"  # the customer's account in invoice_body


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def set_tolerance(client, key, **tolerance: str) -> None:
    response = client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": tolerance}, headers=key)
    assert response.status_code == 200, response.text


def create(client, key, external_id: str, total: str, **overrides) -> dict:
    response = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(external_id, total, **overrides), headers=key
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload(client, key, content: bytes) -> None:
    response = client.post(f"/v1/companies/{VAT}/statements", content=content, headers=key)
    assert response.status_code == 201, response.text


def transactions(client, key) -> list[dict]:
    """The company's transactions, largest amount first."""
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return sorted(items, key=lambda t: Decimal(t["amount"]), reverse=True)


def allocate(client, key, tx: dict, inv: dict, amount: str) -> httpx.Response:
    return client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": inv["id"], "amount": amount},
        headers=key,
    )


def invoice(client, key, inv: dict) -> dict:
    response = client.get(f"/v1/companies/{VAT}/invoices/{inv['id']}", headers=key)
    assert response.status_code == 200, response.text
    return response.json()


def settled(inv: dict) -> tuple:
    """What an invoice shows of its settlement: status, paid, written off, due, and its write-offs."""
    return (
        inv["status"],
        inv["amount_paid"],
        inv["write_off_amount"],
        inv["amount_due"],
        [(w["amount"], w["reason"]) for w in inv["write_offs"]],
    )


# -- 1. tolerance: an exact manual allocation ----------------------------------------------------------------


def test_an_exact_manual_allocation_at_a_company_with_a_tolerance_pays_without_a_write_off(client, key):
    set_tolerance(client, key, amount="1.00", percent="0.5")
    inv = create(client, key, "EXACT", "100.00")
    upload(client, key, payment_file(("100.00", None)))  # no reference: left for a person
    [tx] = transactions(client, key)

    allocated = allocate(client, key, tx, inv, "100.00")

    assert allocated.status_code == 201, allocated.text
    assert [r["code"] for r in allocated.json()["allocations"][0]["reasons"]] == ["manual"]  # no tolerated difference
    assert settled(invoice(client, key, inv)) == ("paid", "100.00", "0.00", "0.00", [])


# -- 2. tolerance: a shortfall of exactly the percentage -----------------------------------------------------


def test_a_shortfall_of_exactly_the_percentage_is_within_the_tolerance(client, key):
    set_tolerance(client, key, percent="2")
    inv = create(client, key, "PCT", "100.00")
    upload(client, key, payment_file(("98.00", inv["structured_reference"])))  # 2.00 short: exactly 2 % of 100.00

    assert settled(invoice(client, key, inv)) == ("paid", "98.00", "2.00", "0.00", [("2.00", "payment_difference")])


# -- 3. tolerance: a split payment with a tolerated shortfall ------------------------------------------------


def test_a_split_payment_writes_off_only_on_the_last_document(client, key):
    """One payment names two invoices (50.00, due first, and 0.50): 49.70 is 0.80 short of both together,
    within the tolerance of 1.00, so it is matched. The matcher pays the documents oldest first and writes off
    a shortfall only on the last one (app/reconciliation/matching.py ``_split``, docs/testing.md "write-off on
    the last document only"): the 50.00 invoice takes all 49.70 and keeps 0.30 due; the 0.50 invoice gets no
    money and is written off whole. The service does what the audit expected; the design is documented, so
    this pins it. Of note: only 0.50 of the 0.80 the tolerance admitted is written off, and a person splitting
    the same payment by hand ends elsewhere (49.70 to the 50.00 invoice writes 0.30 off and leaves the 0.50
    invoice open, and a 0.00 allocation is refused)."""
    set_tolerance(client, key, amount="1.00")
    first = create(client, key, "FIFTY", "50.00", due_date="2026-12-01")
    last = create(client, key, "HALF", "0.50", due_date="2026-12-15")
    both = f"{first['structured_reference']} {last['structured_reference']}"
    upload(
        client,
        key,
        write_coda(
            [
                StatementSpec(
                    IBAN,
                    date(2026, 11, 20),
                    Decimal(0),
                    [MovementSpec(Decimal("49.70"), communication=both, counterparty_name="KLANT NV")],
                )
            ]
        ),
    )

    [tx] = transactions(client, key)
    assert (tx["status"], tx["allocated_amount"], tx["unallocated_amount"]) == ("matched", "49.70", "0.00")
    assert sorted((a["invoice_id"], a["amount"]) for a in tx["allocations"]) == sorted(
        [(first["id"], "49.70"), (last["id"], "0.00")]
    )
    assert settled(invoice(client, key, first)) == ("partially_paid", "49.70", "0.00", "0.30", [])
    assert settled(invoice(client, key, last)) == ("paid", "0.00", "0.50", "0.00", [("0.50", "payment_difference")])


# -- 4. tolerance: a manual allocation is measured against the amount due ------------------------------------


def test_a_manual_tolerance_is_measured_against_the_amount_due_not_the_total(client, key):
    set_tolerance(client, key, amount="1.00")
    inv = create(client, key, "TWO", "100.00")
    upload(client, key, payment_file(("60.00", None), ("39.50", None)))
    big, small = transactions(client, key)

    assert allocate(client, key, big, inv, "60.00").status_code == 201  # 40.00 short: outside the tolerance
    assert settled(invoice(client, key, inv)) == ("partially_paid", "60.00", "0.00", "40.00", [])
    second = allocate(client, key, small, inv, "39.50")  # 0.50 short of the 40.00 due: within it

    assert second.status_code == 201, second.text
    assert settled(invoice(client, key, inv)) == ("paid", "99.50", "0.50", "0.00", [("0.50", "payment_difference")])


# -- 5. Peppol: a standard-rated line at 0 % ------------------------------------------------------------------


def test_a_standard_rated_line_at_zero_percent_is_refused(client, key):
    body = invoice_body("S0")
    body.pop("total_amount")
    body["lines"] = [
        {"description": "Werk", "quantity": "1", "unit_price": "100.00", "vat_category": "S", "vat_rate": "0"}
    ]

    refused = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"].startswith("body.lines.0")
    assert "a standard-rated line (S) needs its vat_rate, above 0" in error["message"]


# -- 6. Peppol: a client's UBL whose seller has no VAT number -----------------------------------------------


def test_a_client_ubl_whose_seller_has_no_vat_number_is_refused_when_it_is_another_enterprise(client, key):
    # Out of scope of VAT (O): a document that names no VAT number at all (BR-O-02), and is otherwise valid; its
    # seller is known only by its Peppol endpoint, another enterprise's.
    other = f"0208:{OTHER_VAT[2:]}"
    document = build_ubl(
        UblInvoice(
            number="2026/UBL-O",
            kind="invoice",
            issue_date=date(2026, 11, 2),
            due_date=date(2026, 12, 2),
            currency="EUR",
            seller=Party("Ander BV", vat=None, endpoint=other, address=Address("BE")),
            buyer=Party("Klant NV", endpoint="0208:0417497106"),
            payment_reference="090/9337/55493",
            lines=(Line("Werk", Decimal(1), Decimal("100.00"), "C62", "O", Decimal(0)),),
            seller_iban="BE68539007547034",
        )
    )
    # Its enterprise number as the legal registration (BT-30), which a seller without a VAT number must give
    # (BR-CO-26); build_ubl derives it from a VAT number only.
    named = b"<cbc:RegistrationName>Ander BV</cbc:RegistrationName>"
    assert document.count(named) == 1
    document = document.replace(
        named, named + f'<cbc:CompanyID schemeID="0208">{OTHER_VAT[2:]}</cbc:CompanyID>'.encode()
    )
    assert b"PartyTaxScheme" not in document  # no VAT number anywhere
    checked = client.post("/v1/ubl/validate", content=document, headers={**key, "Content-Type": "application/xml"})
    assert checked.json()["valid"] is True, checked.text  # refused below for its seller alone

    refused = client.post(
        f"/v1/companies/{VAT}/invoices",
        json={
            "external_id": "UBL-O",
            "documents": [
                {
                    "filename": "invoice.xml",
                    "content_type": "application/xml",
                    "content_base64": base64.b64encode(document).decode(),
                }
            ],
        },
        headers=key,
    )

    assert refused.status_code == 422, refused.text
    assert [e["rule"] for e in refused.json()["errors"]] == ["SELLER"]
    assert f"the document's seller is {other}, not this company ({VAT})" in refused.json()["detail"]


# -- 7. webhooks: the body is the resource at the event's moment --------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


@pytest.mark.timeout(60)
def test_an_invoice_paid_body_still_says_paid_when_delivered_after_the_payment_was_undone(client, key, monkeypatch):
    from app.core import outbox
    from app.webhooks import dispatch
    from app.worker import load_job_kinds

    receiver = Receiver()
    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(receiver))
    load_job_kinds()
    subscribed = client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://app.example/hook", "events": ["invoice.paid", "invoice.reopened"]},
        headers=key,
    )
    assert subscribed.status_code == 201, subscribed.text
    inv = create(client, key, "HOOK", "121.00")
    upload(client, key, payment_file(("121.00", inv["structured_reference"])))
    [tx] = transactions(client, key)
    [allocation] = tx["allocations"]
    assert invoice(client, key, inv)["status"] == "paid"
    # Undone before any delivery went out: both events wait in the outbox.
    undone = client.delete(f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations/{allocation['id']}", headers=key)
    assert undone.status_code == 204, undone.text
    assert receiver.requests == []

    for _ in range(5):  # synchronous rounds: nothing waits on a clock
        dispatch.dispatch_events()
        outbox.run_due_jobs(owner="test-worker", base_delay=0.0)

    bodies = {body["type"]: body for body in (json.loads(r.content) for r in receiver.requests)}
    assert sorted(bodies) == ["invoice.paid", "invoice.reopened"]
    paid = bodies["invoice.paid"]
    assert (paid["data"]["id"], paid["data"]["status"], paid["data"]["amount_paid"], paid["data"]["amount_due"]) == (
        inv["id"],
        "paid",
        "121.00",
        "0.00",
    )
    assert bodies["invoice.reopened"]["data"]["status"] == "open"
    assert invoice(client, key, inv)["status"] == "open"  # as the invoice is now
