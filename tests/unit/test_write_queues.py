"""Writes queue by company before they take a thread (app/core/write_queues.py): the key is the company in the path,
else the credential; a key's slots hold its writes back, other keys' go on; a write that cannot start in time
answers 503 with Retry-After."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.core.config import get_settings
from app.core.write_queues import WriteQueues, queue_key


def scope(path: str, method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": headers or [], "client": ("10.0.0.1", 1)}


def test_writes_queue_by_the_company_in_the_path_whatever_follows_it():
    first = queue_key(scope("/v1/companies/be0403200393/invoices"))
    assert first == queue_key(scope("/v1/companies/BE0403200393/transactions/tx_1/allocations"))
    assert first != queue_key(scope("/v1/companies/BE0417497106/invoices"))
    bearer = [(b"authorization", b"Bearer key_a.x")]
    assert queue_key(scope("/v1/webhook-endpoints", headers=bearer)) != queue_key(scope("/v1/webhook-endpoints"))


@pytest.fixture
def postgresql_settings(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "database_url", "postgresql+psycopg://u@h/db")
    monkeypatch.setattr(settings, "company_write_slots", 1)
    monkeypatch.setattr(settings, "write_queue_seconds", 0.2)
    return settings


def test_one_companys_writes_wait_for_its_slot_others_do_not_and_a_long_wait_is_a_503(postgresql_settings):
    release = asyncio.Event()
    started: list[str] = []

    async def app(scope, receive, send):
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    queues = WriteQueues(app)
    answers: dict[str, list[dict]] = {}

    async def call(path: str) -> None:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        await queues(scope(path), None, send)
        answers[path] = sent

    async def scenario() -> None:
        holder = asyncio.create_task(call("/v1/companies/BE0403200393/invoices"))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(call("/v1/companies/BE0403200393/statements"))
        other = asyncio.create_task(call("/v1/companies/BE0417497106/invoices"))
        await asyncio.sleep(0.05)
        assert started == ["/v1/companies/BE0403200393/invoices", "/v1/companies/BE0417497106/invoices"]
        await asyncio.wait_for(waiting, timeout=5)  # gave up after 0.2 s, while the holder still runs
        release.set()
        await asyncio.wait_for(asyncio.gather(holder, other), timeout=5)

    asyncio.run(scenario())
    refused = answers["/v1/companies/BE0403200393/statements"]
    assert refused[0]["status"] == 503
    assert (b"retry-after", b"1") in refused[0]["headers"]
    assert "none could start" in json.loads(refused[1]["body"])["detail"]
    assert answers["/v1/companies/BE0417497106/invoices"][0]["status"] == 200
