"""Helpers of the CodaBox tests: connect a company through the stand-in, seed its feed, run the jobs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import func, select
from standardwebhooks import Webhook

from app.codabox.models import CodaboxFeedEntry
from app.core import outbox
from app.core.db import unit_of_work
from app.statements.models import Statement
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, make_company, make_key


def run_jobs(rounds: int = 30) -> None:
    for _ in range(rounds):
        if not outbox.run_due_jobs(owner="test", base_delay=0.0):
            return


def connect(client, state, vat: str = VAT, iban: str = IBAN) -> dict[str, str]:
    make_company(client, vat=vat, name=f"Company {vat}", accounts=[iban])
    key = make_key(client, vat=vat)
    assert client.post(f"/v1/companies/{vat}/codabox/access-token", headers=key).json()["state"] == "token_requested"
    token = state.last_token[vat]
    connected = client.post(f"/v1/companies/{vat}/codabox/credentials", json={"token": token}, headers=key)
    assert connected.status_code == 200, connected.text
    assert connected.json()["state"] == "connected"
    return key


def statement_count() -> int:
    with unit_of_work() as session:
        return session.exec(select(func.count()).select_from(Statement)).one()


def seed(state, n: int) -> list[str]:
    today = date(2026, 11, 1)
    return [
        state.add_coda(
            VAT,
            payment_file(
                (f"{10 + i}.00", None),
                sequence=i + 1,
                day=today + timedelta(days=i),
                opening=str(sum(10 + k for k in range(i))),
            ),
        )
        for i in range(n)
    ]


def signed(body: bytes, secret: str, message_id: str, when=None) -> dict[str, str]:
    from datetime import UTC, datetime

    when = when or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, when, body.decode()),
        "content-type": "application/json",
    }


def feed_entries() -> list[CodaboxFeedEntry]:
    with unit_of_work() as session:
        return list(session.exec(select(CodaboxFeedEntry).order_by(CodaboxFeedEntry.feed_index)))
