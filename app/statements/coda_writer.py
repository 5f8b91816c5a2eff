"""Write CODA 2.x files from plain data: for tests, demos, scenario generators and benchmarks.

The layout follows Febelfin's CODA 2.x records as banks write them (0 header, 1 old balance, 2.1/2.2/2.3
movements, 8 new balance, 9 trailer), one 0..9 block per statement. Closing balances and trailer totals are
computed, so every file written here is internally consistent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.identifiers.references import ogm_digits

ZERO = Decimal("0")
_FREE_21, _FREE_22, _FREE_23 = 53, 53, 43


@dataclass
class MovementSpec:
    amount: Decimal  # signed: + is a credit (money in)
    communication: str = ""
    ogm: str | None = None  # structured communication 101 with these 12 digits (any notation)
    structured_type: str | None = None  # other structured types, with structured_content
    structured_content: str | None = None
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    booking_date: date | None = None  # default: the statement date
    value_date: date | None = None  # default: the booking date
    bank_reference: str = ""
    #: The end-to-end id the payer's or collector's instruction carried (CODA 2.2's customer reference).
    end_to_end: str = ""
    details: list[MovementSpec] = field(default_factory=list)  # non-empty: a globalisation total


@dataclass
class StatementSpec:
    account_iban: str  # a Belgian IBAN (structure 2) or a foreign IBAN (structure 3)
    date: date  # the new-balance date, also the creation date
    opening_balance: Decimal = ZERO
    movements: list[MovementSpec] = field(default_factory=list)
    sequence: int = 1
    currency: str = "EUR"
    holder_name: str = "CODARECON DEMO"
    bic: str = "GEBABEBB"
    #: The holder's Belgian enterprise number (``BE0123456789``), or None for a file that names none (zeros).
    holder_number: str | None = None

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((m.amount for m in self.movements), ZERO)


def _holder_number(number: str | None) -> str:
    """Record 0's holder field: "0" and the 10 digits of the enterprise number, or zeros."""
    return "0" + number.removeprefix("BE") if number else "0" * 11


def _d(value: date) -> str:
    return value.strftime("%d%m%y")


def _amount(value: Decimal) -> str:
    return f"{int(abs(value) * 1000):015d}"


def _sign(value: Decimal) -> str:
    return "1" if value < 0 else "0"


def _text(value: str, width: int) -> str:
    return value[:width].ljust(width)


def _account_field(iban: str, currency: str) -> tuple[str, str]:
    """Account structure code and the 37-character account + currency zone of records 1 and 8."""
    iban = iban.replace(" ", "").upper()
    if iban.startswith("BE") and len(iban) == 16:
        return "2", iban + " " * 18 + currency
    return "3", _text(iban, 34) + currency


def _chunks(text: str, widths: Sequence[int]) -> list[str]:
    out, rest = [], text
    for width in widths:
        out.append(rest[:width])
        rest = rest[width:]
    return out


def _movement_lines(m: MovementSpec, seq: int, detail: int, tx_type: int, glob: int, st: StatementSpec) -> list[str]:
    booking = m.booking_date or st.date
    value = m.value_date or booking
    family = "05" if m.structured_type == "127" else "01" if m.amount >= 0 else "13"  # 05: direct debit
    code = f"{tx_type}{family}50000"
    if m.ogm or m.structured_type:
        kind = "101" if m.ogm else (m.structured_type or "")
        content = ogm_digits(m.ogm) or "" if m.ogm else (m.structured_content or "")
        # What does not fit in 2.1 goes on in 2.2 and 2.3 (a 127 direct debit's 146 characters do).
        comm21, comm22, comm23 = "1" + kind + _text(content[:50], 50), content[50:103], content[103:146]
    else:
        c21, comm22, comm23 = _chunks(m.communication, (_FREE_21, _FREE_22, _FREE_23))
        comm21 = "0" + _text(c21, 53)
    need23 = bool(m.counterparty_iban or m.counterparty_name or comm23)
    need22 = bool(need23 or comm22 or m.counterparty_bic or m.end_to_end)
    ref = f"{seq:04d}{detail:04d}"
    bank_ref = _text(m.bank_reference or f"CRN{seq:05d}{detail:04d}", 21)
    lines = [
        f"21{ref}{bank_ref}{_sign(m.amount)}{_amount(m.amount)}{_d(value)}{code}{comm21}"
        f"{_d(booking)}{st.sequence % 1000:03d}{glob}{'1' if need22 else '0'} 0"
    ]
    if need22:
        lines.append(
            f"22{ref}{_text(comm22, 53)}{_text(m.end_to_end, 35)}{_text(m.counterparty_bic, 11)}{' ' * 16}{'1' if need23 else '0'} 0"
        )
    if need23:
        account = _text(m.counterparty_iban.replace(" ", ""), 34) + (st.currency if m.counterparty_iban else "   ")
        lines.append(f"23{ref}{account}{_text(m.counterparty_name, 35)}{_text(comm23, 43)}0 0")
    return lines


