"""The adapter's input rules: encodings, line endings, padding, garbage, dates, communications."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from app.statements.coda import TRAILER_FIELDS, join_free_text, parse_coda
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from app.statements.parsed import MovementKind, StatementFileError

DAY = date(2026, 11, 20)
ACCOUNT = "BE80001000000177"


def one(*movements: MovementSpec, **kw) -> bytes:
    return write_coda([StatementSpec(ACCOUNT, DAY, D("10.00"), list(movements), **kw)])


def lines(data: bytes) -> list[str]:
    return data.decode("latin-1").split("\n")[:-1]


@pytest.mark.parametrize(("encoding", "expected"), [("latin-1", "cp1252"), ("cp1252", "cp1252"), ("utf-8", "utf-8")])
def test_encodings_are_detected_and_names_kept(encoding, expected):
    data = one(MovementSpec(D("1.00"), counterparty_name="Crème Brûlée SPRL", counterparty_iban="BE71096123456769"))
    parsed = parse_coda(data.decode("latin-1").encode(encoding))
    assert parsed.encoding == expected
    assert parsed.statements[0].transactions[0].counterparty.name == "Crème Brûlée SPRL"


def test_bom_crlf_cr_and_blank_lines_around():
    data = one(MovementSpec(D("1.00")))
    text = data.decode("latin-1")
    for variant in (
        b"\xef\xbb\xbf" + data,
        text.replace("\n", "\r\n").encode("latin-1"),
        text.replace("\n", "\r").encode("latin-1"),
        b"\n\n  \n" + data + b"\n\n",
    ):
        parsed = parse_coda(variant)
        assert parsed.statements[0].closing_balance == D("11.00")


@pytest.mark.parametrize("length", [57, TRAILER_FIELDS])  # as real banks' trailers are: blanks lost, totals kept
def test_lost_trailing_blanks_are_padded_with_a_warning(length):
    rows = lines(one(MovementSpec(D("1.00"))))
    rows[-1] = rows[-1][:length]
    parsed = parse_coda("\n".join(rows).encode())
    assert [w.code for w in parsed.warnings] == ["short_record"]
    assert parsed.warnings[0].line == len(rows)
    assert parsed.statements[0].warnings == []  # the trailer's count and totals were all read


@pytest.mark.parametrize("end", ["\n", ""])
@pytest.mark.parametrize("length", [1, 16, 40, TRAILER_FIELDS - 1])
def test_a_file_that_ends_in_a_cut_trailer_is_incomplete(length, end):
    rows = lines(one(MovementSpec(D("1.00"))))
    rows[-1] = rows[-1][:length]
    with pytest.raises(StatementFileError) as refused:
        parse_coda(("\n".join(rows) + end).encode())
    assert refused.value.incomplete
    assert refused.value.line == len(rows)
    assert "trailer" in refused.value.message


def test_a_long_record_is_refused_with_its_line():
    rows = lines(one(MovementSpec(D("1.00"))))
    rows[1] += "XYZ"
    with pytest.raises(StatementFileError) as refused:
        parse_coda("\n".join(rows).encode())
    assert refused.value.line == 2


def test_trailing_garbage_is_dropped_with_a_warning():
    data = one(MovementSpec(D("1.00"))) + b"\n\n100/0000/00135\n"
    parsed = parse_coda(data)
    assert "trailing_garbage" in {w.code for w in parsed.warnings}


@pytest.mark.parametrize(
    ("line_index", "start", "replacement", "words"),
    [
        (2, 32, "12345678901234X", "movement amount"),
        (2, 115, "310226", "entry date"),
        (1, 58, "AB0126", "old balance date"),
        (2, 31, "7", "sign"),
    ],
)
def test_bad_fields_are_refused_with_their_line(line_index, start, replacement, words):
    rows = lines(one(MovementSpec(D("1.00"))))
    row = rows[line_index]
    rows[line_index] = row[:start] + replacement + row[start + len(replacement) :]
    with pytest.raises(StatementFileError) as refused:
        parse_coda("\n".join(rows).encode())
    assert refused.value.line == line_index + 1
    assert words in refused.value.message


def test_zero_value_date_falls_back_to_the_entry_date():
    rows = lines(one(MovementSpec(D("1.00"), booking_date=date(2026, 11, 19))))
    rows[2] = rows[2][:47] + "000000" + rows[2][53:]
    [t] = parse_coda("\n".join(rows).encode()).statements[0].transactions
    assert t.value_date == t.booking_date == date(2026, 11, 19)


def test_record_order_that_makes_no_sense_is_refused():
    rows = lines(one(MovementSpec(D("1.00"))))
    with pytest.raises(StatementFileError):
        parse_coda("\n".join([rows[0], rows[2], rows[1], *rows[3:]]).encode())
    with pytest.raises(StatementFileError):
        parse_coda("\n".join(rows[1:]).encode())  # no header


def test_only_101_and_102_are_ogms():
    data = one(
        MovementSpec(D("1.00"), ogm="090933755493"),
        MovementSpec(D("2.00"), structured_type="127", structured_content="090933755493 SEPA"),
        MovementSpec(D("3.00"), ogm="090933755494"),  # wrong check digits
    )
    ogm, sepa, typo = parse_coda(data).statements[0].transactions
    assert ogm.structured_reference == "+++090/9337/55493+++"
    assert (sepa.structured_type, sepa.structured_reference) == ("127", None)
    assert sepa.structured_content.startswith("090933755493")
    assert (typo.structured_type, typo.structured_reference) == ("101", None)


def test_free_text_is_joined_without_inventing_spaces():
    reference = "090/9337/55493"
    text = "x" * (53 - 5) + "Ref: " + reference + " thanks"  # the reference straddles records 2.1 and 2.2
    [t] = parse_coda(one(MovementSpec(D("1.00"), communication=text))).statements[0].transactions
    assert t.communication == text
    assert join_free_text(["Factuur 12".ljust(53), "betaald"]) == "Factuur 12 betaald"


def test_rf_reference_given_as_the_whole_free_communication():
    [t] = parse_coda(one(MovementSpec(D("1.00"), communication="RF18539007547034"))).statements[0].transactions
    assert t.structured_reference == "RF18539007547034"


def test_globalisation_total_and_details():
    data = one(MovementSpec(D("30.00"), details=[MovementSpec(D("10.00")), MovementSpec(D("20.00"))]))
    [st] = parse_coda(data).statements
    assert [t.kind for t in st.transactions] == [MovementKind.TOTAL, MovementKind.DETAIL, MovementKind.DETAIL]
    assert [t.amount for t in st.leaves] == [D("10.00"), D("20.00")]
    assert st.warnings == []


def test_integrity_warnings():
    rows = lines(one(MovementSpec(D("1.00"))))
    eight = rows[-2]
    rows[-2] = eight[:42] + "000000000099000" + eight[57:]  # new balance 99.000
    rows[-1] = rows[-1][:16] + "000009" + rows[-1][22:]  # wrong record count
    [st] = parse_coda("\n".join(rows).encode()).statements
    assert {"balance_mismatch", "trailer_count"} <= {w.code for w in st.warnings}
    assert next(w for w in st.warnings if w.code == "balance_mismatch").line == len(rows) - 1


def test_sequence_gap_between_statements_of_one_account():
    first = StatementSpec(ACCOUNT, DAY, D(0), [MovementSpec(D("1.00"))], sequence=4)
    third = StatementSpec(ACCOUNT, date(2026, 11, 22), D(1), [MovementSpec(D("1.00"))], sequence=6)
    _a, b = parse_coda(write_coda([first, third])).statements
    assert "sequence_gap" in {w.code for w in b.warnings}


def test_duplicate_flag_and_several_accounts():
    statements = [
        StatementSpec(ACCOUNT, DAY, D(0), [MovementSpec(D("1.00"))]),
        StatementSpec("BE67735000000287", DAY, D(0), [MovementSpec(D("2.00"))], currency="USD"),
    ]
    parsed = parse_coda(write_coda(statements, duplicate=True))
    assert [(s.account_iban, s.currency, s.duplicate) for s in parsed.statements] == [
        (ACCOUNT, "EUR", True),
        ("BE67735000000287", "USD", True),
    ]


def test_control_characters_are_refused_with_their_line_and_a_dos_end_of_file_is_not():
    rows = lines(one(MovementSpec(D("1.00"), communication="betaling")))
    rows[2] = rows[2][:70] + "\x00" + rows[2][71:]
    with pytest.raises(StatementFileError) as refused:
        parse_coda("\n".join(rows).encode())
    assert refused.value.line == 3
    assert "0x00" in refused.value.message
    assert len(parse_coda(one(MovementSpec(D("1.00"))) + b"\x1a").statements) == 1


def test_a_file_cut_right_after_a_record_type_is_incomplete_not_garbage():
    two = write_coda(
        [
            StatementSpec("BE80001000000177", date(2026, 11, 20), D(0), [MovementSpec(D("1.00"))], sequence=1),
            StatementSpec("BE80001000000177", date(2026, 11, 21), D(1), [MovementSpec(D("2.00"))], sequence=2),
        ]
    )
    text = two.decode()
    second = text.index("\n0") + 1  # the second statement's header
    for cut in (second + 1, second + 2, second + 140):
        with pytest.raises(StatementFileError, match="incomplete"):
            parse_coda(text[:cut].encode())


@pytest.mark.parametrize(
    ("r_type", "reason", "amount", "expected"),
    [
        ("0", "", D("121.00"), ("paid", None)),
        ("1", "AC04", D("-121.00"), ("reject", "AC04")),
        ("2", "AM04", D("-121.00"), ("return", "AM04")),
        ("3", "MD06", D("-121.00"), ("refund", "MD06")),
        ("4", "MS02", D("-121.00"), ("reversal", "MS02")),
        ("5", "", D("-121.00"), ("cancellation", None)),
    ],
)
def test_a_sepa_direct_debit_is_read_field_by_field(r_type, reason, amount, expected):
    """Structured communication 127 spans records 2.1 to 2.3: its 146 characters are the collection's own
    fields, and its communication (the creditor's) is what the movement says."""
    from app.statements.coda_writer import sepa_direct_debit_content

    content = sepa_direct_debit_content(
        settlement=date(2026, 11, 4), mandate="MANDAAT-0042", communication="+++090/9337/55493+++",
        sequence_type="3", scheme="2", r_type=r_type, reason=reason,
    )  # fmt: skip
    data = one(MovementSpec(amount, structured_type="127", structured_content=content, counterparty_name="KLANT NV"))
    [tx] = parse_coda(data).statements[0].transactions
    dd = tx.direct_debit
    assert (dd.r_type, dd.reason) == expected
    assert dd.is_return is (expected[0] != "paid")
    assert (dd.settlement_date, dd.sequence_type, dd.scheme, dd.refusal) == (date(2026, 11, 4), "first", "b2b", None)
    assert (dd.creditor_id, dd.mandate_reference) == ("BE69ZZZ0123456789", "MANDAAT-0042")
    assert tx.communication == dd.communication == "+++090/9337/55493+++"
    assert tx.counterparty.name == "KLANT NV" and tx.amount == amount


def test_a_direct_debit_with_fields_no_standard_lists_is_kept():
    data = one(MovementSpec(D("2.00"), structured_type="127", structured_content="9909xx" + "X" * 140))
    [tx] = parse_coda(data).statements[0].transactions
    dd = tx.direct_debit
    assert (dd.settlement_date, dd.sequence_type, dd.scheme, dd.r_type) == (None, None, None, None)
    assert dd.reason == "XXXX"  # ISO's reason codes are an open list: a code is kept as the bank wrote it
    assert tx.amount == D("2.00")
