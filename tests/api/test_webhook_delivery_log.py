"""What a webhook receiver and an integrator reading the deliveries log can rely on: who gets which event,
the exact body and headers, the order per subject, and what each attempt left in the log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from app.core.config import get_settings
from app.webhooks import dispatch
from app.webhooks.network import UNREACHABLE
from tests.api.test_webhooks import OGM, Receiver, pay, run_worker_rounds, subscribe
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


@pytest.fixture
def receiver(monkeypatch):
    rx = Receiver()
    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(rx))
    from app.worker import load_job_kinds

    load_job_kinds()
    return rx


def deliveries(client, key, endpoint):
    response = client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=key)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_body_is_compact_utf8_json_with_its_timestamp_and_the_headers_say_so(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.paid"])
    body = invoice_body(structured_reference=OGM, customer={"name": "Élise Ñandú BV"})
    client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    pay(client, key)
    run_worker_rounds()
    [request] = receiver.requests
    assert "Élise Ñandú BV".encode() in request.content  # UTF-8 as is, not \u escapes
    assert b'": ' not in request.content and b'", "' not in request.content  # compact separators
    message = json.loads(request.content)
    assert list(message) == ["type", "timestamp", "data", "change"]
    assert datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).date() == date.today()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "codarecon-webhooks/1"
    assert abs(int(request.headers["webhook-timestamp"]) - int(datetime.now(UTC).timestamp())) < 60
    [delivery] = deliveries(client, key, endpoint)
    assert delivery["id"].startswith("whd_")
    assert delivery["event_id"] == request.headers["webhook-id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"], delivery["last_error"]) == (
        "delivered",
        1,
        204,
        None,
    )
    assert delivery["delivered_at"] is not None
    assert [(h["status_code"], h["error"]) for h in delivery["history"]] == [(204, None)]
    assert all(h["at"] for h in delivery["history"])


def test_a_disabled_endpoint_and_other_endpoints_hear_no_test_ping(client, key, receiver):
    pinged = subscribe(client, key, events=["*"])
    bystander = subscribe(client, key, events=["*"])
    disabled = subscribe(client, key, events=["*"])
    client.patch(f"/v1/webhook-endpoints/{disabled['id']}", json={"enabled": False}, headers=key)
    client.post(f"/v1/webhook-endpoints/{pinged['id']}/test", headers=key)
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds()
    types = sorted(json.loads(r.content)["type"] for r in receiver.requests)
    assert types == ["transaction.unmatched", "transaction.unmatched", "webhook.test"]  # 2 live endpoints
    assert [d["event_type"] for d in deliveries(client, key, bystander)] == ["transaction.unmatched"]
    assert deliveries(client, key, disabled) == []


def _unmatched_file():
    from tests.coda_builders import payment_file

    return payment_file(("5.00", None))


def test_a_later_event_about_a_delivered_subject_goes_out_too(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.partially_paid", "invoice.paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    pay(client, key, amount="100.00")
    run_worker_rounds()
    pay(client, key, amount="21.00", sequence=2, day=date(2026, 11, 21), opening="100")
    run_worker_rounds()
    assert [json.loads(r.content)["type"] for r in receiver.requests] == ["invoice.partially_paid", "invoice.paid"]
    assert [d["status"] for d in deliveries(client, key, endpoint)] == ["delivered", "delivered"]


def test_events_of_one_subject_fanned_out_together_keep_their_order(client, key, receiver):
    subscribe(client, key, events=["invoice.partially_paid", "invoice.paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    pay(client, key, amount="100.00")
    pay(client, key, amount="21.00", sequence=2, day=date(2026, 11, 21), opening="100")
    assert dispatch.dispatch_events(limit=1) == 1  # one at a time when asked: the rest waits its turn
    run_worker_rounds()
    assert [json.loads(r.content)["type"] for r in receiver.requests] == ["invoice.partially_paid", "invoice.paid"]
    assert dispatch.dispatch_events() == 0


def test_failures_are_logged_and_a_success_resets_the_endpoints_count(client, key, receiver):
    endpoint = subscribe(client, key, events=["invoice.paid"])
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    receiver.fail_next = 1
    pay(client, key)
    run_worker_rounds(1)
    [failing] = deliveries(client, key, endpoint)
    assert (failing["status"], failing["attempts"], failing["last_status_code"], failing["last_error"]) == (
        "pending",
        1,
        503,
        "HTTP 503",
    )
    assert [(h["status_code"], h["error"]) for h in failing["history"]] == [(503, "HTTP 503")]
    run_worker_rounds(3)
    [done] = deliveries(client, key, endpoint)
    assert (done["status"], done["attempts"], done["last_status_code"], done["last_error"]) == (
        "delivered",
        2,
        204,
        None,
    )
    state = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()
    assert state["consecutive_failures"] == 0


def test_an_unreachable_receiver_is_logged_without_socket_details(client, key, monkeypatch):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(refuse))
    from app.core import outbox
    from app.worker import load_job_kinds

    load_job_kinds()  # before the setting below: registered under it, the one-attempt kind would outlive the test
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 1)
    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=1))
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds(3)
    [delivery] = deliveries(client, key, endpoint)
    assert delivery["status"] == "failed"
    assert delivery["last_error"] == UNREACHABLE  # "refused" against "timed out" would map our network
    assert delivery["last_status_code"] is None
    state = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()
    assert state["consecutive_failures"] == 1


def test_a_skipped_delivery_says_why_and_counts_no_attempt(client, key, receiver):
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    dispatch.dispatch_events()
    client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False}, headers=key)
    run_worker_rounds()
    [delivery] = deliveries(client, key, endpoint)
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("skipped", 0, "endpoint disabled")
    assert receiver.requests == []


def test_the_history_keeps_the_last_twenty_attempts(client, key, receiver, monkeypatch):
    from app.core import outbox

    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=25))
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 25)
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    receiver.fail_next = 22
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds(30)
    [delivery] = deliveries(client, key, endpoint)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 23)
    assert len(delivery["history"]) == 20
    assert delivery["history"][-1]["status_code"] == 204


def _insert_legacy_event(company_vat: str, type_: str, subject_id: str, payload: dict) -> str:
    """An event as recorded before events carried their resource (payload without "data")."""
    from app.companies.access import company_by_vat
    from app.core.db import unit_of_work
    from app.core.ids import new_id
    from app.core.outbox_models import Event

    with unit_of_work() as session:
        event = Event(
            id=new_id("evt"),
            company_id=company_by_vat(session, company_vat).id,
            type=type_,
            subject_id=subject_id,
            payload=payload,
        )
        session.add(event)
        return event.id


def test_an_event_recorded_without_its_resource_carries_the_resource_as_it_is_now(client, key, receiver):
    subscribe(client, key, events=["invoice.paid", "transaction.unmatched"])
    inv = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("OLD"), headers=key).json()
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    run_worker_rounds()
    receiver.requests.clear()
    _insert_legacy_event(VAT, "invoice.paid", inv["id"], {"status": "paid"})
    _insert_legacy_event(VAT, "transaction.unmatched", "sub", {"transaction_id": tx["id"]})
    _insert_legacy_event(VAT, "invoice.paid", "inv_gone", {"status": "paid"})
    run_worker_rounds()
    bodies = {b["data"]["id"] if b["data"] else None: b for b in receiver.bodies()}
    assert bodies[inv["id"]]["data"]["number"] == inv["number"]
    assert bodies[inv["id"]]["change"] == {"status": "paid"}
    assert bodies[tx["id"]]["data"]["amount"] == tx["amount"]
    assert bodies[None]["data"] is None  # the invoice is gone: the event still goes out, without it


def test_a_success_after_a_failed_delivery_resets_the_endpoints_failure_count(client, key, receiver, monkeypatch):
    from app.core import outbox

    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=1))
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 1)
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    receiver.fail_next = 1
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds()
    state = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()
    assert state["consecutive_failures"] == 1
    from tests.coda_builders import payment_file

    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("6.00", None), sequence=2), headers=key)
    run_worker_rounds()
    state = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()
    assert state["consecutive_failures"] == 0
    assert sorted(d["status"] for d in deliveries(client, key, endpoint)) == ["delivered", "failed"]
    for delivery in deliveries(client, key, endpoint):
        assert all(datetime.fromisoformat(h["at"].replace("Z", "+00:00")) for h in delivery["history"])


def test_a_delivery_job_run_again_after_it_was_delivered_sends_nothing(client, key, receiver):
    from sqlmodel import select

    from app.core import outbox
    from app.core.db import unit_of_work
    from app.core.outbox_models import Job

    subscribe(client, key, events=["transaction.unmatched"])
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    dispatch.dispatch_events()
    with unit_of_work(read_only=True) as session:
        [job] = session.exec(select(Job).where(Job.kind == dispatch.JOB_KIND)).all()
        company_id = session.exec(select(Job.company_id).where(Job.id == job.id)).one()
    assert company_id is not None  # the job knows its tenant (fair scheduling, the audit of who waits)
    dispatch.deliver(job)
    dispatch.deliver(job)  # as if a second worker had claimed it after its lease ran out
    assert len(receiver.requests) == 1
    outbox.run_due_jobs(owner="test-worker", base_delay=0.0)
    assert len(receiver.requests) == 1


def test_three_events_about_one_invoice_go_out_in_order_each_once(client, key, receiver):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    subscribe(client, key, events=["*"])
    inv = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key).json()
    pay(client, key, amount="100.00")
    pay(client, key, amount="21.00", sequence=2, day=date(2026, 11, 21), opening="100")
    paid = client.get(f"/v1/companies/{VAT}/invoices/{inv['id']}", headers=key).json()
    last = paid["allocations"][-1]
    client.delete(
        f"/v1/companies/{VAT}/transactions/{last['transaction_id']}/allocations/{last['id']}", headers=key
    ).raise_for_status()
    run_worker_rounds(8)
    with unit_of_work(read_only=True) as session:
        recorded = session.exec(
            select(Event.id).where(Event.subject_id == inv["id"]).order_by(Event.created_at, Event.id)
        ).all()
    about_invoice = [r.headers["webhook-id"] for r in receiver.requests if r.headers["webhook-id"] in recorded]
    assert len(recorded) >= 3
    assert about_invoice == list(recorded)


def test_wants_only_enabled_endpoints_of_the_company_and_never_test_pings():
    from app.core.outbox_models import Event
    from app.webhooks.models import WebhookEndpoint

    endpoint = WebhookEndpoint(
        id="whe_1", company_id="co_1", url="https://a.example", events=["*"], secret_encrypted=""
    )
    paid = Event(id="evt_1", company_id="co_1", type="invoice.paid", subject_id="inv_1", payload={})
    assert dispatch.wants(endpoint, paid)
    assert not dispatch.wants(
        endpoint, Event(id="e", company_id="co_1", type="webhook.test", subject_id="x", payload={})
    )
    assert not dispatch.wants(
        endpoint, Event(id="e", company_id="co_2", type="invoice.paid", subject_id="x", payload={})
    )
    endpoint.enabled = False
    assert not dispatch.wants(endpoint, paid)


def test_a_delivery_that_gives_up_leaves_its_reason_on_the_job(client, key, receiver, monkeypatch):
    from sqlmodel import select

    from app.core import outbox
    from app.core.db import unit_of_work
    from app.core.outbox_models import Job

    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=3))
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 2)
    subscribe(client, key, events=["transaction.unmatched"])
    receiver.fail_next = 5
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds(4)
    with unit_of_work(read_only=True) as session:
        [job] = session.exec(select(Job).where(Job.kind == dispatch.JOB_KIND)).all()
    assert (job.status, job.last_error) == ("failed", "HTTP 503")


def test_legacy_events_of_every_kind_find_their_resource(client, key, receiver):
    """Events recorded without their resource: a paid invoice (with its allocations), a transaction named by
    its subject or by the payload, a suggestion's transaction; a subject that is gone goes out without data."""
    subscribe(client, key)
    inv = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("OLD", structured_reference=OGM), headers=key)
    inv = inv.json()
    pay(client, key)
    from tests.coda_builders import payment_file

    later = payment_file(("5.00", None), sequence=2, opening="121.00")
    assert client.post(f"/v1/companies/{VAT}/statements", content=later, headers=key).status_code == 201
    txs = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    unmatched = next(t for t in txs if t["status"] == "unmatched")
    run_worker_rounds()
    receiver.requests.clear()
    _insert_legacy_event(VAT, "invoice.paid", inv["id"], {"status": "paid"})
    _insert_legacy_event(VAT, "transaction.unmatched", unmatched["id"], {"status": "unmatched"})
    _insert_legacy_event(VAT, "suggestion.created", "sug_old", {"transaction_id": unmatched["id"]})
    _insert_legacy_event(VAT, "transaction.unmatched", "tx_gone", {"status": "unmatched"})
    run_worker_rounds()
    bodies = {(b["type"], b["data"]["id"] if b["data"] else None): b for b in receiver.bodies()}
    paid = bodies[("invoice.paid", inv["id"])]["data"]
    assert paid["status"] == "paid" and [a["amount"] for a in paid["allocations"]] == ["121.00"]
    assert bodies[("transaction.unmatched", unmatched["id"])]["change"] == {"status": "unmatched"}
    assert bodies[("suggestion.created", unmatched["id"])]["data"]["amount"] == unmatched["amount"]
    assert ("transaction.unmatched", None) in bodies  # its transaction is gone: it goes out without it


