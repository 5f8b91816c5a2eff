"""The account holder's enterprise number, as bank files write it: CODA record 0 (positions 72-82), camt.053
Acct/Ownr/Id/OrgId/Othr/Id. Only a number that passes the Belgian check counts; blanks, zeros and garbage
mean "names no holder" (the CodaBox feed then judges the statement by its account)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.identifiers.vat import enterprise_number
from app.statements.camt import CamtReader
from app.statements.camt_writer import write_camt
from app.statements.coda import CodaReader
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.conftest import camt_sample, sample_path


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("00417497106", "BE0417497106"),  # CODA: "0" and the 10 digits
        ("0417497106", "BE0417497106"),
        ("BE 0417.497.106", "BE0417497106"),
        ("00000000000", None),
        ("           ", None),
        (None, None),
        ("00417497107", None),  # check digits wrong
        ("09029308273", None),  # not "0" + a valid number (a shifted field in a public sample)
        ("12345678901", None),  # a Finnish organisation id is no Belgian number
    ],
)
def test_only_a_valid_enterprise_number_counts(text, number):
    assert enterprise_number(text) == number


@pytest.mark.parametrize(
    ("name", "holders"),
    [
        ("acsone-pycoda__two_statements_kbc_and_bnp_crlf.txt", ["BE0417331909", "BE0536908262"]),
        ("tryton__minimal_one_credit_iban.txt", ["BE0403200393"]),
        ("acsone-pycoda__foreign_iban_fr_structure3_with_free_comm.txt", [None]),  # zeros
        ("febelfin-coda__empty_file_records_0_1_9.txt", [None]),
        ("php-coda-parser__sample5_bnp_bban_negative_balance.cod", [None]),  # a number failing the check
    ],
)
def test_real_coda_files_name_their_holders(name, holders):
    statements = CodaReader(sample_path(name).read_bytes()).statements()
    assert [st.account_holder_number for st in statements] == holders


def test_a_camt_owners_organisation_id_counts_only_when_it_is_a_belgian_number():
    # A Belgian account whose owner id fails the check, and a Lithuanian one: no holder either way.
    for name in (
        "genkgo-camt__v03_kbc_bic_scor_bba_mixed_ccy_balances.xml",
        "moov-io-iso20022__lt_v02_opav_clav_only_lithuanian_utf8.xml",
    ):
        assert {st.account_holder_number for st in CamtReader(camt_sample(name).read_bytes()).statements()} == {None}


@pytest.mark.parametrize("holder", ["BE0417497106", None])
def test_both_formats_carry_the_number_written(holder):
    spec = StatementSpec(
        "BE68539007547034", date(2026, 11, 5), Decimal(0), [MovementSpec(Decimal("1.00"))], holder_number=holder
    )
    assert [st.account_holder_number for st in CodaReader(write_coda([spec])).statements()] == [holder]
    assert [st.account_holder_number for st in CamtReader(write_camt([spec])).statements()] == [holder]


def test_a_foreign_accounts_owner_id_is_never_read_as_a_belgian_number():
    """Another country's organisation id can pass the Belgian check digits by chance: only Belgian accounts'
    owners are read."""
    spec = StatementSpec(
        "FR7630006000011234567890189",
        date(2026, 11, 5),
        Decimal(0),
        [MovementSpec(Decimal("1.00"))],
        holder_number="BE0417497106",
    )
    assert [st.account_holder_number for st in CamtReader(write_camt([spec])).statements()] == [None]
