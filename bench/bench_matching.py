"""Matching benchmark: 100,000 open invoices and 20,000 incoming transactions (a seeded scenario).

Prints the pure engine's time and quality, then the end-to-end figures through the real service (upload of
the CODA file to all matched and stored), peak server memory, and pycoda's bare parse of the same file.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_api import ADMIN, VAT, free_port, start_server
from bench_ingest import peak_rss_mb

from app.reconciliation.matching import InvoiceIndex, Matcher, match_payments
from tests.scenarios import CONFIG, TOLERANCE, evaluate, generate

INVOICES = int(os.environ.get("BENCH_INVOICES", "100000"))
PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "20000"))


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    from coda.parser import Parser

    started = time.perf_counter()
    scenario = generate(seed=11, invoices=INVOICES, payments=PAYMENTS)
    print(
        f"scenario: {len(scenario.invoices)} open invoices, {len(scenario.payments)} payments "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )

    invoices = copy.deepcopy(scenario.invoices)  # the engine updates dues as it goes; not part of the timing
    started = time.perf_counter()
    index = InvoiceIndex(invoices)
    index_seconds = time.perf_counter() - started
    matcher = Matcher(index, CONFIG)
    started = time.perf_counter()
    outcomes = [matcher.match(p) for p in scenario.payments]
    match_seconds = time.perf_counter() - started
    invoices = copy.deepcopy(scenario.invoices)
    tracemalloc.start()  # a second run, for memory only: tracing slows Python down several times
    match_payments(scenario.payments, invoices, config=CONFIG)
    _, engine_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = evaluate(scenario, outcomes)
    print(
        f"pure engine: index {index_seconds:.2f} s + matching {match_seconds:.2f} s "
        f"({len(scenario.payments) / match_seconds:,.0f} payments/s), peak {engine_peak / 1e6:.0f} MB"
    )
    print(result.table())

    data = scenario.to_coda()
    started = time.perf_counter()
    Parser().parse(data)
    pycoda_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmpdir:
        port = free_port()
        server = start_server(Path(tmpdir), port)
        try:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=900) as client:
                client.post(
                    "/v1/companies",
                    json={
                        "vat": VAT,
                        "name": "Bench",
                        "bank_accounts": [scenario.account_iban],
                        "payment_tolerance": TOLERANCE.as_config(),
                    },
                    headers=admin,
                ).raise_for_status()
                started = time.perf_counter()
                for start in range(0, len(scenario.invoices), 1000):
                    batch = [scenario.invoice_body(i) for i in scenario.invoices[start : start + 1000]]
                    client.post(
                        f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=admin
                    ).raise_for_status()
                load_seconds = time.perf_counter() - started
                before = peak_rss_mb(server.pid)
                started = time.perf_counter()
                response = client.post(
                    f"/v1/companies/{VAT}/statements",
                    content=data,
                    headers={**admin, "Content-Type": "application/octet-stream"},
                )
                e2e_seconds = time.perf_counter() - started
                response.raise_for_status()
                result = response.json()
                # The dashboard over the whole ledger: best of five, after a warm-up.
                client.get(f"/v1/companies/{VAT}/summary", headers=admin).raise_for_status()
                summary_seconds = min(
                    _timed(lambda: client.get(f"/v1/companies/{VAT}/summary", headers=admin).raise_for_status())
                    for _ in range(5)
                )
            peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        # The money-state invariants on the database the benchmark just filled.
        url = os.environ.get("CODARECON_BENCH_DATABASE_URL", f"sqlite:///{Path(tmpdir) / 'bench.db'}")
        check = subprocess.run(
            [sys.executable, "-m", "app.cli", "check"],
            env={
                **os.environ,
                "CODARECON_DATABASE_URL": url,
                "CODARECON_ADMIN_TOKEN": ADMIN,
                "CODARECON_RATE_LIMIT": "0",
            },
            capture_output=True,
            text=True,
            check=False,
        )
    print(f"invoices registered through the API: {load_seconds:.1f} s")
    print(
        f"end to end (upload of {len(data) / 1e6:.1f} MB to all matched and stored): {e2e_seconds:.2f} s; "
        f"matching {result['matching']}"
    )
    print(f"pycoda bare parse of the same file: {pycoda_seconds:.2f} s  ({e2e_seconds / pycoda_seconds:.1f}x)")
    print(f"server peak memory: {peak:.0f} MB (before the upload: {before:.0f} MB)")
    print(f"dashboard summary over {len(scenario.invoices):,} invoices: {summary_seconds * 1000:.0f} ms")
    print(f"codarecon check (exit {check.returncode}): {(check.stdout + check.stderr).strip()}")


if __name__ == "__main__":
    main()
