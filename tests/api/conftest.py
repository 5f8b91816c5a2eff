"""Fixtures of the API tests: the CodaBox stand-in on loopback, the settings that point the service at it, and a
company's bank account in either statement format."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest
import uvicorn

from app.codabox.fake import FakeCodaboxState, create_fake_codabox_app
from app.core.config import get_settings


@pytest.fixture(scope="module")
def fake():
    state = FakeCodaboxState(slow_seconds=1.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_fake_codabox_app(state), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield state, f"http://127.0.0.1:{port}/v2/"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def codabox(fake, monkeypatch):
    state, base_url = fake
    state.clients.clear()
    state.faults.clear()
    state.fetch_delay = 0  # most tests poll again at once; test_codabox_real_api.py keeps CodaBox's 7200
    settings = get_settings()
    for name, value in {
        "codabox_enabled": True,
        "codabox_base_url": base_url,
        "codabox_software_company": state.software_company,
        "codabox_sales_invoice_path": state.sales_invoice_path,
        "codabox_timeout_seconds": 0.5,
        "inbound_webhook_secret": "whsec_" + base64.b64encode(b"k" * 32).decode(),
    }.items():
        monkeypatch.setattr(settings, name, value)
    from app.worker import load_job_kinds

    load_job_kinds()
    return state


@pytest.fixture(params=["coda", "camt"])
def bank(client, request):
    """A company with one account, whose statements are written in CODA, then (the second run) camt.053."""
    from tests.direct_debits import Bank
    from tests.helpers import IBAN, make_company, make_key

    make_company(client, accounts=[IBAN])
    return Bank(client, make_key(client), request.param)
