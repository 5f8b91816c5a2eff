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
    st.text("0123456789.-e+ ", max_size=18),
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
