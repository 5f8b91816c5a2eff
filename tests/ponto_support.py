"""Helpers of the Ponto Connect tests: the stand-in on loopback, the settings that point the service at it,
connecting a company through the browser step, and running the jobs."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.core.db import unit_of_work
from app.ponto.fake import FakePontoState, create_fake_ponto_app
from tests.codabox_support import run_jobs  # the one job runner of the tests (re-exported)
from tests.helpers import IBAN, VAT, make_company, make_key, serving

OGM = "+++090/9337/55493+++"
PAYER_IBAN = "BE71096123456769"


@dataclass
class PontoWorld:
    state: FakePontoState
    base: str  # http://127.0.0.1:port

    @property
    def api(self) -> str:
        return f"{self.base}/ponto-connect"


@contextmanager
def fake_ponto(**options: Any):
    state = FakePontoState(cooldown_seconds=0, sync_steps=0, **options)
    with serving(create_fake_ponto_app(state)) as port:
        yield PontoWorld(state, f"http://127.0.0.1:{port}")


@contextmanager
def configured(monkeypatch: Any):
    """The stand-in, and the service's settings pointing at it (undone after the test), the job kinds loaded."""
    from app.core.config import get_settings
    from app.worker import load_job_kinds

    with fake_ponto() as world:
        settings = get_settings()
        for name, value in settings_for(world).items():
            monkeypatch.setattr(settings, name, value)
        load_job_kinds()
        yield world


def settings_for(world: PontoWorld) -> dict[str, Any]:
    return {
        "ponto_enabled": True,
        "ponto_base_url": world.api,
        "ponto_authorization_url": f"{world.base}/oauth2/auth",
        "ponto_client_id": world.state.client_id,
        "ponto_client_secret": world.state.client_secret,
        "ponto_redirect_uri": "http://testserver/v1/ponto/callback",
        "ponto_application_id": world.state.application_id,
        "ponto_webhook_keys_url": f"{world.base}/webhooks/keys",
        "ponto_timeout_seconds": 5.0,
    }


def browse(url: str) -> str:
    """The user's browser at Ponto's authorization page: where Ponto sends it back (the Location)."""
    answer = httpx.get(url, follow_redirects=False, timeout=5.0)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def callback(client: Any, location: str) -> Any:
    """The browser arriving back at our callback (the test client stands in for the public address)."""
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def connect(
    client: Any, world: PontoWorld, *, vat: str = VAT, iban: str = IBAN, **account: Any
) -> tuple[dict[str, str], str]:
    """A company with one account connected to a Ponto organization holding it: (its key, Ponto's account id)."""
    make_company(client, vat=vat, name=f"Company {vat}", accounts=[iban])
    key = make_key(client, vat=vat)
    org = world.state.add_organization(f"Company {vat}", [{"iban": iban, "balance": "1000.00", **account}])
    world.state.set_next_authorization(org["organization_id"])
    link = client.post(f"/v1/companies/{vat}/ponto/authorization", headers=key)
    assert link.status_code == 201, link.text
    back = callback(client, browse(link.json()["authorization_url"]))
    assert back.status_code == 200, back.text
    run_jobs()
    return key, org["accounts"][0]["id"]


def booked(world: PontoWorld, account_id: str, amount: str = "121.00", **fields: Any) -> str:
    spec = {
        "amount": amount,
        "execution_date": "2026-12-08",
        "remittance_information": OGM,
        "remittance_information_type": "structured",
        "counterpart_name": "Klant NV",
        "counterpart_reference": PAYER_IBAN,
        **fields,
    }
    return world.state.add_transaction(account_id, spec)


def sync(client: Any, key: dict[str, str], vat: str = VAT) -> dict[str, Any]:
    answer = client.post(f"/v1/companies/{vat}/ponto/sync", headers=key)
    assert answer.status_code == 202, answer.text
    run_jobs()
    return client.get(f"/v1/companies/{vat}/ponto", headers=key).json()


def invariants_hold() -> None:
    from app.reconciliation.invariants import check

    with unit_of_work(read_only=True) as session:
        assert check(session) == []
