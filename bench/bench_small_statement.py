"""The daily case: a 5-movement statement uploaded (parse, store, match) for a company with 100 open invoices
and for one with 100,000, on the same server. The cost should follow the movements, not the ledger.

Each upload names one open invoice by its structured reference, one by its number, pays one from a known
account, one by amount and payer name, and carries a bank fee. Prints the median over UPLOADS uploads.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_api import ADMIN, free_port, start_server

from app.identifiers.references import generate_ogm
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

SIZES = [int(n) for n in os.environ.get("BENCH_LEDGER_SIZES", "100,100000").split(",")]
UPLOADS = int(os.environ.get("BENCH_UPLOADS", "15"))
VATS = ["BE0403200393", "BE0417497106", "BE0202239951"]
ACCOUNTS = ["BE80001000000177", "BE68539007547034", "BE71096123456769"]


def invoice(i: int) -> dict:
    return {
        "external_id": f"inv-{i}",
        "number": f"2026/{i:06d}",
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "total_amount": f"{100 + i % 900}.{i % 100:02d}",
        "structured_reference": generate_ogm(i + 1),
        "customer": {"name": f"Customer {i // 20} NV"},  # 20 invoices each, at any ledger size
    }


def statement(n: int, account: str, size: int) -> bytes:
    """Upload ``n`` (1-based) pays five of the company's invoices in five ways (one each, never twice)."""
    picks = [(n * 5 + k) % size for k in range(5)]
    first, second, third, fourth, _ = (invoice(i) for i in picks)
    movements = [
        MovementSpec(Decimal(first["total_amount"]), ogm=first["structured_reference"].strip("+").replace("/", ""),
                     counterparty_name=first["customer"]["name"]),
        MovementSpec(Decimal(second["total_amount"]), communication=f"factuur {second['number']}",
                     counterparty_name="Iemand Anders"),
        MovementSpec(Decimal(third["total_amount"]), communication="betaling", counterparty_name=third["customer"]["name"]),
        MovementSpec(Decimal(fourth["total_amount"]), communication="zonder referentie", counterparty_name="Onbekend"),
        MovementSpec(Decimal("-2.50"), communication="kosten"),
    ]  # fmt: skip
    return write_coda(
        [StatementSpec(account, date(2026, 1, 1) + timedelta(days=n), Decimal("0"), movements, sequence=n)]
    )


def register(client: httpx.Client, vat: str, account: str, size: int) -> float:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    client.post(
        "/v1/companies", json={"vat": vat, "name": f"Ledger of {size}", "bank_accounts": [account]}, headers=admin
    ).raise_for_status()
    started = time.perf_counter()
    for start in range(0, size, 1000):
        batch = [invoice(i) for i in range(start, min(size, start + 1000))]
        client.post(f"/v1/companies/{vat}/invoices/batch", json={"invoices": batch}, headers=admin).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    admin = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/octet-stream"}
    with tempfile.TemporaryDirectory() as tmpdir:
        port = free_port()
        server = start_server(Path(tmpdir), port)
        medians = {}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                for size, vat, account in zip(SIZES, VATS, ACCOUNTS, strict=False):
                    register(client, vat, account, size)
                    times, matched = [], 0
                    for n in range(1, UPLOADS + 1):
                        data = statement(n, account, size)
                        started = time.perf_counter()
                        response = client.post(f"/v1/companies/{vat}/statements", content=data, headers=admin)
                        times.append(time.perf_counter() - started)
                        response.raise_for_status()
                        matched += response.json()["matching"]["matched"]
                    medians[size] = statistics.median(times)
                    print(
                        f"5-movement statement, {size:>7,} open invoices: median {medians[size] * 1000:6.1f} ms "
                        f"over {UPLOADS} uploads (max {max(times) * 1000:.1f} ms; {matched} payments matched)"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    if len(medians) >= 2:
        small, large = medians[SIZES[0]], medians[SIZES[-1]]
        print(
            f"5-movement statement: {large / small:.2f}x at {SIZES[-1]:,} open invoices against {SIZES[0]:,} "
            f"(target <= 2x, and <= 50 ms)"
        )


if __name__ == "__main__":
    main()