def test_an_event_with_its_resource_but_no_change_says_nothing_changed(client, key, receiver):
    subscribe(client, key, events=["account.added"])
    _insert_legacy_event(VAT, "account.added", "ba_1", {"data": {"id": "ba_1", "iban": IBAN}})
    run_worker_rounds()
    [body] = receiver.bodies()
    assert body["data"] == {"id": "ba_1", "iban": IBAN}
    assert body["change"] == {}


def test_a_redirect_is_a_failed_delivery_never_followed(client, key, monkeypatch):
    from app.worker import load_job_kinds

    load_job_kinds()
    seen: list[str] = []

    def redirecting(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(307, headers={"location": "https://elsewhere.example/hook"})

    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(redirecting))
    endpoint = subscribe(client, key, events=["transaction.unmatched"])
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    run_worker_rounds(1)
    assert seen == ["https://app.example/hook"]  # not the place it points to
    [delivery] = deliveries(client, key, endpoint)
    assert (delivery["status"], delivery["last_error"]) == ("pending", "HTTP 307")


def test_a_failing_delivery_job_keeps_the_reason_for_its_retry(client, key, receiver):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Job

    subscribe(client, key, events=["transaction.unmatched"])
    receiver.fail_next = 1
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    dispatch.dispatch_events()
    from app.core import outbox

    outbox.run_due_jobs(owner="test", base_delay=60.0)  # the retry waits: the job is left pending with why
    with unit_of_work() as session:
        [job] = session.exec(select(Job).where(Job.kind == dispatch.JOB_KIND)).all()
    assert (job.status, job.last_error) == ("pending", "HTTP 503")


