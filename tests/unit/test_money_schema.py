"""The OpenAPI document's amount schema is exactly what the server takes (issue 41): a string matches its pattern
if and only if parse_amount reads it, for money that may be negative and money that may not."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import MoneyError, parse_amount
from app.core.schemas import _money_in_schema


def _accepts(text: str, negative: bool) -> bool:
    try:
        parse_amount(text, allow_negative=negative)
    except MoneyError:
        return False
    return True


TEXTS = st.one_of(
    st.text("0123456789.-e+ \t\n\r\x0b\x0c\x1c\u2003\xa0", max_size=18),
    st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{0,4})?", fullmatch=True),
    st.sampled_from(["1000000000000", "1000000000000.00", "1000000000000.01", "999999999999.99", "0001", " 7.10 "]),
)


@settings(max_examples=1500)
@given(TEXTS, st.booleans())
def test_the_pattern_takes_what_the_server_takes(text: str, negative: bool) -> None:
    pattern = _money_in_schema(negative)["oneOf"][0]["pattern"]
    assert bool(re.search(pattern, text)) == _accepts(text, negative), (text, negative)


def test_the_examples_the_issue_names():
    pattern = _money_in_schema(False)["oneOf"][0]["pattern"]
    assert [bool(re.search(pattern, t)) for t in ("121", "12.5", "121.00", "-5.00", "12.500")] == [
        True, True, True, False, False,
    ]  # fmt: skip


DECIMALS = st.one_of(
    st.text("0123456789.-e+ \t\n\r\x0b\u2003", max_size=20),
    st.from_regex(r"-?[0-9]{1,15}(\.[0-9]{0,6})?", fullmatch=True),
    st.sampled_from(["100", "100.0000", "100.00001", "99.9999", "0", "-0", " 21 ", "NaN", "1e3", "1000000000.0"]),
)


@settings(max_examples=1500)
@given(DECIMALS, st.sampled_from([(-(10**9), 10**9), (0, 10**9), (0, 100)]))
def test_a_decimal_string_matches_its_pattern_if_and_only_if_it_is_taken(text: str, bounds) -> None:
    """Quantities, prices and percentages: the string form the document gives is exactly the one read."""
    from pydantic import TypeAdapter, ValidationError

    from app.core.schemas import _decimal_pattern, decimal_in

    try:
        TypeAdapter(decimal_in(*bounds)).validate_python(text)
        taken = True
    except ValidationError:
        taken = False
    assert bool(re.search(_decimal_pattern(*bounds), text)) == taken, (text, bounds)
