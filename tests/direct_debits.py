"""A company's bank account for API tests of SEPA direct debits (issue 40): collections and their
R-transactions written as CODA type 127 or as camt.053, uploaded one statement at a time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.statements.camt_writer import write_camt
from app.statements.coda_writer import MovementSpec, StatementSpec, sepa_direct_debit_content, write_coda
from tests.helpers import IBAN, VAT, invoice_body

OGM = "+++090/9337/55493+++"
PAYER = "BE71096123456769"
R_TYPES = {"paid": "0", "reject": "1", "return": "2", "refund": "3", "reversal": "4"}


def debit(
    amount: str, *, r_type: str = "paid", reason: str = "", end_to_end: str = "", mandate: str = "MANDAAT-0042",
    communication: str = OGM, day: int = 4,
) -> MovementSpec:  # fmt: skip
    content = sepa_direct_debit_content(
        settlement=date(2026, 11, day), mandate=mandate, communication=communication, r_type=R_TYPES[r_type],
        reason=reason,
    )  # fmt: skip
    return MovementSpec(
        D(amount), structured_type="127", structured_content=content, counterparty_name="KLANT NV",
        counterparty_iban=PAYER, end_to_end=end_to_end, booking_date=date(2026, 11, day),
    )  # fmt: skip


class Bank:
    """Statements of the company's account, one per upload, in CODA or camt.053."""

    def __init__(self, client, key, fmt: str) -> None:
        self.client, self.key, self.fmt, self.sequence, self.balance = client, key, fmt, 0, D("0")

    def book(self, *movements: MovementSpec) -> dict:
        self.sequence += 1
        day = max(m.booking_date for m in movements)
        st = StatementSpec(IBAN, day, self.balance, list(movements), sequence=self.sequence)
        self.balance = st.closing_balance
        data = write_coda([st]) if self.fmt == "coda" else write_camt([st])
        response = self.client.post(f"/v1/companies/{VAT}/statements", content=data, headers=self.key)
        assert response.status_code == 201, response.text
        return response.json()

    def transactions(self) -> dict[tuple[str, str], dict]:
        """By (amount, booking date)."""
        items = self.client.get(f"/v1/companies/{VAT}/transactions?limit=200", headers=self.key).json()["items"]
        return {(t["amount"], t["booking_date"]): t for t in items}


def register(
    bank: Bank, external_id: str = "DD-1", total: str = "121.00", reference: str | None = OGM, **fields
) -> dict:
    """An invoice of the company: with ``OGM`` as its structured reference unless told otherwise (None: generated)."""
    if reference is not None:
        fields["structured_reference"] = reference
    body = invoice_body(external_id, total=total, **fields)
    response = bank.client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=bank.key)
    assert response.status_code == 201, response.text
    return response.json()


def read(bank: Bank, invoice: dict) -> dict:
    return bank.client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=bank.key).json()
