"""A real server process per test, on a fresh SQLite file, for the tests that drive it from outside (a browser,
the README's shell walk-through)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef0123"


def server_env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "CODARECON_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "CODARECON_ADMIN_TOKEN": ADMIN_TOKEN,
        "CODARECON_VAR_DIR": str(tmp_path / "var"),
        "CODARECON_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    yield from serving(server_env(tmp_path))


def serving(env: dict[str, str]):
    """`codarecon serve` on a free port with ``env``; yields its base URL, stops it afterwards."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
    yield base
    proc.terminate()
    proc.wait(timeout=10)