def _statement_lines(st: StatementSpec, duplicate: bool) -> Iterator[str]:
    structure, account = _account_field(st.account_iban, st.currency)
    bank_id = st.account_iban[4:7] if st.account_iban.upper().startswith("BE") else "000"
    yield (
        f"00000{_d(st.date)}{bank_id}05{'D' if duplicate else ' '}{' ' * 7}{'0' * 10}{_text(st.holder_name, 26)}"
        f"{_text(st.bic, 11)}{_holder_number(st.holder_number)} 00000{' ' * 16}{' ' * 16}{' ' * 7}2"
    )
    paper = f"{st.sequence % 1000:03d}"
    body = [
        f"1{structure}{paper}{account}{_sign(st.opening_balance)}{_amount(st.opening_balance)}{_d(st.date)}"
        f"{_text(st.holder_name, 26)}{_text('Zichtrekening', 35)}{paper}"
    ]
    debit = credit = ZERO
    for seq, m in enumerate(st.movements, start=1):
        if m.amount < 0:
            debit -= m.amount
        else:
            credit += m.amount
        if m.details:
            body += _movement_lines(m, seq, 0, 1, 1, st)
            for n, detail in enumerate(m.details, start=1):
                body += _movement_lines(detail, seq, n, 5, 0, st)
        else:
            body += _movement_lines(m, seq, 0, 0, 0, st)
    closing = st.closing_balance
    body.append(f"8{paper}{account}{_sign(closing)}{_amount(closing)}{_d(st.date)}{' ' * 64}0")
    yield from body
    yield f"9{' ' * 15}{len(body):06d}{_amount(debit)}{_amount(credit)}{' ' * 75}2"


def write_coda(
    statements: Sequence[StatementSpec], *, duplicate: bool = False, encoding: str = "latin-1", crlf: bool = False
) -> bytes:
    """One CODA file holding each statement as its own 0..9 block."""
    newline = "\r\n" if crlf else "\n"
    lines = [line for st in statements for line in _statement_lines(st, duplicate)]
    for number, line in enumerate(lines, start=1):
        if len(line) != 128:  # a writer bug, never a data problem: fail loudly
            raise AssertionError(f"record {number} is {len(line)} characters: {line!r}")
    return (newline.join(lines) + newline).encode(encoding)


def sepa_direct_debit_content(
    *,
    settlement: date,
    mandate: str,
    communication: str = "",
    creditor: str = "BE69ZZZ0123456789",
    sequence_type: str = "1",
    scheme: str = "1",
    refusal: str = "0",
    r_type: str = "0",
    reason: str = "",
) -> str:
    """Structured communication 127 (SEPA direct debit), its 146 characters: settlement date, type (1
    recurrent, 2 one-off, 3 first, 4 last), scheme (1 core, 2 B2B), paid (0) or why refused, creditor
    identifier, mandate reference, communication, type of R-transaction (0 paid, 1 reject, 2 return, 3 refund,
    4 reversal, 5 cancellation) and its reason code."""
    return (
        f"{_d(settlement)}{sequence_type}{scheme}{refusal}{_text(creditor, 35)}{_text(mandate, 35)}"
        f"{_text(communication, 62)}{r_type}{_text(reason, 4)}"
    )