def test_the_next_delivery_gets_one_job_however_often_it_is_queued(client, key, receiver):
    from sqlmodel import col, select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Job
    from app.webhooks.models import WebhookDelivery

    endpoint = subscribe(client, key, events=["transaction.unmatched", "transaction.partially_matched"])
    client.post(f"/v1/companies/{VAT}/statements", content=_unmatched_file(), headers=key)
    dispatch.dispatch_events()
    with unit_of_work() as session:
        [first] = session.exec(select(WebhookDelivery)).all()
        # The first is done; a second delivery about the same subject gets its job when it is added ...
        from app.core.outbox_models import Event

        first.status = "delivered"
        session.add(first)
        session.flush()
        event = session.get(Event, first.event_id)
        second = dispatch.add_delivery(session, session.get(dispatch.WebhookEndpoint, endpoint["id"]), event)
        # ... and finishing the first (twice, as a delivery run twice would) queues it no second time.
        dispatch._queue_next(session, first)
        dispatch._queue_next(session, first)
    with unit_of_work() as session:
        jobs = session.exec(select(Job).where(col(Job.payload).is_not(None), Job.kind == dispatch.JOB_KIND)).all()
    queued = [j.payload["delivery_id"] for j in jobs]
    assert queued.count(second.id) == 1


def _routing(monkeypatch, failing):
    """A transport to several receivers by host name; ``failing(name, body)`` says which requests get 503."""
    from app.worker import load_job_kinds

    load_job_kinds()
    got: dict[str, list[tuple[str, str]]] = {}

    def route(request: httpx.Request) -> httpx.Response:
        name = request.url.host.split(".")[0]
        body = json.loads(request.content)
        if failing(name, body):
            return httpx.Response(503)
        got.setdefault(name, []).append((body["data"]["id"], body["type"]))
        return httpx.Response(204)

    monkeypatch.setattr(dispatch, "transport", httpx.MockTransport(route))
    from app.core import outbox

    monkeypatch.setitem(outbox.KINDS, dispatch.JOB_KIND, outbox.JobKind(dispatch.deliver, max_attempts=100))
    monkeypatch.setattr(get_settings(), "webhook_max_attempts", 100)
    return got


