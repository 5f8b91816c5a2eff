"""Every real CODA file in ../shared/coda-samples: the values its MANIFEST quotes, or the refusal it deserves.

Where our model differs from another parser's on purpose (globalisation details are transactions of their
own; structured types other than 101/102 are not OGMs), the assertion says so.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from app.statements.coda import parse_coda
from app.statements.parsed import MovementKind, ParsedFile, StatementFileError
from tests.conftest import REQUIRE_SAMPLES, SAMPLES_DIR, sample_path

pytestmark = pytest.mark.skipif(
    not SAMPLES_DIR.is_dir() and not REQUIRE_SAMPLES, reason="shared/coda-samples is not beside the repository"
)


def parse(name: str) -> ParsedFile:
    return parse_coda(sample_path(name).read_bytes())


def codes(warnings) -> set[str]:
    return {w.code for w in warnings}


def all_samples() -> list[str]:
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in SAMPLES_DIR.iterdir() if p.name != "MANIFEST.md")


REFUSED = {
    "acsone-pycoda__header_only_version5_invalid.txt": (1, "version '5'"),
    "coda-rs__bad_overlong_record1.txt": (2, "137 characters"),
}


@pytest.mark.parametrize("name", all_samples())
def test_every_sample_is_read_or_refused_with_a_line(name):
    if name in REFUSED:
        line, words = REFUSED[name]
        with pytest.raises(StatementFileError) as refused:
            parse(name)
        assert refused.value.line == line
        assert words in refused.value.message
        return
    parsed = parse(name)
    assert parsed.statements
    for st in parsed.statements:
        leaves = sum((t.amount for t in st.leaves), D(0))
        # Either the leaves explain the balance change, or the statement says they do not.
        assert st.opening_balance + leaves == st.closing_balance or "balance_mismatch" in codes(st.warnings)
        for t in st.transactions:
            assert isinstance(t.amount, D)
            if t.structured_reference and t.structured_reference.startswith("+++"):
                assert t.structured_type in ("101", "102")


def test_kbc_single_statement_acsone_and_oca():
    [st] = parse("acsone-pycoda__kbc_iban_single_statement_globalisation_crlf.txt").statements
    assert (st.account_iban, st.currency, st.account_description) == ("BE86407051416150", "EUR", "KBC-Bedrijfsrekening")
    assert st.creation_date == date(2009, 3, 5)
    assert (st.opening_balance, st.opening_date, st.closing_balance, st.date) == (
        D(0),
        date(2009, 3, 4),
        D(0),
        date(2009, 3, 5),
    )
    assert st.account_holder_name == "STORA ENSO LANGERBRUGGE NV"
    assert (st.paper_sequence, st.sequence) == ("042", 2)
    assert len(st.transactions) == 32  # pycoda's count: totals and movements
    assert len(st.leaves) == 30  # OCA's statement lines
    assert len(st.informations) == 3
    first = st.transactions[0]
    assert (first.bank_reference, first.amount, first.transaction_code[1:5]) == ("SWJVZ0BN6 BKTBBNPOSKZ", D(20), "0450")
    # pycoda renders this type-114 (POS) communication as an OGM; it is not one.
    assert first.structured_type == "114"
    assert first.structured_reference is None
    line_00170005 = next(t for t in st.transactions if (t.sequence, t.detail) == (17, 5))
    assert line_00170005.amount == D("-15")
    assert line_00170005.communication.startswith("OVERBOEKING NAAR CENTRALE REKENING")
    assert line_00170005.counterparty.iban == "BE38733040385372"


def test_two_statements_of_two_banks():
    statements = parse("acsone-pycoda__two_statements_kbc_and_bnp_crlf.txt").statements
    assert [s.account_iban for s in statements] == ["BE86407051416150", "BE12341702625236"]


def test_bnp_globalisation_samples():
    [st] = parse("acsone-pycoda__bnp_type3_with_type8_detail.txt").statements
    assert (st.opening_balance, st.closing_balance) == (D("-455.17"), D("275270.53"))
    assert len(st.transactions) == 5  # pycoda's count
    assert [t.kind for t in st.transactions].count(MovementKind.TOTAL) == 1  # its index-2 globalisation
    assert "account_mismatch" in codes(st.warnings)  # anonymised record 8
    [without] = parse("acsone-pycoda__bnp_type3_without_detail_bad_trailer_count.txt").statements
    assert len(without.transactions) == 4
    assert all(t.kind is MovementKind.MOVEMENT for t in without.transactions)
    assert "trailer_count" in codes(without.warnings)
    [faulty] = parse("acsone-pycoda__bnp_type1_total_without_details_crlf.txt").statements
    assert len(faulty.transactions) == 11
    assert all(t.kind is MovementKind.MOVEMENT for t in faulty.transactions)
    truncated = parse("acsone-pycoda__bnp_only_type1_totals_truncated_trailer.txt")
    assert len(truncated.statements[0].transactions) == 2
    assert "short_record" in codes(truncated.warnings)


def test_foreign_iban_account():
    [st] = parse("acsone-pycoda__foreign_iban_fr_structure3_with_free_comm.txt").statements
    assert (st.account_iban, st.currency) == ("FR1234567890240924002304825", "EUR")


def test_febelfin_kbc_2006():
    [st] = parse("febelfin-coda__kbc_bban_2006_full_many_comm_types.txt").statements
    assert st.sequence == 1
    assert st.creation_date == date(2006, 12, 6)
    assert st.bic == "KREDBEBB"
    assert st.account_number == "435000000080"
    assert st.account_iban == "BE47435000000080"  # the BBAN converted to IBAN
    assert (st.currency, st.opening_balance, st.closing_balance) == ("EUR", D("0"), D("9405296.99"))
    assert st.date == date(2006, 12, 7)
    assert st.account_description == "KBC-Bedrijfsrekening"
    assert len([t for t in st.transactions if t.detail == 0]) == 59
    first = st.transactions[0]
    assert (first.bank_reference, first.amount, first.transaction_code) == (
        "EPIB00048 AWIUBTKAPUO",
        D("-2578.25"),
        "00799000",
    )
    assert first.communication == "BORDEREAU DE DECOMPTE AVANCES    015 NUMERO D'OPERATION 495953"
    ogm = next(t for t in st.transactions if (t.sequence, t.detail) == (53, 0))
    assert (ogm.structured_type, ogm.structured_content[:12]) == ("101", "269021157996")
    assert ogm.structured_reference == "+++269/0211/57996+++"
    lu = next(t for t in st.transactions if (t.sequence, t.detail) == (3, 0))
    assert lu.counterparty.iban == "LU037050522702273100"
    assert st.opening_balance + sum((t.amount for t in st.leaves), D(0)) == st.closing_balance
    assert not codes(st.warnings)


def test_febelfin_empty_file_is_a_statement_without_movements():
    parsed = parse("febelfin-coda__empty_file_records_0_1_9.txt")
    [st] = parsed.statements
    assert st.paper_sequence == "202"
    assert (st.opening_balance, st.opening_date, st.closing_balance, st.date) == (
        D(0),
        date(2026, 8, 7),
        D(0),
        date(2026, 8, 7),
    )
    assert st.transactions == []
    assert "missing_new_balance" in codes(st.warnings)
    assert "application_code" in codes(parsed.warnings)  # the header says 00 instead of 05


def test_coda_rs_variant_counts_its_trailer_wrong():
    [st] = parse("coda-rs__kbc_bban_2006_with_free_communications.txt").statements
    assert st.bic == "KREDBEBB"
    assert "trailer_count" in codes(st.warnings)
    assert st.opening_balance + sum((t.amount for t in st.leaves), D(0)) == st.closing_balance


def test_tryton_minimal():
    [st] = parse("tryton__minimal_one_credit_iban.txt").statements
    assert (st.sequence, st.date, st.opening_balance, st.closing_balance) == (1, date(2017, 8, 1), D(0), D(100))
    [t] = st.transactions
    assert (t.sequence, t.booking_date, t.amount, t.communication) == (1, date(2017, 7, 19), D(100), "COMMUNICATION")
    assert t.bank_reference == "REF BANK"


def test_odoo_and_oca_noviat_files():
    [st] = parse("odoo8-l10n_be_coda__kbc_noviat_ogm_type3_details_crlf.txt").statements
    assert (st.opening_balance, st.closing_balance, st.paper_sequence) == (D("11812.70"), D("13527.81"), "135")
    ogm = next(t for t in st.leaves if t.structured_reference)
    assert ogm.structured_reference == "+++240/2838/42818+++"
    assert (ogm.counterparty.name, ogm.counterparty.iban) == ("PARTNER 2", "BE61310126985517")
    assert "balance_mismatch" not in codes(st.warnings)
    [variant] = parse("oca-l10n-belgium__kbc_noviat_2012_variant.txt").statements
    assert (variant.opening_balance, variant.closing_balance) == (D("11812.70"), D("13646.05"))
    assert "balance_mismatch" in codes(variant.warnings)  # the MANIFEST: it does not add up


def test_oca_two_statements_same_account():
    first, second = parse("oca-l10n-belgium__bnp_iban_two_statements_same_account.txt").statements
    assert (first.sequence, first.date, first.opening_balance, first.closing_balance) == (
        36,
        date(2014, 3, 29),
        D("39698.09"),
        D("39575.69"),
    )
    assert (second.sequence, second.date, second.opening_balance, second.closing_balance) == (
        37,
        date(2014, 3, 31),
        D("39575.69"),
        D("139575.69"),
    )
    assert len(first.leaves) == len(second.leaves) == 1
    assert "sequence_gap" not in codes(second.warnings)


def test_php_samples():
    [s1] = parse("php-coda-parser__sample1_kbc_bban_4_ogm_credits.cod").statements
    assert (s1.opening_balance, s1.closing_balance, s1.date) == (D("17752.12"), D("17832.12"), date(2017, 10, 11))
    assert len(s1.leaves) == 4
    first = s1.leaves[0]
    assert (first.amount, first.structured_content[:12]) == (D(5), "000003505158")
    assert first.structured_reference is None  # fake check digits: not an OGM we can trust
    assert (first.counterparty.name, first.counterparty.iban) == ("KLANT1 MET NAAM1", "BE22313215646432")

    [s2] = parse("php-coda-parser__sample2_ing_iban_costs_type3_no_counterparty.cod").statements
    total = s2.transactions[0]
    assert total.communication == "Zichtrekening nr  21354598 - 2,11Justification in annex"
    assert total.counterparty.name is None

    [s3] = parse("php-coda-parser__sample3_cbc_multiline_message_bad_trailer.cod").statements
    assert " ".join(t.communication for t in s3.transactions) == "Message goes here and continues here or here"

    [s4] = parse("php-coda-parser__sample4_cbc_multiple_31_records_bad_trailer.cod").statements
    [t4] = s4.leaves
    assert t4.amount == D("17233.54")
    assert t4.communication.startswith("Europese overschrijving (zie bijlage) + 17.233,54Van: COMPANY BLABLABL")

    [s5] = parse("php-coda-parser__sample5_bnp_bban_negative_balance.cod").statements
    assert s5.closing_balance == D("-500012.1")
    assert [t.sequence for t in s5.leaves] == [1, 2, 9]
    assert s5.sequence == 255

    [s6] = parse("php-coda-parser__sample6_bnp_bban_with_free_comm.cod").statements
    assert (s6.opening_balance, s6.closing_balance, s6.account_holder_name) == (
        D("4004.1"),
        D("-500012.1"),
        "CODELICIOUS",
    )
    assert (s6.bic, s6.account_number, s6.account_description) == ("GEBABEBB", "001548226815", "PROFESSIONAL ACCOUNT")
    one, two, nine = s6.leaves
    assert (one.booking_date, one.amount) == (date(2014, 12, 25), D("-767.823"))  # a third decimal, kept exact
    assert one.communication.startswith("112/4554/46812")
    assert one.structured_type is None
    assert (one.counterparty.name, one.counterparty.bic, one.counterparty.iban) == (
        "BVBA.BAKKER PIET",
        "GEBCEEBB",
        "BE54805480215856",
    )
    assert two.structured_content[:12] == "112455446812"
    assert nine.sequence == 9

    [s7] = parse("php-coda-parser__sample7_kbc_grouped_type1_total.cod").statements
    assert (s7.opening_balance, s7.closing_balance) == (D("17752.12"), D("17832.12"))
    assert [t.detail for t in s7.leaves] == [2, 3, 4]
    assert s7.leaves[0].amount == D(-25)
    assert (s7.leaves[0].counterparty.name, s7.leaves[0].counterparty.iban) == ("KLANT2 NAAM2", "BE25646548413215")

    [s8] = parse("php-coda-parser__sample8_bnp_iban_only_type1_totals.cod").statements
    assert len(s8.leaves) == 2
    [s9] = parse("php-coda-parser__sample9_kbc_client_reference.cod").statements
    assert s9.leaves[0].customer_reference == "243690000141"

    [s10] = parse("php-coda-parser__sample10_kbc_type1_total_type5_sepa_dd_details.cod").statements
    assert (s10.opening_balance, s10.closing_balance, s10.date) == (D(100), D(1100), date(2024, 6, 6))
    assert [(t.amount, t.counterparty.name, t.counterparty.iban, t.structured_type) for t in s10.leaves] == [
        (D(250), "KLANT1 MET NAAM1", "BE22313215646432", "127"),
        (D(750), "KLANT2 MET NAAM2", "BE25646548413215", "127"),
    ]
    assert all(t.structured_reference is None for t in s10.leaves)  # SEPA direct debit, not an OGM
    # Its own fields (type 127 over 2.1-2.3): two paid B2B collections of 6 June 2024 on recurrent mandates.
    assert [
        (t.direct_debit.r_type, t.direct_debit.settlement_date, t.direct_debit.sequence_type, t.direct_debit.scheme,
         t.direct_debit.mandate_reference, t.direct_debit.creditor_id, t.communication)
        for t in s10.leaves
    ] == [
        ("paid", date(2024, 6, 6), "recurrent", "b2b", "SEPA-000000001", "BBE2ZZZ3215646432", "243690000141"),
        ("paid", date(2024, 6, 6), "recurrent", "b2b", "SEPA-00000002", "BE25ZZZ548413215", "243690000142"),
    ]  # fmt: skip
    [s11] = parse("php-coda-parser__sample11_kbc_type1_total_no_details.cod").statements
    assert [t.amount for t in s11.leaves] == [D(1000)]


def test_triptyk_mojibake_is_read_with_a_warning():
    parsed = parse("triptyk__sample2_mojibake_utf8_replacement_chars.cod")
    assert "replacement_characters" in codes(parsed.warnings)
    assert parsed.statements[0].transactions[0].counterparty.name is None


def test_coda_demo_spring_globalisation_of_ogm_credits():
    parsed = parse("coda-demo-spring__bban_type2_total_type6_ogm_details_utf8.txt")
    assert parsed.encoding == "utf-8"
    [st] = parsed.statements
    [total] = [t for t in st.transactions if t.kind is MovementKind.TOTAL]
    assert total.amount == D("244.12")
    assert total.globalisation_code == 1
    assert len(st.leaves) == 6
    assert all(t.structured_reference for t in st.leaves)
    assert sum((t.amount for t in st.leaves), D(0)) == total.amount
    assert "Compte à vue" in (st.account_description or "")


def test_ruby_samples():
    [st] = parse("coda_standard-ruby__bnp_bban_ogm_inconsistent_trailer.cod").statements
    assert st.account_number == "539007547034"
    assert [t.structured_reference for t in st.leaves] == ["+++100/0008/34941+++", "+++100/0008/35749+++"]
    assert [t.structured_type for t in st.leaves] == ["101", "102"]
    assert st.leaves[1].counterparty.iban.startswith("LU")
    assert {"trailer_count", "trailer_credit"} <= codes(st.warnings)
    garbage = parse("coda_standard-ruby__invalid_trailing_garbage.cod")
    assert "trailing_garbage" in codes(garbage.warnings)
    assert len(garbage.statements[0].leaves) == 2


def test_argenta_nonstandard_record():
    [st] = parse("github-issue-php-coda-parser-34__argenta_nonstandard_record21.cod").statements
    [t] = st.leaves
    assert (t.amount, t.transaction_code, t.structured_type) == (D("-16.36"), "00000000", "113")
