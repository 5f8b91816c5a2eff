"""Small builders shared by API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef01"}
VAT = "BE0403200393"
OTHER_VAT = "BE0417497106"
IBAN = "BE80001000000177"


def make_company(client: Any, vat: str = VAT, name: str = "Demo BV", accounts: list[str] | None = None) -> dict:
    response = client.post(
        "/v1/companies", json={"vat": vat, "name": name, "bank_accounts": accounts or []}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()


def make_key(client: Any, vat: str = VAT, scope: str = "write") -> dict[str, str]:
    response = client.post(f"/v1/companies/{vat}/api-keys", json={"scope": scope}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def invoice_body(external_id: str = "INV-1", total: str = "121.00", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "number": f"2026/{external_id}",
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "currency": "EUR",
        "total_amount": total,
        "customer": {"name": "Klant NV", "vat": "BE0417497106", "iban": "BE71096123456769"},
    }
    body.update(overrides)
    return body


@contextmanager
def sql_sent() -> Iterator[list[str]]:
    """The SQL statements the application sends to its database inside the block (as the driver gets them)."""
    from sqlalchemy import event

    from app.core.db import get_engine

    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


@contextmanager
def serving(app: Any, log_level: str = "error") -> Iterator[int]:
    """The app under a real uvicorn server on a free loopback port (in a thread); yields the port."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_200(response: Any) -> bool:
    return response.status_code == 200


@contextmanager
def cli_process(
    *args: str,
    env: dict[str, str] | None = None,
    ready_path: str = "/readyz",
    ready: Any = _answers_200,
    start_seconds: float = 60.0,
    stop_seconds: float = 45.0,
    port: int | None = None,
) -> Iterator[tuple[str, Any]]:
    """``python -m app.cli <args> --port P`` (a real server process: `serve`, `fake-codabox`) on a free loopback
    port, once ``ready_path`` answers as ``ready`` says; yields its base URL and the process. Stopping it must
    take no longer than ``stop_seconds`` (the graceful shutdown is bounded): else the test fails."""
    import subprocess
    import sys
    import tempfile
    import time

    import httpx
    import pytest

    port = port or free_port()
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: a chatty server never blocks on it
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", *args, "--port", str(port)], env=env, stderr=stderr)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if ready(httpx.get(f"{base}{ready_path}", timeout=1)):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                proc.wait(timeout=10)
                stderr.seek(0)
                pytest.fail(f"app.cli {args[0]} did not start: {stderr.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.1)
        try:
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                pytest.fail(f"app.cli {args[0]} did not stop within {stop_seconds:g} s")
