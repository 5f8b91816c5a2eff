"""Outbound webhooks: signatures (checked by an independent implementation of the Standard Webhooks
spec), retries after a failing receiver, order per invoice, disabling, and no event lost across workers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import select

from app.core import outbox
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.outbox_models import Job
from app.core.timeutil import utcnow
from app.webhooks import dispatch
from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

OGM = "+++090/9337/55493+++"


class Receiver:
    """An in-process webhook receiver that can be told to fail."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.fail_next = 0
        self.status_when_failing = 503

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next:
            self.fail_next -= 1
            return httpx.Response(self.status_when_failing)
        return httpx.Response(204)

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def receiver(monkeypatch):
    rx = Receiver()
    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(rx))
    from app.worker import load_job_kinds

    load_job_kinds()
    return rx


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def verify_independently(secret: str, request: httpx.Request) -> None:
    """Standard Webhooks: v1 = base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    signed = f"{msg_id}.{timestamp}.".encode() + request.content
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = dict(part.split(",", 1) for part in request.headers["webhook-signature"].split(" "))
    assert hmac.compare_digest(versions["v1"], expected)
    assert abs(int(timestamp) - int(utcnow().timestamp())) < 60


def run_worker_rounds(rounds: int = 5) -> None:
    for _ in range(rounds):
        dispatch.dispatch_events()
        outbox.run_due_jobs(owner="test-worker", base_delay=0.0)


def subscribe(client, headers, events=("*",), **extra):
    response = client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://app.example/hook", "events": list(events), **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def pay(client, key, amount="121.00", sequence=1, day=date(2026, 11, 20), opening="0"):
    response = client.post(
        f"/v1/companies/{VAT}/statements",
        content=payment_file((amount, OGM), sequence=sequence, day=day, opening=opening),
        headers=key,
    )
    assert response.status_code == 201, response.text


def test_paid_invoice_is_announced_with_a_valid_signature(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.paid"])
    assert endpoint["secret"].startswith("whsec_")
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key
    ).json()
    pay(client, key)
    run_worker_rounds()
    [request] = receiver.requests
    verify_independently(endpoint["secret"], request)
    body = json.loads(request.content)
    assert body["type"] == "invoice.paid"
    assert body["data"]["id"] == invoice["id"]
    assert body["data"]["status"] == "paid"
    assert body["data"]["amount_paid"] == "121.00"
    assert body["change"]["status"] == "paid"


def test_tampered_body_fails_independent_verification(client, key, receiver):
    endpoint = subscribe(client, key)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    pay(client, key)
    run_worker_rounds()
    request = receiver.requests[0]
    forged = httpx.Request(
        "POST", request.url, headers=request.headers, content=request.content.replace(b"paid", b"open")
    )
    with pytest.raises(AssertionError):
        verify_independently(endpoint["secret"], forged)


def test_failing_receiver_is_retried_until_it_accepts(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    receiver.fail_next = 2
    pay(client, key)
    run_worker_rounds(6)
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # same id: receivers can de-duplicate
    [delivery] = client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=key).json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
    assert [h["status_code"] for h in delivery["history"]] == [503, 503, 204]


def test_deliveries_about_one_invoice_keep_their_order(client, key, receiver):
    subscribe(client, key, events=["invoice.paid", "invoice.partially_paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    pay(client, key, amount="100.00")
    pay(client, key, amount="21.00", sequence=2, day=date(2026, 11, 21), opening="100")
    receiver.fail_next = 1  # the first delivery fails once; the second must wait for it
    dispatch.dispatch_events()
    outbox.run_due_jobs(owner="w", base_delay=0.0)
    assert [b["type"] for b in receiver.bodies()] == ["invoice.partially_paid"]
    run_worker_rounds(4)
    delivered = [b["type"] for b, r in zip(receiver.bodies(), receiver.requests, strict=True)][1:]
    assert delivered == ["invoice.partially_paid", "invoice.paid"]


def test_endpoint_is_disabled_after_a_long_run_of_failures(client, key, receiver, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 2)
    monkeypatch.setattr(get_settings(), "webhook_max_failures", 2)
    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=2))
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    receiver.fail_next = 100
    client.post(
        f"/v1/companies/{VAT}/statements",
        content=payment_file(("5.00", None), ("6.00", None), ("7.00", None)),
        headers=key,
    )
    run_worker_rounds(8)
    state = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()
    assert state["enabled"] is False
    assert "failed deliveries" in state["disabled_reason"]
    statuses = sorted(
        d["status"]
        for d in client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=key).json()["items"]
    )
    assert statuses == ["failed", "failed", "skipped"]


def test_no_event_is_lost_when_a_worker_dies_holding_it(client, key, receiver):
    subscribe(client, key, events=["invoice.paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    pay(client, key)
    dispatch.dispatch_events()
    with unit_of_work() as session:
        [job] = outbox.claim(session, owner="worker-that-dies")
        job.locked_until = utcnow() - timedelta(seconds=1)  # its lease runs out; it never reports back
        session.add(job)
    outbox.run_due_jobs(owner="second-worker", base_delay=0.0)
    assert [b["type"] for b in receiver.bodies()] == ["invoice.paid"]
    with unit_of_work() as session:
        assert session.exec(select(Job.status)).all() == ["done"]


def test_admin_endpoint_hears_every_company_and_company_keys_see_only_their_own(client, key, receiver):
    make_company(client, vat=OTHER_VAT, name="Other")
    other_key = make_key(client, vat=OTHER_VAT)
    admin_endpoint = subscribe(client, ADMIN, events=["transaction.unmatched"])
    mine = subscribe(client, key, events=["transaction.unmatched"])
    assert [e["id"] for e in client.get("/v1/webhook-endpoints", headers=other_key).json()["items"]] == []
    assert client.get(f"/v1/webhook-endpoints/{mine['id']}", headers=other_key).status_code == 404
    assert client.delete(f"/v1/webhook-endpoints/{mine['id']}", headers=other_key).status_code == 404
    read_key = make_key(client, scope="read")
    assert (
        client.post("/v1/webhook-endpoints", json={"url": "https://x.example/h"}, headers=read_key).status_code == 403
    )
    assert (
        client.post(
            "/v1/webhook-endpoints", json={"url": "https://x.example/h", "company_vat": OTHER_VAT}, headers=key
        ).status_code
        == 403
    )
    assert admin_endpoint["company_vat"] is None
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("5.00", None)), headers=key)
    run_worker_rounds()
    assert len(receiver.requests) == 2  # the admin's and the company's endpoint


def test_test_ping_and_validation(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.paid"])
    response = client.post(f"/v1/webhook-endpoints/{endpoint['id']}/test", headers=key)
    assert response.status_code == 202
    run_worker_rounds(2)
    [request] = receiver.requests
    verify_independently(endpoint["secret"], request)
    assert json.loads(request.content)["type"] == "webhook.test"
    bad = client.post("/v1/webhook-endpoints", json={"url": "ftp://x", "events": ["invoice.exploded"]}, headers=key)
    assert bad.status_code == 422
    assert {e["loc"] for e in bad.json()["errors"]} == {"body.url", "body.events"}
    disabled = client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False}, headers=key)
    assert disabled.json()["enabled"] is False
    assert client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).status_code == 204


def test_an_endpoint_never_hears_another_companys_events(client, key, receiver):
    make_company(client, vat=OTHER_VAT, name="Other", accounts=["BE68539007547034"])
    other_key = make_key(client, vat=OTHER_VAT)
    urls = {"mine": "https://a.example/h", "theirs": "https://b.example/h", "admin_theirs": "https://c.example/h"}
    for name, headers, extra in (
        ("mine", key, {}),
        ("theirs", other_key, {}),
        ("admin_theirs", ADMIN, {"company_vat": OTHER_VAT}),
    ):
        client.post(
            "/v1/webhook-endpoints",
            json={"url": urls[name], "events": ["transaction.unmatched"], **extra},
            headers=headers,
        ).raise_for_status()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("5.00", None)), headers=key)
    run_worker_rounds()
    assert sorted(str(r.url) for r in receiver.requests) == [urls["mine"]]
    receiver.requests.clear()
    client.post(
        f"/v1/companies/{OTHER_VAT}/statements",
        content=payment_file(("6.00", None), account="BE68539007547034"),
        headers=other_key,
    )
    run_worker_rounds()
    assert sorted(str(r.url) for r in receiver.requests) == sorted([urls["theirs"], urls["admin_theirs"]])
    assert {json.loads(r.content)["data"]["amount"] for r in receiver.requests} == {"6.00"}


def test_endpoints_per_company_are_capped_and_listed_page_by_page(client, key):
    from app.webhooks.service import MAX_ENDPOINTS

    for n in range(MAX_ENDPOINTS):
        created = client.post("/v1/webhook-endpoints", json={"url": f"https://h{n}.example/h"}, headers=key)
        assert created.status_code == 201, created.text
    over = client.post("/v1/webhook-endpoints", json={"url": "https://one-more.example/h"}, headers=key)
    assert over.status_code == 409
    assert f"at most {MAX_ENDPOINTS}" in over.json()["detail"]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/webhook-endpoints", params={"limit": 10, **({"cursor": cursor} if cursor else {})}, headers=key
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == MAX_ENDPOINTS
    # Another company still has room: the cap is per company.
    make_company(client, vat=OTHER_VAT, name="Other", accounts=["BE68539007547034"])
    other = make_key(client, vat=OTHER_VAT)
    assert client.post("/v1/webhook-endpoints", json={"url": "https://o.example/h"}, headers=other).status_code == 201
