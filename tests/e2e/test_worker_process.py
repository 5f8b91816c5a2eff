"""`codarecon worker` (what `make worker` runs) as its own process beside an API without embedded workers: it
delivers the webhook the API queued, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx

from tests.e2e.conftest import ADMIN_TOKEN, server_env, serving


class Receiver(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        Receiver.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_worker_process_delivers_what_the_api_queued_and_stops_on_sigterm(tmp_path):
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {
        **server_env(tmp_path),
        "CODARECON_EMBEDDED_WORKERS": "false",  # the API queues; only the worker process delivers
        "CODARECON_WEBHOOK_ALLOW_HTTP": "true",
        "CODARECON_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    served = serving(env)
    base = next(served)
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        company = {"vat": "BE0403200393", "name": "Demo BV", "bank_accounts": []}
        httpx.post(f"{base}/v1/companies", json=company, headers=admin).raise_for_status()
        endpoint = httpx.post(f"{base}/v1/webhook-endpoints", json={"url": url}, headers=admin).json()
        queued = httpx.post(f"{base}/v1/webhook-endpoints/{endpoint['id']}/test", headers=admin)
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 30
        while not Receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Receiver.received, "the worker process delivered nothing"
        assert json.loads(Receiver.received[0])["type"] == "webhook.test"
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
        next(served, None)
        receiver.shutdown()
    assert code == 0, worker.stderr.read().decode() if worker.stderr else ""
