"""Webhook deliveries over real sockets: internal targets refused on create, on PATCH and at delivery (DNS
rebinding), the allow-list for internal receivers, one deadline against a slow-drip receiver, and errors
that tell a tenant nothing about our network."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core import outbox
from app.core.config import get_settings
from app.webhooks import dispatch
from app.webhooks.network import UNREACHABLE
from tests.helpers import make_company, make_key


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: LocalReceiver = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        server.received.append({"host": self.headers["host"], "id": self.headers["webhook-id"], "body": body})
        if server.drip:
            # A receiver that answers one byte at a time: each read is quick, the answer never ends.
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if server.closing.is_set():
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class LocalReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, drip: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.drip = drip
        self.closing = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def serve() -> Iterator:
    servers: list[LocalReceiver] = []

    def start(drip: bool = False) -> LocalReceiver:
        server = LocalReceiver(drip)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.closing.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def key(client, monkeypatch):
    monkeypatch.setattr(dispatch, "transport", None)  # the production transport, over real sockets
    monkeypatch.setattr(get_settings(), "webhook_allow_http", True)
    from app.worker import load_job_kinds

    load_job_kinds()
    make_company(client)
    return make_key(client)


def allow_loopback(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allowed_networks", "127.0.0.0/8")


def ping(client, key, endpoint_id: str) -> dict:
    """Send a test event and run the delivery job; the delivery as the API then shows it."""
    client.post(f"/v1/webhook-endpoints/{endpoint_id}/test", headers=key).raise_for_status()
    outbox.run_due_jobs(owner="test-worker", base_delay=0.0)
    return client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=key).json()["items"][0]


def create(client, key, url: str):
    return client.post("/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=key)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/h",
        "http://localhost:{port}/h",
        "http://127.1:{port}/h",
        "http://2130706433:{port}/h",
        "http://0x7f000001:{port}/h",
        "http://[::ffff:127.0.0.1]:{port}/h",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/h",
        "http://[fd00::1]/h",
    ],
)
def test_internal_targets_are_refused_on_create_and_on_patch(client, key, serve, url):
    server = serve()
    url = url.format(port=server.port)
    refused = create(client, key, url)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == "body.url"
    assert "webhooks may not reach" in refused.json()["detail"]

    endpoint = create(client, key, "https://app.example/hook").json()
    patched = client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"url": url}, headers=key)
    assert patched.status_code == 422
    assert (
        client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=key).json()["url"] == "https://app.example/hook"
    )
    assert server.received == []


def test_a_host_that_rebinds_to_loopback_after_creation_is_refused_at_delivery(client, key, serve, offline_resolver):
    server = serve()
    offline_resolver["rebind.example"] = ["93.184.215.14"]
    endpoint = create(client, key, f"http://rebind.example:{server.port}/h").json()
    offline_resolver["rebind.example"] = ["127.0.0.1"]  # the attacker's DNS now points inside

    delivery = ping(client, key, endpoint["id"])

    assert server.received == []
    assert delivery["status"] == "pending"  # retried later, as any failed delivery
    assert "loopback" in delivery["last_error"]


def test_an_allowed_internal_receiver_gets_the_delivery_on_the_checked_address(
    client, key, serve, offline_resolver, monkeypatch
):
    allow_loopback(monkeypatch)
    server = serve()
    offline_resolver["hooks.internal.example"] = ["127.0.0.1"]
    endpoint = create(client, key, f"http://hooks.internal.example:{server.port}/h").json()

    delivery = ping(client, key, endpoint["id"])

    assert delivery["status"] == "delivered", delivery
    assert [r["host"] for r in server.received] == [f"hooks.internal.example:{server.port}"]
    assert server.received[0]["id"] == delivery["event_id"]


@pytest.mark.slow
def test_a_slow_drip_receiver_is_cut_off_at_the_deadline(client, key, serve, monkeypatch):
    allow_loopback(monkeypatch)
    monkeypatch.setattr(get_settings(), "webhook_timeout_seconds", 1.0)
    server = serve(drip=True)
    endpoint = create(client, key, f"http://127.0.0.1:{server.port}/h").json()

    started = time.monotonic()
    delivery = ping(client, key, endpoint["id"])
    elapsed = time.monotonic() - started

    assert len(server.received) == 1  # it was reached; its answer never finished
    assert delivery["last_error"] == "the endpoint did not answer within 1 s"
    # Every read was far quicker than the deadline: only a deadline over the whole exchange stops it.
    assert elapsed < 5, elapsed


def test_a_closed_port_gives_the_tenant_a_generic_error(client, key, monkeypatch):
    allow_loopback(monkeypatch)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the socket closes
    endpoint = create(client, key, f"http://127.0.0.1:{closed_port}/h").json()

    delivery = ping(client, key, endpoint["id"])

    assert delivery["last_error"] == UNREACHABLE
    assert delivery["history"][-1]["error"] == UNREACHABLE


def test_plain_http_needs_the_development_setting(client, key, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_allow_http", False)
    refused = create(client, key, "http://app.example/hook")
    assert refused.status_code == 422
    assert "http is not allowed" in refused.json()["detail"]
    assert create(client, key, "https://app.example/hook").status_code == 201


def test_null_fields_in_a_patch_are_a_422_not_a_500(client, key):
    endpoint = create(client, key, "https://app.example/hook").json()
    for body in ({"events": None}, {"url": None}):
        response = client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json=body, headers=key)
        assert response.status_code == 422, response.text


def test_a_url_that_the_settings_no_longer_allow_is_refused_at_delivery(client, key, monkeypatch):
    endpoint = create(client, key, "http://app.example/hook").json()  # allowed while http was
    monkeypatch.setattr(get_settings(), "webhook_allow_http", False)
    delivery = ping(client, key, endpoint["id"])
    assert delivery["last_error"] == "must be an https URL (http is not allowed)"
