"""`codarecon serve --workers N`: every process, the children included, logs JSON lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


@pytest.mark.slow
def test_every_server_process_logs_json(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CODARECON_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "CODARECON_VAR_DIR": str(tmp_path / "var"),
        "CODARECON_LOG_LEVEL": "INFO",
        "CODARECON_EMBEDDED_WORKERS": "false",
    }
    # Migrate first: two children migrating one new SQLite file at once is not what this test is about.
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/readyz", timeout=1, headers={"X-Request-ID": "probe-1"}
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        time.sleep(1.0)  # let the second child finish starting
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    lines = [line for line in stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # a plain-text line fails here
    started = {entry["pid"] for entry in entries if entry["msg"].startswith("Started server process")}
    assert len(started) == 2, lines
    assert proc.pid not in started
    # An access line per request, with its request id.
    access = [e for e in entries if e["logger"] == "codarecon.access" and e.get("request_id") == "probe-1"]
    assert access and access[-1]["msg"].startswith("GET /readyz 200 "), lines
