"""The Ledger names what changed (app/reconciliation/changes.py) and hands it to the listener installed at start-up,
which records the events (app/events): every process that writes money installs it, and a Ledger that settles
without one refuses rather than dropping events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.events.record import record_settlement
from app.invoices.models import Invoice
from app.reconciliation import changes
from app.reconciliation.changes import InvoiceMoneyChanged, SuggestionMade, TransactionStateChanged
from app.reconciliation.ledger import Ledger
from app.reconciliation.models import AuditEvent
from app.statements.models import BankTransaction
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


def _an_invoice_and_a_payment(client) -> tuple[dict, dict, dict]:
    """An invoice of 121.00 and a payment of 80.00 that names nothing: unmatched."""
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("C1", total="121.00"), headers=key)
    assert invoice.status_code == 201, invoice.text
    upload = client.post(
        f"/v1/companies/{VAT}/statements", files={"file": ("s.cod", payment_file(("80.00", None)))}, headers=key
    )
    assert upload.status_code == 201, upload.text
    (tx,) = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return key, invoice.json(), tx


def test_a_settle_returns_its_named_changes_and_records_one_event_each(client):
    key, invoice, tx = _an_invoice_and_a_payment(client)
    with unit_of_work() as session:
        company_id = session.get(Invoice, invoice["id"]).company_id
        before = len(session.exec(select(Event.id)).all())
        ledger = Ledger(session, company_id, "test")
        ledger.allocate(tx["id"], invoice["id"], Decimal("50.00"), method="manual", confidence=1.0, reasons=[])
        suggestion_id = ledger.suggest(tx["id"], 0.5, [{"invoice_id": invoice["id"], "amount": "30.00"}], [])
        settlement = ledger.settle()
    assert settlement is not None and settlement.company_id == company_id
    assert list(settlement.changes) == [
        InvoiceMoneyChanged(
            invoice["id"], "partially_paid", "open", Decimal("50.00"), Decimal("0.00"), Decimal("71.00")
        ),
        TransactionStateChanged(tx["id"], "partially_matched", "unmatched", Decimal("30.00")),
        SuggestionMade(tx["id"], suggestion_id, 0.5),
    ]
    with unit_of_work(read_only=True) as session:
        events = session.exec(select(Event).order_by(col(Event.created_at), col(Event.id))).all()[before:]
    assert [(e.type, e.subject_id) for e in events] == [
        ("invoice.partially_paid", invoice["id"]),
        ("transaction.partially_matched", tx["id"]),
        ("suggestion.created", tx["id"]),
    ]
    assert events[0].payload["change"] == {
        "status": "partially_paid",
        "previous_status": "open",
        "amount_paid": "50.00",
        "write_off_amount": "0.00",
        "amount_due": "71.00",
    }
    assert events[1].payload["change"] == {
        "status": "partially_matched",
        "previous_status": "unmatched",
        "unallocated_amount": "30.00",
    }
    assert events[2].payload["change"] == {"suggestion_id": suggestion_id, "score": 0.5}
    # Each carries its resource as the API returns it (nothing changed since).
    now_invoice = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    now_tx = client.get(f"/v1/companies/{VAT}/transactions/{tx['id']}", headers=key).json()
    assert [e.payload["data"] for e in events] == [now_invoice, now_tx, now_tx]


def test_a_quiet_settle_names_nothing_and_the_next_names_the_net_change(client):
    _, invoice, tx = _an_invoice_and_a_payment(client)
    assert tx["status"] == "unmatched"
    with unit_of_work() as session:
        company_id = session.get(Invoice, invoice["id"]).company_id
        ledger = Ledger(session, company_id, "test")
        ledger.allocate(tx["id"], invoice["id"], Decimal("80.00"), method="manual", confidence=1.0, reasons=[])
        assert ledger.settle(announce=False) is None
        ledger.touch(invoice_id=invoice["id"])
        settlement = ledger.settle()
    assert settlement is not None
    assert [type(c) for c in settlement.changes] == [InvoiceMoneyChanged]  # a matched payment needs nobody


def test_a_ledger_without_its_listener_refuses_and_writes_nothing(client, monkeypatch):
    _, invoice, tx = _an_invoice_and_a_payment(client)
    monkeypatch.setattr(changes, "_listener", None)
    with unit_of_work(read_only=True) as session:
        company_id = session.get(Invoice, invoice["id"]).company_id
    with pytest.raises(RuntimeError, match="install_hooks"), unit_of_work() as session:
        ledger = Ledger(session, company_id, "test")
        ledger.allocate(tx["id"], invoice["id"], Decimal("80.00"), method="manual", confidence=1.0, reasons=[])
        ledger.settle()
    with unit_of_work(read_only=True) as session:
        assert session.get(BankTransaction, tx["id"]).status == "unmatched"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "allocation.created")).all() == []


def test_the_api_and_the_worker_install_the_listener(monkeypatch, migrated):
    from app.main import create_app
    from app.worker import load_job_kinds

    monkeypatch.setattr(changes, "_listener", None)
    load_job_kinds()  # what every worker thread runs first: `codarecon worker` and the API's embedded workers
    assert changes._listener is record_settlement
    monkeypatch.setattr(changes, "_listener", None)
    create_app()
    assert changes._listener is record_settlement
