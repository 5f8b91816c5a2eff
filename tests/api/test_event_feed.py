"""The event feed (issue 41): the webhooks' events, read after an event id, kept 30 days; a consumer that was
down catches up without redelivery."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.events.feed import purge_old_events
from app.invoices.models import Invoice
from app.reconciliation.invariants import check
from tests.coda_builders import payment_file
from tests.helpers import IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

OGM = "+++090/9337/55493+++"


def _feed(client, key, vat=VAT, **params) -> dict:
    response = client.get(f"/v1/companies/{vat}/events", params=params, headers=key)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_consumer_reads_the_events_after_the_last_one_it_saw(client):
    make_company(client, accounts=[IBAN])
    make_company(client, vat=OTHER_VAT, name="Other")
    key = make_key(client)
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body("F-1", structured_reference=OGM), headers=key
    ).json()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", OGM), ("5.00", None)), headers=key)
    everything = _feed(client, key)
    types = [e["type"] for e in everything["items"]]
    assert "invoice.paid" in types and "transaction.unmatched" in types and not everything["has_more"]
    paid = next(e for e in everything["items"] if e["type"] == "invoice.paid")
    assert (paid["subject_id"], paid["data"]["status"], paid["change"]["status"]) == (invoice["id"], "paid", "paid")
    # Page by page, after the last id seen: the same events, none twice.
    first = _feed(client, key, limit=1)
    assert first["has_more"] and len(first["items"]) == 1
    rest = _feed(client, key, after=first["items"][0]["id"])
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in everything["items"]]
    # By type, and only the company's own.
    assert [e["type"] for e in _feed(client, key, type="invoice.paid")["items"]] == ["invoice.paid"]
    other_key = make_key(client, vat=OTHER_VAT)
    assert _feed(client, other_key, vat=OTHER_VAT)["items"] == []
    assert client.get(f"/v1/companies/{VAT}/events", params={"type": "invoice.unknown"}, headers=key).status_code == 422


def test_events_are_kept_thirty_days_once_sent(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("F-1", structured_reference=OGM), headers=key)
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", OGM)), headers=key)
    [event] = _feed(client, key)["items"]
    assert event["type"] == "invoice.paid"
    month_ago = utcnow() - timedelta(days=31)
    with unit_of_work() as session:  # sent a month ago, and the invoice has not changed since
        session.execute(update(Event).values(created_at=month_ago, dispatched_at=month_ago))
        session.execute(update(Invoice).values(updated_at=month_ago))
    assert purge_old_events() == 1
    assert _feed(client, key)["items"] == []
    # codarecon check expects an event only for a change within the feed's 30 days.
    with unit_of_work() as session:
        assert [v.rule for v in check(session)] == []
        session.execute(update(Invoice).values(updated_at=utcnow()))
    with unit_of_work() as session:
        assert [v.rule for v in check(session)] == ["event.missing"]


def test_an_event_not_yet_sent_is_kept_however_old(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("F-1", structured_reference=OGM), headers=key)
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", OGM)), headers=key)
    with unit_of_work() as session:
        session.execute(update(Event).values(created_at=utcnow() - timedelta(days=40), dispatched_at=None))
    assert purge_old_events() == 0
    assert len(_feed(client, key)["items"]) == 1
