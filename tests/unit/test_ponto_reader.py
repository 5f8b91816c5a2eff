"""Ponto Connect's transactions read as statements: exact amounts, Brussels days, references by check digits,
and the identity rule that makes a payment seen through Ponto and in a bank file one transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.statements.ponto_reader import (
    PontoBatchReader,
    PontoTransactionError,
    amount_of,
    batch_bytes,
    brussels_day,
    loads,
    read_transaction,
    recognises,
)
from app.statements.readers import reader_for
from app.statements.twins import pair

ACCOUNT = {
    "type": "account",
    "id": "acc-1",
    "attributes": {"reference": "BE68539007547034", "currency": "EUR", "currentBalance": 1500.25},
}


def _tx(tx_id: str = "6a0f0c5e-0000-4000-8000-000000000001", **attributes: object) -> dict:
    base = {
        "amount": 121.0,
        "currency": "EUR",
        "executionDate": "2026-12-07T23:00:00.000Z",
        "valueDate": "2026-12-07T23:00:00.000Z",
        "remittanceInformation": "+++090/9337/55493+++",
        "remittanceInformationType": "structured",
        "counterpartName": "Jansen BV",
        "counterpartReference": "BE71 0961 2345 6769",
        "endToEndId": "E2E-1",
    }
    base.update(attributes)
    return {"type": "transaction", "id": tx_id, "attributes": base}


def _via_json(resource: dict) -> dict:
    """As the feed reads it: through JSON, numbers as Decimals."""
    return loads(batch_bytes(ACCOUNT, 1, datetime(2026, 12, 8, 9, tzinfo=UTC), [resource]))["data"][0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"121", "121.00"),
        (b"121.1", "121.10"),
        (b"-0.10", "-0.10"),
        (b"1234567.89", "1234567.89"),
        (b'"45.5"', "45.50"),
    ],
)
def test_amounts_are_read_exactly_from_json_numbers(raw: bytes, expected: str) -> None:
    assert amount_of(loads(raw)) == Decimal(expected)


@pytest.mark.parametrize("raw", [b'"12,5"', b"1.005", b"true", b"null", b'"NaN"', b"1e20", b'"1e3"', b"{}"])
def test_a_malformed_amount_is_refused_with_the_field_named(raw: bytes) -> None:
    with pytest.raises(PontoTransactionError) as refused:
        amount_of(loads(raw))
    assert refused.value.field == "amount"


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-12-07T23:00:00.000Z", date(2026, 12, 8)),  # winter: Brussels is UTC+1
        ("2026-06-30T22:00:00.000Z", date(2026, 7, 1)),  # summer: UTC+2
        ("2026-12-08T10:15:00.000Z", date(2026, 12, 8)),
        ("2026-12-08T10:15:00+01:00", date(2026, 12, 8)),
    ],
)
def test_the_day_is_taken_in_brussels_not_in_utc(instant: str, day: date) -> None:
    assert brussels_day(instant, "executionDate") == day


@pytest.mark.parametrize("instant", ["", "yesterday", "2026-13-01T00:00:00Z", None, 20261208])
def test_a_malformed_date_is_refused(instant: object) -> None:
    with pytest.raises(PontoTransactionError):
        brussels_day(instant, "executionDate")


def test_a_structured_remittance_is_an_ogm_or_an_rf_by_its_check_digits() -> None:
    ogm = read_transaction(_via_json(_tx(remittanceInformation="090933755493")), 1)
    assert (ogm.structured_type, ogm.structured_reference) == ("101", "+++090/9337/55493+++")
    rf = read_transaction(_via_json(_tx(remittanceInformation="RF18539007547034")), 1)
    assert (rf.structured_type, rf.structured_reference) == ("rf", "RF18539007547034")
    typo = read_transaction(_via_json(_tx(remittanceInformation="090933755494")), 1)
    assert typo.structured_reference is None and typo.structured_content == "090933755494"
    free = read_transaction(_via_json(_tx(remittanceInformationType="unstructured")), 1)
    assert free.structured_reference is None and free.communication == "+++090/9337/55493+++"


def test_a_transaction_is_read_with_its_parties_and_ponto_id() -> None:
    t = read_transaction(_via_json(_tx(amount=121.1, endToEndId="NOTPROVIDED")), 3)
    assert t.amount == Decimal("121.10") and t.booking_date == date(2026, 12, 8)
    assert t.bank_reference == "6a0f0c5e-0000-4000-8000-000000000001"
    assert (t.counterparty.name, t.counterparty.iban) == ("Jansen BV", "BE71096123456769")
    assert t.end_to_end_reference is None  # NOTPROVIDED is no identity
    card = read_transaction(
        _via_json(_tx(remittanceInformation=None, remittanceInformationType=None, description="Card payment")), 1
    )
    assert card.communication == "Card payment"


def test_a_direct_debit_return_is_told_by_its_bank_transaction_code() -> None:
    back = read_transaction(_via_json(_tx(amount=-50, bankTransactionCode="PMNT-RDDT-UPDD", mandateId="M-1")), 1)
    assert back.direct_debit is not None and back.direct_debit.r_type == "return"
    transfer = read_transaction(_via_json(_tx(amount=-50, bankTransactionCode="PMNT-RCDT-RRTN")), 1)
    assert transfer.transfer_return is not None and transfer.direct_debit is None


def test_a_batch_is_a_statement_with_a_negative_sequence_and_its_balances() -> None:
    data = batch_bytes(ACCOUNT, 4, datetime(2026, 12, 8, 9, tzinfo=UTC), [_tx(), _tx("t2", amount=-21.25)])
    assert recognises(data) and reader_for(data).name == "Ponto"
    [st] = list(PontoBatchReader(data).statements())
    assert (st.sequence, st.account_iban, st.currency, st.date) == (-4, "BE68539007547034", "EUR", date(2026, 12, 8))
    assert st.closing_balance == Decimal("1500.25") and st.opening_balance == Decimal("1400.50")


def test_coda_and_camt_are_not_taken_for_a_batch() -> None:
    assert not recognises(b"0000018011520005" + b" " * 112)
    assert not recognises(b'<?xml version="1.0"?><Document/>')
    assert not recognises(b'{"data": [], "ponto": 1}')


def _row(row_id: str, amount: str, **fields: object) -> dict:
    base = {
        "id": row_id,
        "booking_date": date(2026, 12, 8),
        "amount": Decimal(amount),
        "end_to_end_reference": None,
        "counterparty_iban": None,
        "structured_reference": None,
        "communication": "",
    }
    base.update(fields)
    return base


class _Stored:
    def __init__(self, **fields: object) -> None:
        self.__dict__.update(_row(**fields))  # type: ignore[arg-type]


def test_the_end_to_end_id_decides_when_both_have_one() -> None:
    stored = [_Stored(row_id="old", amount="121.00", end_to_end_reference="E2E-1")]
    assert pair([_row("new", "121.00", end_to_end_reference="E2E-1")], stored) == {"new": "old"}
    assert pair([_row("new", "121.00", end_to_end_reference="E2E-2")], stored) == {}


def test_a_contradiction_keeps_two_payments_apart_even_when_alone() -> None:
    stored = [_Stored(row_id="old", amount="121.00", counterparty_iban="BE71096123456769")]
    assert pair([_row("new", "121.00", counterparty_iban="BE68539007547034")], stored) == {}
    assert pair([_row("new", "121.00", counterparty_iban="BE71096123456769")], stored) == {"new": "old"}


def test_same_day_same_amount_is_paired_by_evidence_never_by_guess() -> None:
    stored = [
        _Stored(row_id="a", amount="50.00", structured_reference="+++090/9337/55493+++"),
        _Stored(row_id="b", amount="50.00", structured_reference="+++111/2222/33394+++"),
    ]
    new = [
        _row("y", "50.00", structured_reference="+++111/2222/33394+++"),
        _row("x", "50.00", structured_reference="+++090/9337/55493+++"),
    ]
    assert pair(new, stored) == {"x": "a", "y": "b"}
    # Nothing tells two look-alikes apart: none is paired (each stays a payment of its own, for a person).
    blind_stored = [_Stored(row_id="a", amount="50.00"), _Stored(row_id="b", amount="50.00")]
    assert pair([_row("x", "50.00"), _row("y", "50.00")], blind_stored) == {}
    # One on each side with nothing against it: one payment.
    assert pair([_row("x", "50.00")], [_Stored(row_id="a", amount="50.00")]) == {"x": "a"}


def test_another_day_or_amount_is_another_payment() -> None:
    stored = [_Stored(row_id="old", amount="121.00", end_to_end_reference="E2E-1")]
    assert pair([_row("new", "121.01", end_to_end_reference="E2E-1")], stored) == {}
    later = _row("new", "121.00", end_to_end_reference="E2E-1", booking_date=date(2026, 12, 9))
    assert pair([later], stored) == {}
