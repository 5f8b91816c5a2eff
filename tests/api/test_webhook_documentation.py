"""The OpenAPI document's webhooks section describes the bodies the service really sends (issue 41): every
event recorded in a scenario of payments, returns and suggestions validates against its event's schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
from sqlmodel import select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.webhooks.dispatch import message_body
from tests.direct_debits import debit, register

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())


def _validator(event_type: str):
    """jsonschema-rs (schemathesis's own validator), over the document's components."""
    ref = DOCUMENT["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return jsonschema_rs.Draft202012Validator({"$ref": ref, "components": DOCUMENT["components"]})


def test_every_recorded_event_is_what_its_webhook_schema_says(bank):
    invoice = register(bank, "DD-1", "121.00", mandate_reference="MANDAAT-0042")
    bank.book(debit("121.00", end_to_end="E2E-1", day=4), debit("7.00", communication="what is this", day=4))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=9))
    register(bank, "DD-2", "55.00", reference=None, customer={"name": "Klant NV"})
    bank.book(debit("55.00", communication="", mandate="OTHER", day=12))  # a suggestion by payer and amount
    with unit_of_work(read_only=True) as session:
        events = list(session.exec(select(Event)))
        bodies = [(e.type, json.loads(message_body(session, e))) for e in events]
    seen = {t for t, _ in bodies}
    assert {"invoice.paid", "invoice.reopened", "transaction.unmatched"} <= seen, seen
    for event_type, body in bodies:
        errors = [e.message for e in _validator(event_type).iter_errors(body)]
        assert not errors, (event_type, errors[:3])
    reopened = next(b for t, b in bodies if t == "invoice.reopened")
    assert (reopened["change"]["reason"], reopened["data"]["id"]) == ("returned", invoice["id"])


def test_every_event_type_has_its_webhook():
    from typing import get_args

    from app.events.schemas import EventType

    assert set(DOCUMENT["webhooks"]) == set(get_args(EventType))
