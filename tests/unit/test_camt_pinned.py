"""What the camt.053 reader (app/statements/camt.py) chooses between, pinned with generated documents whose
fields differ where the writer's plain output has them equal: an entry without any direction, pending entries,
a creation date after the closing date, a legal sequence other than the electronic one, and a document cut
right after a complete statement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.statements.camt import CamtReader
from app.statements.camt_writer import CamtMovementSpec, CamtStatementSpec, write_camt
from app.statements.coda import parse_coda
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from app.statements.parsed import ParsedStatement, StatementFileError
from app.statements.service import _identity

IBAN = "BE80001000000177"
DAY = date(2026, 11, 20)


def read(*specs: StatementSpec) -> list[ParsedStatement]:
    return list(CamtReader(write_camt(list(specs))).statements())


def codes(st: ParsedStatement) -> list[str]:
    return [w.code for w in st.warnings]


def test_the_camt_specs_with_their_defaults_write_exactly_what_the_plain_specs_write():
    """Other tests rely on the plain output: the camt-only options change nothing until they are set."""
    movements = [
        dict(amount=Decimal("121.00"), ogm="+++090/9337/55493+++", counterparty_name="KLANT NV"),
        dict(amount=Decimal("-15.00"), communication="Huur", counterparty_iban="BE71096123456769"),
    ]
    plain = StatementSpec(IBAN, DAY, Decimal("100.00"), [MovementSpec(**m) for m in movements], sequence=7)
    camt = CamtStatementSpec(IBAN, DAY, Decimal("100.00"), [CamtMovementSpec(**m) for m in movements], sequence=7)
    assert write_camt([camt]) == write_camt([plain])
    assert camt.closing_balance == plain.closing_balance


def test_an_entry_without_any_direction_is_money_in_with_a_no_direction_warning():
    # Neither the entry nor its one TxDtls says CRDT or DBIT: the reader reads it as money in and says so.
    spec = StatementSpec(
        IBAN,
        DAY,
        Decimal("100.00"),
        [CamtMovementSpec(Decimal("25.00"), communication="zonder richting", entry_direction=False,
                          detail_direction=False)],
    )  # fmt: skip
    data = write_camt([spec])
    assert data.count(b"<CdtDbtInd>") == 2  # the two balances' only: none on the entry or its details
    [st] = list(CamtReader(data).statements())
    assert [t.amount for t in st.transactions] == [Decimal("25.00")]
    assert codes(st) == ["no_direction"]  # and no balance_mismatch: 100 + 25 is the closing 125
    assert "read as money in" in st.warnings[0].message


def test_a_pending_entry_beside_a_booked_one_gives_one_transaction():
    spec = CamtStatementSpec(
        IBAN,
        DAY,
        Decimal("100.00"),
        [
            CamtMovementSpec(Decimal("30.00"), communication="nog niet geboekt", status="PDNG"),
            CamtMovementSpec(Decimal("50.00"), communication="geboekt"),
        ],
    )
    data = write_camt([spec])
    assert data.count(b"<Cd>PDNG</Cd>") == 1 and data.count(b"<Cd>BOOK</Cd>") == 1
    [st] = list(CamtReader(data).statements())
    assert [(t.sequence, t.amount, t.communication) for t in st.transactions] == [(1, Decimal("50.00"), "geboekt")]
    assert (st.opening_balance, st.closing_balance) == (Decimal("100.00"), Decimal("150.00"))
    assert codes(st) == []  # the closing balance counts booked entries only: it adds up


def test_the_statement_date_is_the_closing_balance_date_when_the_creation_date_is_the_next_day():
    # Banks create the statement of a day the morning after: CreDtTm is the 21st, the balances are the 20th's.
    spec = CamtStatementSpec(
        IBAN, DAY, Decimal("100.00"), [MovementSpec(Decimal("10.00"))], created=datetime(2026, 11, 21, 6, 30)
    )
    data = write_camt([spec])
    assert b"<CreDtTm>2026-11-21T06:30:00</CreDtTm>" in data
    [st] = list(CamtReader(data).statements())
    assert (st.date, st.closing_date, st.creation_date) == (DAY, DAY, date(2026, 11, 21))
    # The date is part of a statement's identity: the same statement sent as CODA (record 8's new balance
    # date) is recognised as the same one only if camt.053's date is the closing date too.
    [coda] = parse_coda(write_coda([spec])).statements
    assert _identity(st) == _identity(coda)


def test_the_sequence_is_the_legal_one_when_it_differs_from_the_electronic_one():
    # A statement is known by (account, currency, sequence, date): service._identity. That is how the same
    # statement sent as CODA and as camt.053 (CodaBox delivers both) is stored once. CODA's sequence is the
    # CODA sequence number (record 1, positions 126-128); the camt writer, after Febelfin's guidelines, puts
    # that number in LglSeqNb, and the reader takes LglSeqNb for the sequence (ElctrncSeqNb only when there is
    # no LglSeqNb). ElctrncSeqNb is the bank's own electronic count, which may run on its own (here 312):
    # were it read as the sequence, the camt.053 twin of a stored CODA statement would be stored again, with
    # all its payments. The paper sequence is LglSeqNb as written; it is stored for display and is no part of
    # the identity (only the sequence is).
    spec = CamtStatementSpec(IBAN, DAY, Decimal("100.00"), [MovementSpec(Decimal("10.00"))], sequence=7,
                             electronic_sequence="312")  # fmt: skip
    data = write_camt([spec])
    assert b"<ElctrncSeqNb>312</ElctrncSeqNb><LglSeqNb>7</LglSeqNb>" in data
    [st] = list(CamtReader(data).statements())
    assert (st.sequence, st.paper_sequence) == (7, "7")
    assert codes(st) == []
    [coda] = parse_coda(write_coda([spec])).statements
    assert _identity(st) == _identity(coda) == (IBAN, "EUR", 7, DAY)


def two_statements() -> bytes:
    first = StatementSpec(IBAN, DAY, Decimal("100.00"), [MovementSpec(Decimal("10.00"), communication="een")])
    second = StatementSpec(
        IBAN, date(2026, 11, 23), first.closing_balance, [MovementSpec(Decimal("20.00"), communication="twee")],
        sequence=2,
    )  # fmt: skip
    return write_camt([first, second])


def cut_after_a_statement(data: bytes, which: int) -> bytes:
    """The document up to and with the end of its ``which``-th statement (0-based): no closing report/document."""
    end = -1
    for _ in range(which + 1):
        end = data.index(b"</Stmt>", end + 1)
    return data[: end + len(b"</Stmt>")]


@pytest.mark.parametrize("which", [0, 1], ids=["after-the-first", "after-the-last"])
def test_a_document_cut_right_after_a_complete_statement_is_refused_as_incomplete(which):
    cut = cut_after_a_statement(two_statements(), which)
    assert cut.endswith(b"</Stmt>") and b"</BkToCstmrStmt>" not in cut
    read_before_the_error: list[int] = []
    with pytest.raises(StatementFileError) as refused:
        for st in CamtReader(cut).statements():  # each whole statement is given, then the cut is found
            read_before_the_error.append(st.sequence)
    assert refused.value.incomplete is True
    assert "Premature end of data" in refused.value.message
    assert read_before_the_error == [1, 2][: which + 1]  # the caller's transaction must drop them (it does)
