"""Amounts and datetimes as the API writes them: the fast paths give exactly what the plain rules give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import CENT, MILL, format_amount
from app.core.timeutil import json_datetime


def plain_format(amount: Decimal) -> str:
    return str(amount.quantize(CENT)) if amount == amount.quantize(CENT) else str(amount.quantize(MILL))


# Amounts in mills (what the database holds) written with 0 to 4 decimals: 121, 121.5, 121.50, 121.500, 121.5000.
_amounts = st.builds(
    lambda mills, places: (Decimal(mills) / 1000).quantize(Decimal(1).scaleb(-places)),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.integers(min_value=0, max_value=4),
).filter(lambda d: d == d.quantize(MILL))


@settings(max_examples=400, deadline=None)
@given(_amounts)
def test_format_amount_is_two_decimals_or_three_when_booked(amount: Decimal) -> None:
    assert format_amount(amount) == plain_format(amount)


def test_format_amount_of_written_forms() -> None:
    for written, shown in [
        ("121", "121.00"),
        ("121.5", "121.50"),
        ("121.50", "121.50"),
        ("0.001", "0.001"),
        ("-0.00", "-0.00"),
        ("1E+3", "1000.00"),
        ("12.300", "12.30"),
        ("5E-2", "0.05"),
    ]:
        assert format_amount(Decimal(written)) == shown


def test_json_datetime_remembers_by_identity_not_by_equality() -> None:
    utc = datetime(2026, 12, 4, 18, 0, 0, 123456, tzinfo=UTC)
    same_instant = utc.astimezone(timezone(timedelta(hours=1)))  # equal, written differently
    assert json_datetime(utc) == "2026-12-04T18:00:00.123456Z"
    assert json_datetime(utc) == "2026-12-04T18:00:00.123456Z"
    assert json_datetime(same_instant) == "2026-12-04T19:00:00.123456+01:00"
    assert json_datetime(utc + timedelta(microseconds=1)) == "2026-12-04T18:00:00.123457Z"
