"""The quick IBAN check (app/identifiers/iban.py) says what python-stdnum says, for every country stdnum knows."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban as iban_std
from stdnum import numdb

from app.identifiers.iban import IbanError, is_iban, normalize_iban

_FIELD = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}


def _countries() -> list[tuple[str, str]]:
    """(country, BBAN structure) for every country in stdnum's registry."""
    out = []
    for a in string.ascii_uppercase:
        for b in string.ascii_uppercase:
            props = numdb.get("iban").info(a + b)[0][1]
            if props.get("bban"):
                out.append((a + b, props["bban"]))
    return out


REGISTRY = _countries()


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """A valid IBAN of any registered country: a BBAN of its structure, then the check digits that fit."""
    country, structure = draw(st.sampled_from(REGISTRY))
    bban = ""
    for count, kind in re.findall(r"([1-9][0-9]*)!([nac])", structure):
        bban += draw(st.text(_FIELD[kind], min_size=int(count), max_size=int(count)))
    return country + iban_std.calc_check_digits(country + "00" + bban) + bban


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A valid IBAN with one character changed, two swapped, one dropped or one added."""
    number = draw(ibans())
    at = draw(st.integers(0, len(number) - 1))
    how = draw(st.sampled_from(["change", "swap", "drop", "add"]))
    char = draw(st.sampled_from(string.digits + string.ascii_uppercase + " -/a"))
    if how == "change":
        return number[:at] + char + number[at + 1 :]
    if how == "swap" and at < len(number) - 1:
        return number[:at] + number[at + 1] + number[at] + number[at + 2 :]
    if how == "drop":
        return number[:at] + number[at + 1 :]
    return number[:at] + char + number[at:]


def stdnum_says(text: str) -> bool:
    """stdnum's verdict, where ISO 13616 is stricter: its check digits are two digits. stdnum reads letters
    there as numbers, as in the BBAN, so "HUD4..." passes it when the letters happen to give the right sum."""
    return iban_std.is_valid(text, check_country=False) and iban_std.compact(text)[2:4].isdigit()


def test_the_registry_is_read() -> None:
    assert len(REGISTRY) > 70 and ("BE", "3!n7!n2!n") in REGISTRY


@settings(max_examples=400)
@given(ibans())
def test_every_valid_iban_is_one(number: str) -> None:
    assert stdnum_says(number)
    assert is_iban(number)
    assert normalize_iban(number[:4] + " " + number[4:].lower()) == number


@settings(max_examples=1500)
@given(st.one_of(damaged(), st.text(string.digits + string.ascii_uppercase, max_size=40)))
def test_the_same_verdict_as_stdnum(text: str) -> None:
    compact = iban_std.compact(text)
    assert is_iban(compact) == stdnum_says(text)
    if stdnum_says(text):
        assert normalize_iban(text) == iban_std.validate(text, check_country=False)
    else:
        with pytest.raises(IbanError):
            normalize_iban(text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("BE68539007547034", True),
        ("HUD4000000010000000000000000", False),  # letters as check digits: stdnum's sum holds, ISO 13616 says no
        ("be68 5390 0754 7034", True),
        ("BE68539007547035", False),  # checksum
        ("BE6853900754703", False),  # a digit short for Belgium
        ("XX68539007547034", False),  # no such country
        ("NL91ABNA0417164300", True),
        ("NL91ABNA041716430O", False),  # a letter where the structure has a digit
        ("", False),
    ],
)
def test_known_cases(text: str, valid: bool) -> None:
    assert is_iban(iban_std.compact(text)) is valid
    assert stdnum_says(text) is valid
