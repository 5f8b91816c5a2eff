"""OGM/VCS and RF references, checked against python-stdnum's own validators (not only ours)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs

from app.identifiers.references import (
    ReferenceError_,
    find_references,
    format_ogm,
    generate_ogm,
    generate_ogms,
    is_valid_ogm_digits,
    normalize_reference,
    ogm_check_digits,
)


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


@given(st.integers(min_value=1, max_value=9_999_999_999))
@settings(max_examples=300)
def test_every_generated_ogm_is_valid_for_stdnum(base):
    ogm = generate_ogm(base)
    assert ogm_vcs.is_valid(digits(ogm))
    assert normalize_reference(ogm) == ogm


def test_generated_ogms_in_bulk_are_valid_and_spread_over_the_bases():
    ogms = generate_ogms(2000)
    assert len(ogms) == 2000
    assert all(ogm_vcs.is_valid(digits(ogm)) and normalize_reference(ogm) == ogm for ogm in ogms)
    # 2,000 draws from ten billion bases: a repeat or a leading digit never drawn would mean a broken draw.
    assert len(set(ogms)) == 2000
    assert {digits(ogm)[0] for ogm in ogms} == set("0123456789")


@pytest.mark.parametrize("base", [97, 97 * 2, 97 * 103_092_783])
def test_a_base_divisible_by_97_has_check_digits_97_not_00(base):
    ogm = generate_ogm(base)
    assert digits(ogm).endswith("97")
    assert ogm_vcs.is_valid(digits(ogm))
    assert ogm_check_digits(f"{base:010d}") == "97"
    assert not is_valid_ogm_digits(f"{base:010d}00")


@pytest.mark.parametrize(
    "written",
    ["+++090/9337/55493+++", "***090/9337/55493***", "090/9337/55493", "090933755493", " +++090.9337.55493+++ "],
)
def test_usual_notations_normalise_to_one_form(written):
    assert normalize_reference(written) == "+++090/9337/55493+++"


@pytest.mark.parametrize("bad", ["+++090/9337/55494+++", "09093375549", "+++000/0000/00000+++", "RF18 5390 0754 7035"])
def test_wrong_check_digits_are_refused(bad):
    with pytest.raises(ReferenceError_):
        normalize_reference(bad)


def test_rf_references_are_checked_by_iso11649():
    assert normalize_reference("rf18 5390 0754 7034") == "RF18539007547034"
    assert iso11649.is_valid("RF18539007547034")


def test_references_typed_in_free_text_are_found_with_their_validity():
    found = find_references("Betaling fact 090/9337/55493 en ***000.0000.00101*** ref RF18 5390 0754 7034 dank u")
    assert [(f.value, f.valid, f.kind) for f in found] == [
        ("+++090/9337/55493+++", True, "ogm"),
        ("+++000/0000/00101+++", True, "ogm"),
        ("RF18539007547034", True, "rf"),
    ]
    typo = find_references("betaling 090/9337/55439")
    assert [(f.value, f.valid) for f in typo] == [(format_ogm("090933755439"), False)]
    assert find_references("rekening 0909337554931 en 121,00") == []  # 13 digits: not a reference