def _pay_in_three_steps(client, key):
    """A partly paid, then B paid, then A paid: events A.partially_paid, B.paid, A.paid, in that order."""
    from tests.coda_builders import payment_file

    a = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A", structured_reference=OGM), headers=key)
    b = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("B", total="80.00"), headers=key)
    a, b = a.json(), b.json()
    ogm = OGM.strip("+").replace("/", "")
    b_ogm = b["structured_reference"].strip("+").replace("/", "")
    for n, (amount, ref, opening) in enumerate(
        [("21.00", ogm, "0"), ("80.00", b_ogm, "21.00"), ("100.00", ogm, "101.00")]
    ):
        day = date(2026, 11, 20 + n)
        upload = client.post(
            f"/v1/companies/{VAT}/statements",
            content=payment_file((amount, ref), sequence=n + 1, day=day, opening=opening),
            headers=key,
        )
        assert upload.status_code == 201, upload.text
    return a, b


def test_a_failing_endpoint_holds_up_only_its_own_deliveries(client, key, monkeypatch):
    broken = {"slow": True}
    got = _routing(monkeypatch, lambda name, body: broken.get(name, False))
    for name in ("fast", "slow"):
        client.post(
            "/v1/webhook-endpoints",
            json={"url": f"https://{name}.example/hook", "events": ["invoice.partially_paid", "invoice.paid"]},
            headers=key,
        ).raise_for_status()
    a, b = _pay_in_three_steps(client, key)
    run_worker_rounds(6)
    expected = [(a["id"], "invoice.partially_paid"), (b["id"], "invoice.paid"), (a["id"], "invoice.paid")]
    assert sorted(got["fast"]) == sorted(expected)  # all of it, while the slow one still fails
    assert "slow" not in got
    broken["slow"] = False
    run_worker_rounds(8)
    slow_a = [t for i, t in got["slow"] if i == a["id"]]
    assert slow_a == ["invoice.partially_paid", "invoice.paid"]  # in order once it answers
    assert (b["id"], "invoice.paid") in got["slow"]


def test_a_failing_subject_holds_up_only_its_own_deliveries(client, key, monkeypatch):
    """For one endpoint: deliveries about B keep failing; A's events still go out, in order."""
    failing_b: dict[str, str] = {}
    got = _routing(monkeypatch, lambda name, body: body["data"]["id"] == failing_b.get("id"))
    client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://one.example/hook", "events": ["invoice.partially_paid", "invoice.paid"]},
        headers=key,
    ).raise_for_status()
    a, b = _pay_in_three_steps(client, key)
    failing_b["id"] = b["id"]  # before any delivery: everything about B fails
    run_worker_rounds(6)
    assert [t for i, t in got["one"] if i == a["id"]] == ["invoice.partially_paid", "invoice.paid"]
    assert all(i != b["id"] for i, _ in got["one"])
