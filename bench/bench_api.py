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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import run_load

ADMIN = "bench-admin-token-0123456789abcdef0"
VAT = "BE0403200393"
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
        "CODARECON_VAR_DIR": str(tmp / "var"),
        "CODARECON_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def invoice(i: int) -> dict:
    return {
        "external_id": f"bench-{i}",
        "number": f"2026/{i:06d}",
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "total_amount": f"{100 + i % 900}.{i % 100:02d}",
        "customer": {"name": f"Customer {i % 500}"},
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        server = start_server(tmp, port)
        base = f"http://127.0.0.1:{port}"
        try:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=base, timeout=60) as client:
                client.post("/v1/companies", json={"vat": VAT, "name": "Bench BV"}, headers=admin).raise_for_status()
                key = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=admin).json()["key"]
                ids: list[str] = []
                started = time.perf_counter()
                for b in range(BATCHES):
                    batch = [invoice(b * 1000 + i) for i in range(1000)]
                    response = client.post(
                        f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=admin
                    )
                    response.raise_for_status()
                    ids += [r["invoice"]["id"] for r in response.json()["results"]]
                batch_seconds = time.perf_counter() - started
            created = len(ids)
            print(
                f"batch invoice creation: {created} invoices in {batch_seconds:.2f} s = {created / batch_seconds:,.0f}/s "
                f"(1000 per request; target >= 5,000/s on SQLite)"
            )

            rng = random.Random(7)
            sample = [rng.choice(ids) for _ in range(10_000)]
            run_load("127.0.0.1", port, lambda i: "/healthz", seconds=1)  # warm-up
            health = run_load("127.0.0.1", port, lambda i: "/healthz", seconds=LOAD_SECONDS)
            auth = {"Authorization": f"Bearer {key}"}
            status = run_load(
                "127.0.0.1",
                port,
                lambda i: f"/v1/companies/{VAT}/invoices/{sample[i % len(sample)]}",
                headers=auth,
                seconds=LOAD_SECONDS,
            )
            ratio = status.per_second / health.per_second if health.per_second else 0
            print(
                f"/healthz:            {health.per_second:8,.0f} req/s  ({health.requests} requests, {health.errors} errors, 32 connections)"
            )
            print(
                f"GET invoice status:  {status.per_second:8,.0f} req/s  ({status.requests} requests, {status.errors} errors, 32 connections)"
            )
            print(f"invoice GET / healthz = {ratio:.2f} (target >= 0.50, no errors)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
