"""API benchmark: invoice-status GETs/s next to /healthz under 32 connections, and batch creation/s.

Starts the real service (uvicorn, `codarecon serve`) on loopback with a fresh SQLite file, or on the
database in CODARECON_BENCH_DATABASE_URL, and prints figures measured side by side in one run.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import LoadResult, run_load

ADMIN = "bench-admin-token-0123456789abcdef0"
VAT = "BE0403200393"
ACCOUNT = "BE68539007547034"
BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
LOAD_SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CODARECON_DATABASE_URL": os.environ.get("CODARECON_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}"),
        "CODARECON_ADMIN_TOKEN": ADMIN,
        "CODARECON_RATE_LIMIT": "0",  # throughput is measured without the per-key limit
        "CODARECON_SECRET_KEY": os.environ.get("CODARECON_SECRET_KEY") or Fernet.generate_key().decode(),
        "CODARECON_VAR_DIR": str(tmp / "var"),
        "CODARECON_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not wait_ready(port):
        proc.kill()
        raise SystemExit(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
    return proc


def wait_ready(port: int, seconds: float = 30) -> bool:
    """Whether the API on ``port`` answers /readyz within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def invoice(i: int) -> dict:
    return {
        "external_id": f"bench-{i}",
        "number": f"2026/{i:06d}",
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "total_amount": f"{100 + i % 900}.{i % 100:02d}",
        "customer": {"name": f"Customer {i % 500}"},
    }


def invoice_paths(sample: list[str]) -> Callable[[int], str]:
    """GET paths of the invoices in ``sample``, one per request number."""
    return lambda i: f"/v1/companies/{VAT}/invoices/{sample[i % len(sample)]}"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        server = start_server(tmp, port)
        base = f"http://127.0.0.1:{port}"
        try:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=base, timeout=60) as client:
                client.post(
                    "/v1/companies", json={"vat": VAT, "name": "Bench BV", "bank_accounts": [ACCOUNT]}, headers=admin
                ).raise_for_status()
                key = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=admin).json()["key"]
                invoices: list[dict] = []
                started = time.perf_counter()
                for b in range(BATCHES):
                    batch = [invoice(b * 1000 + i) for i in range(1000)]
                    response = client.post(
                        f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=admin
                    )
                    response.raise_for_status()
                    invoices += [r["invoice"] for r in response.json()["results"]]
                batch_seconds = time.perf_counter() - started
                # A fifth of them paid (one allocation each): the hot read is measured with and without money.
                paid = invoices[: len(invoices) // 5]
                movements = [
                    MovementSpec(Decimal(inv["total_amount"]), ogm=inv["structured_reference"], counterparty_name="K")
                    for inv in paid
                ]
                coda = write_coda([StatementSpec(ACCOUNT, date(2026, 11, 20), Decimal(0), movements, sequence=1)])
                client.post(
                    f"/v1/companies/{VAT}/statements", content=coda, headers=admin, timeout=600
                ).raise_for_status()
            ids = [inv["id"] for inv in invoices[len(paid) :]]
            paid_ids = [inv["id"] for inv in paid]
            created = len(invoices)
            print(
                f"batch invoice creation: {created} invoices in {batch_seconds:.2f} s = {created / batch_seconds:,.0f}/s "
                f"(1000 per request; target >= 5,000/s on SQLite)"
            )

            rng = random.Random(7)
            auth = {"Authorization": f"Bearer {key}"}
            paths = {
                label: invoice_paths([rng.choice(pool) for _ in range(10_000)])
                for label, pool in (("open, nothing paid", ids), ("paid, one allocation", paid_ids))
            }
            run_load("127.0.0.1", port, lambda i: "/healthz", seconds=1)  # warm-up
            # One-second windows in turn (/healthz, open, paid) rather than one long window each: the machine's
            # speed drifts by tens of percent within minutes, and a ratio of windows taken apart measures that.
            totals = {name: LoadResult(0, 0, 0.0) for name in ("/healthz", *paths)}
            for _ in range(max(1, round(LOAD_SECONDS))):
                for name in totals:
                    if name == "/healthz":
                        result = run_load("127.0.0.1", port, lambda i: "/healthz", seconds=1)
                    else:
                        result = run_load("127.0.0.1", port, paths[name], headers=auth, seconds=1)
                    total = totals[name]
                    totals[name] = LoadResult(
                        total.requests + result.requests, total.errors + result.errors, total.seconds + result.seconds
                    )
            health = totals["/healthz"]
            print(
                f"/healthz:                     {health.per_second:8,.0f} req/s  ({health.requests} requests, "
                f"{health.errors} errors, 32 connections; windows of 1 s taken in turn with the reads below)"
            )
            for label in paths:
                status = totals[label]
                ratio = status.per_second / health.per_second if health.per_second else 0
                print(
                    f"GET invoice ({label + '):':22} {status.per_second:8,.0f} req/s  ({status.requests} requests, "
                    f"{status.errors} errors) = {ratio:.2f} of /healthz (target >= 0.50, no errors)"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
