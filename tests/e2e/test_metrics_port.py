"""`/metrics` on a port of its own (CODARECON_METRICS_PORT): the API port never shows it, and `serve` believes
forwarded headers from the addresses CODARECON_FORWARDED_ALLOW_IPS names."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import server_env, serving
from tests.helpers import free_port


@pytest.fixture
def metrics_port():
    return free_port()


@pytest.fixture
def server_with_metrics_port(tmp_path, metrics_port):
    yield from serving({**server_env(tmp_path), "CODARECON_METRICS_PORT": str(metrics_port)})


def test_metrics_leave_the_public_port_for_their_own(server_with_metrics_port, metrics_port):
    httpx.get(f"{server_with_metrics_port}/healthz", timeout=5).raise_for_status()
    public = httpx.get(f"{server_with_metrics_port}/metrics", timeout=5)
    assert public.status_code == 404
    assert public.headers["content-type"] == "application/problem+json"
    own = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
    assert own.status_code == 200
    assert 'codarecon_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}' in own.text


def test_serve_hands_the_believed_proxies_to_uvicorn(monkeypatch):
    import uvicorn

    from app import cli

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("CODARECON_FORWARDED_ALLOW_IPS", "10.0.0.5")
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        assert cli.main(["serve"]) == 0
        assert (seen["proxy_headers"], seen["forwarded_allow_ips"]) == (True, "10.0.0.5")
        assert cli.main(["serve", "--forwarded-allow-ips", "192.0.2.1,192.0.2.2"]) == 0
        assert seen["forwarded_allow_ips"] == "192.0.2.1,192.0.2.2"
    finally:
        get_settings.cache_clear()
