"""Idempotency records hold no secrets, are made only for authenticated requests the routes answered, and
expire: a replay never hands a key or signing secret out twice, and a revoked key replays nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.core.db import unit_of_work
from app.core.outbox_models import IdempotencyRecord
from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key


def record_count() -> int:
    with unit_of_work(read_only=True) as session:
        return session.exec(select(func.count()).select_from(IdempotencyRecord)).one()


def stored_bodies() -> bytes:
    with unit_of_work(read_only=True) as session:
        return b"".join(r.response_body or b"" for r in session.exec(select(IdempotencyRecord)))


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def test_a_new_api_key_is_shown_once_and_never_stored(client, key):
    headers = {**ADMIN, "Idempotency-Key": "issue-key-1"}
    first = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=headers)
    assert first.status_code == 201
    secret = first.json()["key"]
    assert secret.encode() not in stored_bodies()
    replay = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert (replay.json()["id"], replay.json()["key"]) == (first.json()["id"], None)


def test_a_webhook_secret_is_shown_once_and_never_stored(client, key):
    headers = {**key, "Idempotency-Key": "hook-1"}
    body = {"url": "https://app.example/hook"}
    first = client.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert first.status_code == 201
    assert first.json()["secret"].encode() not in stored_bodies()
    replay = client.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert (replay.json()["id"], replay.json()["secret"]) == (first.json()["id"], None)
    assert len(client.get("/v1/webhook-endpoints", headers=key).json()["items"]) == 1


def test_unauthenticated_and_unrouted_requests_leave_no_record(client, key):
    for n in range(20):
        headers = {"Authorization": "Bearer key_nope.secret", "Idempotency-Key": f"k{n}"}
        assert client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=headers).status_code == 401
        assert (
            client.post(
                f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers={"Idempotency-Key": f"n{n}"}
            ).status_code
            == 401
        )
    assert client.post("/v1/no-such-route", json={}, headers={**key, "Idempotency-Key": "x"}).status_code == 404
    assert client.post("/healthz", headers={**key, "Idempotency-Key": "y"}).status_code == 405
    assert record_count() == 0


def test_a_revoked_key_replays_nothing(client, key):
    headers = {**key, "Idempotency-Key": "inv-1"}
    assert client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=headers).status_code == 201
    key_id = key["Authorization"].removeprefix("Bearer ").split(".")[0]
    assert client.delete(f"/v1/companies/{VAT}/api-keys/{key_id}", headers=ADMIN).status_code == 204
    again = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=headers)
    assert again.status_code == 401
    assert "idempotent-replayed" not in again.headers


def test_records_expire_after_a_day(client, key):
    from app.core.idempotency import EXPIRY, purge_expired
    from app.core.timeutil import utcnow

    headers = {**key, "Idempotency-Key": "old"}
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("E1"), headers=headers)
    with unit_of_work() as session:
        for record in session.exec(select(IdempotencyRecord)):
            record.created_at = utcnow() - EXPIRY - timedelta(minutes=1)
            session.add(record)
    # The same key a day later is a new request: another body is not "reused", it is run.
    later = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("E2"), headers=headers)
    assert later.status_code == 201, later.text
    assert "idempotent-replayed" not in later.headers
    with unit_of_work() as session:
        for record in session.exec(select(IdempotencyRecord)):
            record.created_at = utcnow() - EXPIRY - timedelta(minutes=1)
            session.add(record)
    assert purge_expired() == 1
    assert record_count() == 0
