"""Production shape: two API processes and one worker process on one database (PostgreSQL in `make bench`'s
second pass), under concurrent writes and reads from both APIs at once.

Invoices are registered through both APIs, statements paying them are uploaded through both at the same time,
reads run alongside, and every event goes to a webhook receiver in this process. It prints the requests and
errors, then waits for the worker to deliver everything and checks that no delivery was made twice (each
`webhook-id` arrives once) and that the money state is sound (`codarecon check`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_api import ADMIN, VAT, free_port, invoice, wait_ready

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

ACCOUNT = "BE80001000000177"
STATEMENTS = int(os.environ.get("BENCH_STATEMENTS", "20"))
PER_STATEMENT = 100


class Receiver(BaseHTTPRequestHandler):
    received: Counter[str] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.lock:
            self.received[self.headers["webhook-id"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def environment(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CODARECON_DATABASE_URL": os.environ.get("CODARECON_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}"),
        "CODARECON_ADMIN_TOKEN": ADMIN,
        "CODARECON_SECRET_KEY": Fernet.generate_key().decode(),  # one key for every process
        "CODARECON_RATE_LIMIT": "0",
        "CODARECON_VAR_DIR": str(tmp / "var"),
        "CODARECON_LOG_LEVEL": "WARNING",
        "CODARECON_EMBEDDED_WORKERS": "false",  # the APIs are stateless; the worker process runs the jobs
        "CODARECON_WEBHOOK_ALLOW_HTTP": "true",
        "CODARECON_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], env=env)


def statement(n: int, invoices: list[dict]) -> bytes:
    movements = [
        MovementSpec(Decimal(inv["total_amount"]), ogm=inv["structured_reference"], counterparty_name="KLANT")
        for inv in invoices
    ] + [MovementSpec(Decimal("12.34"), communication=f"onbekend {n}-{i}") for i in range(5)]
    return write_coda(
        [StatementSpec(ACCOUNT, date(2026, 11, 1) + timedelta(days=n), Decimal(0), movements, sequence=n + 1)]
    )


def main() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmpdir:
        env = environment(Path(tmpdir))
        subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, check=True)
        ports = [free_port(), free_port()]
        processes = [start(env, "serve", "--port", str(port)) for port in ports] + [start(env, "worker")]
        try:
            for port in ports:
                if not wait_ready(port):
                    raise SystemExit(f"API on port {port} did not start")
            apis = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) for port in ports]
            admin = {"Authorization": f"Bearer {ADMIN}"}
            apis[0].post(
                "/v1/companies", json={"vat": VAT, "name": "Bench", "bank_accounts": [ACCOUNT]}, headers=admin
            ).raise_for_status()
            apis[1].post(
                "/v1/webhook-endpoints",
                json={"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["*"]},
                headers=admin,
            ).raise_for_status()
            statuses: Counter[int] = Counter()
            errors: list[str] = []

            def call(n: int, method: str, url: str, **kwargs: object) -> httpx.Response | None:
                try:
                    response = apis[n % 2].request(method, url, headers=admin, **kwargs)  # type: ignore[arg-type]
                except httpx.HTTPError as exc:
                    errors.append(f"{method} {url}: {exc!r}")
                    return None
                statuses[response.status_code] += 1
                if response.status_code >= 300:
                    errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
                return response

            def register(n: int) -> list[dict]:
                batch = [invoice(n * PER_STATEMENT + i) for i in range(PER_STATEMENT)]
                response = call(n, "POST", f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch})
                return [r["invoice"] for r in response.json()["results"]] if response is not None else []

            def upload(n: int, invoices: list[dict]) -> None:
                call(n, "POST", f"/v1/companies/{VAT}/statements", content=statement(n, invoices))
                for inv in invoices[:20]:
                    call(n + 1, "GET", f"/v1/companies/{VAT}/invoices/{inv['id']}")

            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                registered = list(pool.map(register, range(STATEMENTS)))
                list(pool.map(upload, range(STATEMENTS), registered))
            load_seconds = time.perf_counter() - started
            requests = sum(statuses.values())
            print(
                f"2 API processes + 1 worker: {requests} requests in {load_seconds:.1f} s from 8 threads, "
                f"{len(errors)} errors; statuses {dict(sorted(statuses.items()))}"
            )
            for line in errors[:5]:
                print("  error:", line)

            database = create_engine(env["CODARECON_DATABASE_URL"])
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with database.connect() as conn:
                    by_status = dict(
                        conn.execute(text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")).all()
                    )
                if by_status and not by_status.get("pending"):
                    break
                time.sleep(0.5)
            drained = time.perf_counter() - started
            database.dispose()
            twice = sum(1 for n in Receiver.received.values() if n > 1)
            print(
                f"worker: deliveries by status {by_status} after {drained:.1f} s; receiver got "
                f"{len(Receiver.received)} distinct events, {twice} of them more than once (target 0)"
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        check = subprocess.run([sys.executable, "-m", "app.cli", "check"], env=env, capture_output=True, text=True)
        print(f"codarecon check: {check.stdout.strip() or check.stderr.strip()}")
        receiver.shutdown()


if __name__ == "__main__":
    main()
