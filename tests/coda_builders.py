"""Build CODA files for tests with the project's writer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN


def payment_file(
    *payments: tuple[str, str | None],
    account: str = IBAN,
    sequence: int = 1,
    day: date = date(2026, 11, 20),
    opening: str = "0",
    name: str = "KLANT NV",
    holder: str | None = None,
) -> bytes:
    """One statement with one movement per (amount, ogm) pair; ogm None means a free communication."""
    movements = [
        MovementSpec(
            Decimal(amount),
            ogm=ogm,
            communication="" if ogm else "zonder referentie",
            counterparty_name=name,
            counterparty_iban="BE71096123456769",
        )
        for amount, ogm in payments
    ]
    return write_coda(
        [StatementSpec(account, day, Decimal(opening), movements, sequence=sequence, holder_number=holder)]
    )
