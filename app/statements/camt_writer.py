"""Write camt.053.001.08 statements from the same plain data as the CODA writer (``StatementSpec``), the way
Febelfin's XML statement guidelines lay out what CODA carries: the OGM as ``CdtrRefInf`` with ``SCOR`` and
issuer ``BBA``, free text as ``Ustrd``, the CODA sequence as ``LglSeqNb``, a globalisation as one entry with
one ``TxDtls`` per detail. For tests, demos and scenario generators: the same payments in both formats.

Plain ``StatementSpec`` and ``MovementSpec`` write what CODA can say, and nothing else: creation time at the
statement date's midnight, equal ``ElctrncSeqNb`` and ``LglSeqNb``, booked entries with their direction. What
the camt.053 reader chooses between, and CODA cannot say, comes from ``CamtStatementSpec`` and
``CamtMovementSpec``: a ``CreDtTm`` other than the closing date, an electronic sequence other than the legal
one (or either left out), ``PRCD`` for the opening balance, pending entries, entries or details without
``CdtDbtInd``, entries without ``BookgDt``. Their defaults write exactly what the plain specs write."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.identifiers.references import ogm_digits
from app.statements.coda import sepa_direct_debit
from app.statements.coda_writer import ZERO, MovementSpec, StatementSpec
from app.statements.parsed import DirectDebit

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

#: Entry statuses that are not booked: left out of the closing balance (and of what the reader stores).
NOT_BOOKED = ("PDNG", "INFO")


@dataclass
class CamtMovementSpec(MovementSpec):
    """A movement with what camt.053 says beyond CODA. Also usable as a detail of a batch (then only
    ``detail_direction`` counts)."""

    #: The entry's ``Sts/Cd``: ``BOOK``, or ``PDNG`` (pending) / ``INFO``, which are not booked yet.
    status: str = "BOOK"
    #: False: the entry (``Ntry``) has no ``CdtDbtInd``.
    entry_direction: bool = True
    #: False: this movement's ``TxDtls`` (its own one, or this detail's) has no ``CdtDbtInd``.
    detail_direction: bool = True
    #: False: the entry has no ``BookgDt`` (only its ``ValDt``).
    booking_date_written: bool = True
    #: A transfer that came back: the ISO reason its ``RtrInf`` gives (sub-family RRTN); None: not a return.
    return_reason: str | None = None


@dataclass
class CamtStatementSpec(StatementSpec):
    """A statement with what camt.053 says beyond CODA; the closing balance counts booked entries only."""

    #: The statement's ``CreDtTm`` (and the group header's, for the document's first statement); None: the
    #: statement date at midnight.
    created: datetime | None = None
    #: ``ElctrncSeqNb`` as written; None: the sequence (modulo 1000, as CODA's three digits); "": left out.
    electronic_sequence: str | None = None
    #: ``LglSeqNb`` as written; None: the sequence (modulo 1000); "": left out.
    legal_sequence: str | None = None
    #: The opening balance's code: ``OPBD``, or ``PRCD`` (the previous closing) as some banks write it.
    opening_code: str = "OPBD"

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((m.amount for m in self.movements if _booked(m)), ZERO)


def _booked(m: MovementSpec) -> bool:
    return getattr(m, "status", "BOOK") not in NOT_BOOKED


def _closing(st: StatementSpec) -> Decimal:
    if all(_booked(m) for m in st.movements):
        return st.closing_balance
    return st.opening_balance + sum((m.amount for m in st.movements if _booked(m)), ZERO)


def _created(st: StatementSpec) -> str:
    created: datetime | None = getattr(st, "created", None)
    return created.isoformat(timespec="seconds") if created else f"{st.date.isoformat()}T00:00:00"


def _e(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(parent: ET.Element, value: Decimal, currency: str, direction: bool = True) -> None:
    _e(parent, "Amt", f"{abs(value):.2f}", Ccy=currency)
    if direction:
        _e(parent, "CdtDbtInd", "DBIT" if value < 0 else "CRDT")


def _balance(stmt: ET.Element, code: str, value: Decimal, day: str, currency: str) -> None:
    balance = _e(stmt, "Bal")
    _e(_e(_e(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, value, currency)
    _e(_e(balance, "Dt"), "Dt", day)


def _sequence(stmt: ET.Element, tag: str, written: str | None, sequence: int) -> None:
    if written is None:
        _e(stmt, tag, str(sequence % 1000))
    elif written:
        _e(stmt, tag, written)


def _direct_debit(m: MovementSpec) -> DirectDebit | None:
    """A movement written as a CODA 127 communication is a SEPA direct debit in camt.053 too."""
    return sepa_direct_debit(m.structured_content or "") if m.structured_type == "127" else None


def _bank_code(m: MovementSpec) -> tuple[str, str] | None:
    """(family, sub-family) of ``PMNT``: a collection the company issued (IDDT: ESDD core, BBDD B2B; UPDD when it
    came back), or a transfer returned to it (RCDT/RRTN)."""
    debit = _direct_debit(m)
    if debit is None:
        return ("RCDT", "RRTN") if getattr(m, "return_reason", None) else None
    return "IDDT", "UPDD" if debit.is_return else "BBDD" if debit.scheme == "b2b" else "ESDD"


def _details(entry: ET.Element, m: MovementSpec, currency: str) -> None:
    tx = _e(entry, "TxDtls")
    debit = _direct_debit(m)
    if m.end_to_end or debit:
        refs = _e(tx, "Refs")
        if m.end_to_end:
            _e(refs, "EndToEndId", m.end_to_end)
        if debit and debit.mandate_reference:
            _e(refs, "MndtId", debit.mandate_reference)
    _amount(tx, m.amount, currency, getattr(m, "detail_direction", True))
    if m.counterparty_name or m.counterparty_iban:
        parties = _e(tx, "RltdPties")
        # As banks write it (the Dutch reversal in ../shared/camt-samples): money out names the counterparty as
        # creditor, a returned collection's debtor too.
        party, account = ("Dbtr", "DbtrAcct") if m.amount >= 0 else ("Cdtr", "CdtrAcct")
        if m.counterparty_name:
            _e(_e(_e(parties, party), "Pty"), "Nm", m.counterparty_name)
        if m.counterparty_iban:
            _e(_e(_e(parties, account), "Id"), "IBAN", m.counterparty_iban)
    if m.counterparty_bic:
        agent = "DbtrAgt" if m.amount >= 0 else "CdtrAgt"
        _e(_e(_e(_e(tx, "RltdAgts"), agent), "FinInstnId"), "BICFI", m.counterparty_bic)
    digits = ogm_digits(m.ogm) if m.ogm else None
    text = debit.communication if debit else m.communication
    if digits or text:
        remittance = _e(tx, "RmtInf")
        if text:
            _e(remittance, "Ustrd", text)
        if digits:
            info = _e(_e(remittance, "Strd"), "CdtrRefInf")
            kind = _e(info, "Tp")
            _e(_e(kind, "CdOrPrtry"), "Cd", "SCOR")
            _e(kind, "Issr", "BBA")
            _e(info, "Ref", digits)
    reason = debit.reason if debit and debit.is_return else getattr(m, "return_reason", None)
    if reason:
        _e(_e(_e(tx, "RtrInf"), "Rsn"), "Cd", reason)


def write_camt(statements: Sequence[StatementSpec]) -> bytes:
    ET.register_namespace("", NS)
    document = ET.Element(f"{{{NS}}}Document")
    report = _e(document, "BkToCstmrStmt")
    header = _e(report, "GrpHdr")
    _e(header, "MsgId", "CODARECON-" + "-".join(f"{st.sequence}" for st in statements)[:30])
    _e(header, "CreDtTm", _created(statements[0]) if statements else "2026-01-01T00:00:00")
    for st in statements:
        stmt = _e(report, "Stmt")
        _e(stmt, "Id", f"{st.account_iban}-{st.date.isoformat()}-{st.sequence}")
        _sequence(stmt, "ElctrncSeqNb", getattr(st, "electronic_sequence", None), st.sequence)
        _sequence(stmt, "LglSeqNb", getattr(st, "legal_sequence", None), st.sequence)
        _e(stmt, "CreDtTm", _created(st))
        account = _e(stmt, "Acct")
        _e(_e(account, "Id"), "IBAN", st.account_iban)
        _e(account, "Ccy", st.currency)
        owner = _e(account, "Ownr")
        _e(owner, "Nm", st.holder_name)
        if st.holder_number:
            _e(_e(_e(_e(owner, "Id"), "OrgId"), "Othr"), "Id", st.holder_number.removeprefix("BE"))
        _e(_e(_e(account, "Svcr"), "FinInstnId"), "BICFI", st.bic)
        opening_code = getattr(st, "opening_code", "OPBD")
        _balance(stmt, opening_code, st.opening_balance, st.date.isoformat(), st.currency)
        _balance(stmt, "CLBD", _closing(st), st.date.isoformat(), st.currency)
        for number, m in enumerate(st.movements, start=1):
            entry = _e(stmt, "Ntry")
            _amount(entry, m.amount, st.currency, getattr(m, "entry_direction", True))
            debit = _direct_debit(m)
            if debit and debit.r_type == "reversal":
                _e(entry, "RvslInd", "true")
            _e(_e(entry, "Sts"), "Cd", getattr(m, "status", "BOOK"))
            booking = m.booking_date or st.date
            if getattr(m, "booking_date_written", True):
                _e(_e(entry, "BookgDt"), "Dt", booking.isoformat())
            _e(_e(entry, "ValDt"), "Dt", (m.value_date or booking).isoformat())
            _e(entry, "AcctSvcrRef", m.bank_reference or f"CRN{number:05d}{0:04d}")
            code = _bank_code(m)
            if code:
                domain = _e(_e(entry, "BkTxCd"), "Domn")
                _e(domain, "Cd", "PMNT")
                family = _e(domain, "Fmly")
                _e(family, "Cd", code[0])
                _e(family, "SubFmlyCd", code[1])
            details = _e(entry, "NtryDtls")
            for part in m.details or [m]:
                _details(details, part, st.currency)
    return ET.tostring(document, encoding="UTF-8", xml_declaration=True)
