"""An upload knows how many movements it holds before it stores its first statement: the matcher chooses from
it between reading the open ledger in one go and looking invoices up (for the whole file, not per statement)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.statements.camt import CamtReader
from app.statements.camt_writer import write_camt
from app.statements.coda import CodaReader
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

IBAN = "BE68539007547034"


def _statements() -> list[StatementSpec]:
    first = [MovementSpec(Decimal("10.00"), communication=f"betaling {n}") for n in range(3)]
    globalised = MovementSpec(
        Decimal("-30.00"), details=[MovementSpec(Decimal("-10.00")), MovementSpec(Decimal("-20.00"))]
    )
    day_one = StatementSpec(IBAN, date(2026, 11, 20), Decimal("0"), first, sequence=1)
    day_two = StatementSpec(IBAN, date(2026, 11, 21), day_one.closing_balance, [globalised], sequence=2)
    return [day_one, day_two]


def test_a_coda_file_counts_its_movement_records():
    # Three payments, and a globalisation: its total and its two details are records of their own.
    assert CodaReader(write_coda(_statements())).movement_records() == 6


def test_a_camt_file_counts_its_entries_with_or_without_a_namespace_prefix():
    data = write_camt(_statements())
    entries = CamtReader(data).movement_records()
    assert entries == 4  # one entry per movement; a globalisation's details are inside its entry
    prefixed = data.replace(b"<Ntry>", b"<camt:Ntry>").replace(b"</Ntry>", b"</camt:Ntry>")
    assert CamtReader(prefixed).movement_records() == entries
    assert CamtReader(data.replace(b"<Ntry>", b'<Ntry xmlns="x">')).movement_records() == entries
