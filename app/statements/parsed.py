"""Plain data for a parsed bank statement file, whatever its format: what each reader (``readers.py``: CODA in
``coda.py``, camt.053 in ``camt.py``) produces and the service stores.

No parser's types (pycoda's, lxml's) leak past this module's users: amounts are exact ``Decimal`` (signed, + is
money in), dates are ``date``, and every warning carries the 1-based line number it is about when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class MovementKind(StrEnum):
    #: An ordinary movement with no details: a leaf, exposed and matched.
    MOVEMENT = "movement"
    #: A globalisation total whose details follow: kept, never exposed as a transaction nor matched.
    TOTAL = "total"
    #: One detail of a globalisation total: a leaf, exposed and matched on its own.
    DETAIL = "detail"


@dataclass(frozen=True, slots=True)
class StatementWarning:
    """Something a person should know about a file or one of its statements; never a refusal."""

    code: str  # stable machine code, e.g. "balance_mismatch", "trailer_count", "sequence_gap"
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


class StatementFileError(ValueError):
    """The file cannot be read as its format (CODA, camt.053) at all; nothing of it may be stored."""

    def __init__(self, message: str, line: int | None = None, *, incomplete: bool = False) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.message = message
        self.line = line
        #: The file ends before it should (a cut-off download): the whole file may well come later.
        self.incomplete = incomplete


@dataclass(slots=True)
class Counterparty:
    name: str | None = None
    iban: str | None = None  # IBAN when given as IBAN or convertible Belgian BBAN; else the raw account
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class DirectDebit:
    """A SEPA direct debit's own fields, as a CODA file gives them in structured communication type 127
    (Febelfin CODA 2.6: 146 characters over records 2.1, 2.2 and 2.3).

    ``r_type`` says what the movement is: the collection itself (``paid``), or an R-transaction undoing one
    (``reject``, ``return``, ``refund``, ``reversal``, ``cancellation``), with its ISO ``reason`` (AM04, MD06...).
    Codes the standard does not list are kept as ``None`` rather than guessed.
    """

    settlement_date: date | None
    sequence_type: str | None  # recurrent | one_off | first | last
    scheme: str | None  # core | b2b
    refusal: str | None  # None when paid; else technical | unspecified | debtor_disagrees | debtor_account
    creditor_id: str | None
    mandate_reference: str | None
    communication: str
    r_type: str | None  # paid | reject | return | refund | reversal | cancellation
    reason: str | None

    @property
    def is_return(self) -> bool:
        """An R-transaction: money that a collection brought goes back (or never came)."""
        return self.r_type not in (None, "paid")

    def as_dict(self) -> dict[str, object]:
        """As stored on the transaction and shown by the API (DirectDebitPublic)."""
        return {
            "r_transaction": self.r_type,
            "reason": self.reason,
            "mandate_reference": self.mandate_reference,
            "creditor_id": self.creditor_id,
            "settlement_date": self.settlement_date.isoformat() if self.settlement_date else None,
            "sequence_type": self.sequence_type,
            "scheme": self.scheme,
            "refusal": self.refusal,
        }


@dataclass(frozen=True, slots=True)
class TransferReturn:
    """A credit transfer that came back (camt.053 ``RtrInf``, or sub-family RRTN), or a booking the bank reversed
    (``RvslInd``): money that undoes an earlier movement other than a direct debit (those say it in DirectDebit)."""

    r_type: str  # return | reversal
    reason: str | None  # the ISO reason code, as the bank wrote it (4 characters)

    def as_dict(self) -> dict[str, object]:
        """As stored on the transaction and shown by the API (TransferReturnPublic)."""
        return {"r_transaction": self.r_type, "reason": self.reason}


@dataclass(slots=True)
class ParsedTransaction:
    line: int  # line of the movement's first (2.1) record
    sequence: int  # continuous movement sequence number within the statement
    detail: int  # detail number (0 for the movement itself)
    kind: MovementKind
    bank_reference: str
    booking_date: date  # entry date
    value_date: date  # falls back to the entry date when the bank wrote 000000
    amount: Decimal  # signed: + money in
    transaction_code: str  # 8 characters: type, family, operation, category
    communication: str  # free text (continuations joined); for structured types, a readable rendering
    structured_type: str | None = None  # e.g. "101", "105", "127"; None for free communication
    structured_content: str | None = None  # the raw structured communication content
    structured_reference: str | None = None  # "+++ddd/dddd/ddddd+++" for a valid 101/102 OGM, or "RF.."
    counterparty: Counterparty = field(default_factory=Counterparty)
    end_to_end_reference: str | None = None
    customer_reference: str | None = None
    globalisation_code: int = 0
    parent_sequence: int | None = None  # for details: the sequence of their total
    direct_debit: DirectDebit | None = None  # a SEPA collection or its R-transaction
    transfer_return: TransferReturn | None = None  # a transfer that came back, a reversed booking

    @property
    def is_leaf(self) -> bool:
        return self.kind is not MovementKind.TOTAL


@dataclass(slots=True)
class ParsedStatement:
    line: int  # line of its record 1
    account_number: str  # as written in the file
    account_iban: str  # IBAN (Belgian BBAN converted); foreign non-IBAN accounts as written
    currency: str
    sequence: int  # CODA (electronic) sequence number
    paper_sequence: str | None
    date: date  # statement date: the new-balance date (record 8)
    creation_date: date
    opening_balance: Decimal
    opening_date: date
    closing_balance: Decimal
    closing_date: date
    duplicate: bool = False  # header flagged "D": a re-sent file
    bic: str | None = None
    account_holder_name: str | None = None
    #: The holder's Belgian enterprise number (``BE0123456789``) when the file names a valid one, else None.
    account_holder_number: str | None = None
    account_description: str | None = None
    transactions: list[ParsedTransaction] = field(default_factory=list)
    informations: list[str] = field(default_factory=list)
    warnings: list[StatementWarning] = field(default_factory=list)

    @property
    def leaves(self) -> list[ParsedTransaction]:
        return [t for t in self.transactions if t.is_leaf]


@dataclass(slots=True)
class ParsedFile:
    statements: list[ParsedStatement]
    encoding: str  # "utf-8", "cp1252" or "latin-1"
    warnings: list[StatementWarning] = field(default_factory=list)  # file-level (encoding, padding, garbage)
