"""The same payment arriving through Ponto and in a CODA upload at the same moment, in threads with their own
database transactions (PostgreSQL in its pass, where they really run side by side): whichever stores first, the
payment is one transaction, the invoice is paid once, and nothing is half-stored."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import func, select

from app.core.db import unit_of_work
from app.reconciliation.invariants import check
from app.statements import service as statements
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from app.statements.models import BankTransaction, MovementTwin
from app.statements.sources import uploaded
from tests.helpers import IBAN, VAT, invoice_body
from tests.ponto_support import PAYER_IBAN, booked, configured, connect, run_jobs

pytestmark = pytest.mark.timeout(120)
ROUNDS = 4


@pytest.fixture
def world(monkeypatch):
    with configured(monkeypatch) as found:
        yield found


def _ogm(n: int) -> str:
    from app.identifiers.references import generate_ogm

    return generate_ogm(4300 + n)


def _race(company_id: str, coda: bytes) -> list[BaseException]:
    """The waiting Ponto sync job and the upload, released together; what either raised."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def ponto() -> None:
        barrier.wait()
        try:
            run_jobs()
        except BaseException as exc:
            errors.append(exc)

    def upload() -> None:
        barrier.wait()
        try:
            with unit_of_work() as session:
                statements.ingest_statement_file(session, company_id, uploaded(coda))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ponto), threading.Thread(target=upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors + [TimeoutError("a thread did not finish")] * sum(t.is_alive() for t in threads)


def test_ponto_and_a_coda_upload_racing_on_one_payment_count_it_once(client, world):
    key, account = connect(client, world)
    company_id = client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]
    invoices = []
    for n in range(ROUNDS):
        body = invoice_body(f"RACE-{n}", "100.00", structured_reference=_ogm(n))
        invoices.append(client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key).json()["id"])
    for n in range(ROUNDS):
        day = date(2026, 12, 1 + n)
        booked(world, account, "100.00", execution_date=day.isoformat(), remittance_information=_ogm(n))
        coda = write_coda(
            [
                StatementSpec(
                    IBAN,
                    day,
                    Decimal(100 * n),
                    [
                        MovementSpec(
                            Decimal("100.00"), ogm=_ogm(n), counterparty_name="KLANT NV", counterparty_iban=PAYER_IBAN
                        )
                    ],
                    sequence=n + 1,
                )
            ]
        )
        assert client.post(f"/v1/companies/{VAT}/ponto/sync", headers=key).status_code == 202
        errors = _race(company_id, coda)
        assert not errors, errors
        run_jobs()  # a sync that lost a lock race is retried
        with unit_of_work(read_only=True) as session:
            stored = session.exec(
                select(func.count()).where(
                    BankTransaction.company_id == company_id, BankTransaction.booking_date == day
                )
            ).one()
            twins = session.exec(select(func.count()).where(MovementTwin.booking_date == day)).one()
        assert (stored, twins) == (1, 1), f"round {n}"
        invoice = client.get(f"/v1/companies/{VAT}/invoices/{invoices[n]}", headers=key).json()
        assert (invoice["status"], invoice["amount_paid"]) == ("paid", "100.00")
    with unit_of_work(read_only=True) as session:
        assert check(session) == []
