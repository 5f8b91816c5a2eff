"""The embedded default (SQLite) answers every request when many clients write at once: 50 concurrent
invoice creations against a real server, no 5xx, every invoice stored once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.core.config import get_settings
from app.core.db import is_sqlite
from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key, serving

WRITERS = 50


@pytest.fixture
def server(client, app):
    if not is_sqlite(get_settings().database_url):
        pytest.skip("the single-writer queue is for the embedded SQLite default")
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_fifty_concurrent_writers_all_succeed(client, server):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    barrier = threading.Barrier(WRITERS)

    def create(n: int) -> tuple[int, float]:
        with httpx.Client(base_url=server, timeout=60) as http:
            barrier.wait()  # all at once
            started = time.monotonic()
            response = http.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"C{n}"), headers=key)
            return response.status_code, time.monotonic() - started

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(create, range(WRITERS)))
    assert sorted({status for status, _ in results}) == [201]
    listed = client.get(f"/v1/companies/{VAT}/invoices", params={"limit": 500}, headers=key).json()["items"]
    assert len(listed) == WRITERS
    # Readers are never queued behind the writers.
    assert client.get("/healthz").status_code == 200
    assert client.get(f"/v1/companies/{VAT}/invoices", headers=ADMIN).status_code == 200
    print(f"slowest of {WRITERS} concurrent writes: {max(t for _, t in results):.2f} s")
