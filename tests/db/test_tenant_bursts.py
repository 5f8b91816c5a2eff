"""One company's burst never stalls another: 50 parallel writes of company A against a real `codarecon serve`
process (one, and four workers) on this run's database, while company B reads beside it.

The bursts: accepts of one suggestion (all on A's ledger lock), uploads of different statements, invoice
creations with one customer name. What must hold: every A request answers within 30 s with a 2xx, a 409, or
a 503 with Retry-After (never another 5xx); every B read answers 200 within 1 s; the money is right after.
The figures of each run are printed (pytest -s) for the record.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

from app.core.db import unit_of_work
from app.reconciliation.invariants import check
from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, cli_process, invoice_body

BURST = 50
OTHER_IBAN = "BE68539007547034"
WRITE_BOUND = 30.0
READ_BOUND = 1.0

pytestmark = pytest.mark.slow


@pytest.fixture(params=[1, 4], ids=["one-process", "four-workers"])
def server(db, request) -> Iterator[str]:
    env = {**os.environ, "CODARECON_LOG_LEVEL": "WARNING"}
    with cli_process("serve", "--workers", str(request.param), env=env) as (base, _):
        yield base


def company(http: httpx.Client, vat: str, iban: str) -> dict[str, str]:
    http.post("/v1/companies", json={"vat": vat, "name": f"Company {vat}", "bank_accounts": [iban]}, headers=ADMIN)
    key = http.post(f"/v1/companies/{vat}/api-keys", json={"scope": "write"}, headers=ADMIN).json()["key"]
    return {"Authorization": f"Bearer {key}"}


def burst_of_accepts(http: httpx.Client, key: dict[str, str]) -> Callable[[httpx.Client, int], httpx.Response]:
    http.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("ACC-1", total="987.65"), headers=key)
    http.post(f"/v1/companies/{VAT}/statements", content=payment_file(("987.65", None)), headers=key)
    [tx] = http.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [suggestion] = tx["suggestions"]
    path = f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept"
    return lambda client, n: client.post(path, headers=key)


def burst_of_uploads(http: httpx.Client, key: dict[str, str]) -> Callable[[httpx.Client, int], httpx.Response]:
    files = [
        payment_file((f"{10 + n}.00", None), sequence=n + 1, day=date(2026, 1, 1) + timedelta(days=n))
        for n in range(BURST)
    ]
    return lambda client, n: client.post(f"/v1/companies/{VAT}/statements", content=files[n], headers=key)


def burst_of_invoices(http: httpx.Client, key: dict[str, str]) -> Callable[[httpx.Client, int], httpx.Response]:
    return lambda client, n: client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"B{n}"), headers=key)


BURSTS = {"accepts": burst_of_accepts, "uploads": burst_of_uploads, "invoices": burst_of_invoices}


@pytest.mark.parametrize("kind", list(BURSTS))
def test_a_burst_of_one_company_never_stalls_another(server, kind):
    with httpx.Client(base_url=server, timeout=60) as http:
        a_key = company(http, VAT, IBAN)
        b_key = company(http, OTHER_VAT, OTHER_IBAN)
        b_invoice = http.post(f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body("B-1"), headers=b_key).json()
        write = BURSTS[kind](http, a_key)

    done = threading.Event()
    reads: list[tuple[int, float]] = []

    def read_as_b() -> None:
        paths = [
            f"/v1/companies/{OTHER_VAT}/invoices?limit=20",
            f"/v1/companies/{OTHER_VAT}/invoices/{b_invoice['id']}",
        ]
        with httpx.Client(base_url=server, timeout=10) as client:
            while not done.is_set():
                for path in paths:
                    started = time.monotonic()
                    status = client.get(path, headers=b_key).status_code
                    reads.append((status, time.monotonic() - started))
                time.sleep(0.02)

    barrier = threading.Barrier(BURST)

    def write_as_a(n: int) -> tuple[int, bool, float]:
        with httpx.Client(base_url=server, timeout=WRITE_BOUND + 30) as client:
            barrier.wait(timeout=60)
            started = time.monotonic()
            response = write(client, n)
            return response.status_code, "retry-after" in response.headers, time.monotonic() - started

    reader = threading.Thread(target=read_as_b)
    reader.start()
    try:
        with ThreadPoolExecutor(BURST) as pool:
            answers = list(pool.map(write_as_a, range(BURST)))
    finally:
        done.set()
        reader.join(timeout=30)

    statuses = Counter(status for status, _, _ in answers)
    slowest_write = max(seconds for _, _, seconds in answers)
    slowest_read = max(seconds for _, seconds in reads)
    print(
        f"\n{kind}: A {dict(sorted(statuses.items()))}, slowest A {slowest_write:.2f} s; "
        f"B {len(reads)} reads, {Counter(s for s, _ in reads)}, slowest B {slowest_read * 1000:.0f} ms"
    )
    assert slowest_write < WRITE_BOUND
    assert all(status < 500 or (status == 503 and retry) for status, retry, _ in answers), answers
    assert set(statuses) <= {200, 201, 409, 503}
    if kind != "accepts":  # different statements, different invoices: each one stored
        assert statuses[201] + statuses[503] == BURST
    else:
        assert statuses[200] == 1  # one accept; the others see it taken (409)
    assert reads and {status for status, _ in reads} == {200}
    assert slowest_read < READ_BOUND
    with unit_of_work(read_only=True) as session:
        assert [str(v) for v in check(session)] == []
