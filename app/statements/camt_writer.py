"""Write camt.053.001.08 statements from the same plain data as the CODA writer (``StatementSpec``), the way
Febelfin's XML statement guidelines lay out what CODA carries: the OGM as ``CdtrRefInf`` with ``SCOR`` and
issuer ``BBA``, free text as ``Ustrd``, the CODA sequence as ``LglSeqNb``, a globalisation as one entry with
one ``TxDtls`` per detail. For tests, demos and scenario generators: the same payments in both formats."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal

from app.references import ogm_digits
from app.statements.coda_writer import MovementSpec, StatementSpec

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _e(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(parent: ET.Element, value: Decimal, currency: str) -> None:
    _e(parent, "Amt", f"{abs(value):.2f}", Ccy=currency)
    _e(parent, "CdtDbtInd", "DBIT" if value < 0 else "CRDT")


def _balance(stmt: ET.Element, code: str, value: Decimal, day: str, currency: str) -> None:
    balance = _e(stmt, "Bal")
    _e(_e(_e(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, value, currency)
    _e(_e(balance, "Dt"), "Dt", day)


def _details(entry: ET.Element, m: MovementSpec, currency: str) -> None:
    tx = _e(entry, "TxDtls")
    _amount(tx, m.amount, currency)
    if m.counterparty_name or m.counterparty_iban:
        parties = _e(tx, "RltdPties")
        party, account = ("Dbtr", "DbtrAcct") if m.amount >= 0 else ("Cdtr", "CdtrAcct")
        if m.counterparty_name:
            _e(_e(_e(parties, party), "Pty"), "Nm", m.counterparty_name)
        if m.counterparty_iban:
            _e(_e(_e(parties, account), "Id"), "IBAN", m.counterparty_iban)
    if m.counterparty_bic:
        agent = "DbtrAgt" if m.amount >= 0 else "CdtrAgt"
        _e(_e(_e(_e(tx, "RltdAgts"), agent), "FinInstnId"), "BICFI", m.counterparty_bic)
    digits = ogm_digits(m.ogm) if m.ogm else None
    if digits or m.communication:
        remittance = _e(tx, "RmtInf")
        if m.communication:
            _e(remittance, "Ustrd", m.communication)
        if digits:
            info = _e(_e(remittance, "Strd"), "CdtrRefInf")
            kind = _e(info, "Tp")
            _e(_e(kind, "CdOrPrtry"), "Cd", "SCOR")
            _e(kind, "Issr", "BBA")
            _e(info, "Ref", digits)


def write_camt(statements: Sequence[StatementSpec]) -> bytes:
    ET.register_namespace("", NS)
    document = ET.Element(f"{{{NS}}}Document")
    report = _e(document, "BkToCstmrStmt")
    header = _e(report, "GrpHdr")
    _e(header, "MsgId", "CODARECON-" + "-".join(f"{st.sequence}" for st in statements)[:30])
    first = statements[0].date.isoformat() if statements else "2026-01-01"
    _e(header, "CreDtTm", f"{first}T00:00:00")
    for st in statements:
        stmt = _e(report, "Stmt")
        _e(stmt, "Id", f"{st.account_iban}-{st.date.isoformat()}-{st.sequence}")
        _e(stmt, "ElctrncSeqNb", str(st.sequence % 1000))
        _e(stmt, "LglSeqNb", str(st.sequence % 1000))
        _e(stmt, "CreDtTm", f"{st.date.isoformat()}T00:00:00")
        account = _e(stmt, "Acct")
        _e(_e(account, "Id"), "IBAN", st.account_iban)
        _e(account, "Ccy", st.currency)
        owner = _e(account, "Ownr")
        _e(owner, "Nm", st.holder_name)
        if st.holder_number:
            _e(_e(_e(_e(owner, "Id"), "OrgId"), "Othr"), "Id", st.holder_number.removeprefix("BE"))
        _e(_e(_e(account, "Svcr"), "FinInstnId"), "BICFI", st.bic)
        _balance(stmt, "OPBD", st.opening_balance, st.date.isoformat(), st.currency)
        _balance(stmt, "CLBD", st.closing_balance, st.date.isoformat(), st.currency)
        for number, m in enumerate(st.movements, start=1):
            entry = _e(stmt, "Ntry")
            _amount(entry, m.amount, st.currency)
            _e(_e(entry, "Sts"), "Cd", "BOOK")
            booking = m.booking_date or st.date
            _e(_e(entry, "BookgDt"), "Dt", booking.isoformat())
            _e(_e(entry, "ValDt"), "Dt", (m.value_date or booking).isoformat())
            _e(entry, "AcctSvcrRef", m.bank_reference or f"CRN{number:05d}{0:04d}")
            details = _e(entry, "NtryDtls")
            for part in m.details or [m]:
                _details(details, part, st.currency)
    return ET.tostring(document, encoding="UTF-8", xml_declaration=True)
