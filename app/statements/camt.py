"""Read ISO 20022 camt.053 bank-to-customer statements (the XML successor of CODA) into the same parsed
statements the CODA adapter gives, so that storing, matching and everything after is one path.

- Hardened parsing: no DTD, no entities, no network, no huge trees. A document with a DOCTYPE is refused.
- Elements are found by local name, so camt.053.001.02 to .001.14, inside a SWIFT envelope (``AppHdr`` and
  ``Document`` under one root) or not, read alike.
- ``Stmt`` becomes a statement: account (IBAN or other id) and currency; sequence from ``LglSeqNb``, else
  ``ElctrncSeqNb``; date from the closing balance; opening from ``OPBD`` or ``PRCD``, closing from ``CLBD``.
- ``Ntry`` becomes a movement (booked entries only: ``PDNG`` ones are not booked yet). An entry with several
  ``TxDtls`` is a batch: one transaction per detail, as CODA globalisation, under a total that is kept but
  never matched. The direction is the entry's own ``CdtDbtInd`` (a reversal's too; ``RvslInd`` is noted).
- References: ``CdtrRefInf`` with ``SCOR`` and issuer ``BBA`` is a Belgian OGM, ``SCOR`` alone an ISO 11649
  RF reference (check digits verified), ``Ustrd`` the communication.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from app.core.xml_names import child as _child
from app.core.xml_names import children as _children
from app.core.xml_names import local as _local
from app.core.xml_names import text as _text
from app.identifiers.iban import IbanError, normalize_iban
from app.identifiers.references import ReferenceError_, format_ogm, is_valid_ogm_digits, normalize_rf, ogm_digits
from app.identifiers.vat import enterprise_number
from app.statements.bank_codes import direct_debit_scheme, is_direct_debit, returned_transfer, unpaid_direct_debit
from app.statements.parsed import (
    Counterparty,
    DirectDebit,
    MovementKind,
    ParsedStatement,
    ParsedTransaction,
    StatementFileError,
    StatementWarning,
    TransferReturn,
)

ZERO = Decimal("0.00")
MAX_BYTES = 200 * 1024 * 1024


def _first_text(element: Any, *paths: tuple[str, ...]) -> str | None:
    for path in paths:
        found = _text(element, *path)
        if found is not None:
            return found
    return None


def _line(element: Any) -> int | None:
    return getattr(element, "sourceline", None)


def _amount(node: Any, what: str) -> Decimal:
    try:
        value = Decimal((node.text or "").strip())
    except InvalidOperation:
        raise StatementFileError(f"{what} is not an amount: {node.text!r}", _line(node)) from None
    if not value.is_finite() or value < 0:
        raise StatementFileError(f"{what} is not an amount: {node.text!r}", _line(node))
    return value


def _day(element: Any, what: str) -> date | None:
    """A ``Dt`` or ``DtTm`` child (``<Dt><Dt>2026-11-20</Dt></Dt>`` or ``<DtTm>...``) as a date."""
    return _date_of(_first_text(element, ("Dt",), ("DtTm",)), what, _line(element))


def _creation_date(stmt: Any) -> date | None:
    """The statement's ``CreDtTm`` as a date."""
    return _date_of(_text(stmt, "CreDtTm"), "the statement's creation date (CreDtTm)", _line(_child(stmt, "CreDtTm")))


def _date_of(text: str | None, what: str, line: int | None) -> date | None:
    """An ISO date or date-time as a date; one that is neither is refused by its line."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementFileError(f"{what} is not a date: {text!r}", line) from None


def _sign(indicator: str | None) -> int:
    return -1 if indicator == "DBIT" else 1


#: An entry's opening tag, with or without a namespace prefix.
_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Ntry[\s>]")


class CamtReader:
    """The statements of one camt.053 document, read one ``Stmt`` at a time (memory follows the largest
    statement, not the file); raises StatementFileError (with a line) when it cannot be read."""

    def __init__(self, data: bytes) -> None:
        self.warnings: list[StatementWarning] = []
        if len(data) > MAX_BYTES:
            raise StatementFileError(f"the camt.053 document is larger than {MAX_BYTES} bytes")
        # Entities (and their expansion bombs, or files they would read) are declared in a DOCTYPE; a bank
        # statement never has one. Refused before any parsing.
        head = data[: data.find(b">", data.find(b"<!DOCTYPE")) + 1] if b"<!DOCTYPE" in data else b""
        if head:
            raise StatementFileError(
                "a camt.053 document carries no DOCTYPE (entities are not accepted)", head.count(b"\n") + 1
            )
        self._data = data
        declared = re.match(rb"\s*(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", data)
        self.encoding = declared.group(1).decode().lower() if declared else "utf-8"

    def _fail(self, exc: etree.XMLSyntaxError) -> StatementFileError:
        # An error at the very end of the document, other than content after its end, is a cut-off download:
        # the whole file may well come later (the CodaBox sync downloads it again).
        lines = self._data.rstrip().split(b"\n")
        line, column = exc.position if exc.position else (exc.lineno or 0, 0)
        at_the_end = line >= len(lines) and column >= len(lines[-1])
        cut_off = at_the_end and "Extra content" not in (exc.msg or "")
        return StatementFileError(f"not well-formed XML: {exc.msg}", exc.lineno or 1, incomplete=cut_off)

    def movement_records(self) -> int:
        """How many entries (``Ntry``) the file holds: at most what its upload will match, known before its
        first statement is stored (counted in the bytes; the statements are parsed one at a time)."""
        return len(_ENTRY_TAG.findall(self._data))

    def _events(self, tags: tuple[str, ...] | None, events: tuple[str, ...] = ("start", "end")) -> Any:
        return etree.iterparse(
            io.BytesIO(self._data),
            events=events,
            tag=tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
        )

    def _root_line(self) -> int:
        for _event, element in self._events(None, ("start",)):
            return _line(element) or 1
        return 1

    def statements(self) -> Iterator[ParsedStatement]:
        # Events of the two elements read here only, selected by the parser: an event for every element, its
        # local name compared in Python, was a fifth of reading a large file.
        events = self._events(("{*}BkToCstmrStmt", "{*}Stmt"))
        report_line, count = None, 0
        try:
            for event, element in events:
                name = _local(element)
                if event == "start":
                    if name == "BkToCstmrStmt" and report_line is None:
                        report_line = _line(element) or 1
                    continue
                if name != "Stmt":
                    continue
                count += 1
                yield _statement(element)
                element.clear()  # done with it: the next statement starts from nothing
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            raise self._fail(exc) from None
        if report_line is None:
            raise StatementFileError(
                "not a camt.053 document: no BkToCstmrStmt (bank-to-customer statement)", self._root_line()
            )
        if count == 0:
            raise StatementFileError("the camt.053 document holds no Stmt (statement)", report_line)


def _account(stmt: Any) -> tuple[str, str, str | None]:
    account = _child(stmt, "Acct")
    if account is None:
        raise StatementFileError("a statement without its account (Acct)", _line(stmt))
    raw = _first_text(account, ("Id", "IBAN"), ("Id", "Othr", "Id"))
    if raw is None:
        raise StatementFileError("a statement without its account id (Acct/Id)", _line(account))
    try:
        iban = normalize_iban(raw)
    except IbanError:
        iban = raw  # a foreign, non-IBAN account: as written
    bic = _first_text(account, ("Svcr", "FinInstnId", "BIC"), ("Svcr", "FinInstnId", "BICFI"))
    return raw, iban, bic


def _holder_number(stmt: Any, iban: str) -> str | None:
    """The owner's Belgian enterprise number (Acct/Ownr/Id/OrgId/Othr/Id), read only for a Belgian account:
    another country's organisation id can pass the Belgian check digits by chance."""
    if not iban.startswith("BE"):
        return None
    for other in _children(_child(stmt, "Acct", "Ownr", "Id", "OrgId"), "Othr"):
        number = enterprise_number(_text(other, "Id"))
        if number is not None:
            return number
    return None


def _balances(stmt: Any) -> dict[str, tuple[Decimal, date | None, str | None, int | None]]:
    out: dict[str, tuple[Decimal, date | None, str | None, int | None]] = {}
    for balance in _children(stmt, "Bal"):
        code = _first_text(balance, ("Tp", "CdOrPrtry", "Cd"), ("Tp", "CdOrPrtry", "Prtry"))
        amount_node = _child(balance, "Amt")
        if code is None or amount_node is None:
            continue
        amount = _amount(amount_node, f"balance {code}") * _sign(_text(balance, "CdtDbtInd"))
        out.setdefault(
            code, (amount, _day(_child(balance, "Dt"), f"balance {code} date"), amount_node.get("Ccy"), _line(balance))
        )
    return out


def _statement(stmt: Any) -> ParsedStatement:
    line = _line(stmt) or 1
    raw_account, iban, bic = _account(stmt)
    balances = _balances(stmt)
    warnings: list[StatementWarning] = []
    currency = _text(stmt, "Acct", "Ccy") or next((c for _, _, c, _ in balances.values() if c), None) or "EUR"
    sequence_text = _text(stmt, "LglSeqNb") or _text(stmt, "ElctrncSeqNb")
    if sequence_text and sequence_text.isdigit():
        sequence = int(sequence_text)
    else:
        # No number to know the statement by: its Id (stable when the bank sends it again) stands in.
        statement_id = _text(stmt, "Id") or ""
        sequence = zlib.crc32(statement_id.encode()) % 1_000_000 if statement_id else 0
        warnings.append(
            StatementWarning(
                "no_sequence",
                f"the statement has no LglSeqNb or ElctrncSeqNb: it is known by its Id {statement_id!r}",
                line,
            )
        )
    created = _creation_date(stmt)
    opening = balances.get("OPBD") or balances.get("PRCD")
    closing = balances.get("CLBD")
    statement_date = (closing[1] if closing else None) or created
    if statement_date is None:
        raise StatementFileError("a statement without a closing balance date or creation date", line)
    transactions = _entries(stmt, statement_date, warnings)
    booked = sum((t.amount for t in transactions if t.kind is not MovementKind.DETAIL), ZERO)
    if opening is None or closing is None:
        missing = " and ".join(
            n for n, b in (("opening (OPBD/PRCD)", opening), ("closing (CLBD)", closing)) if b is None
        )
        warnings.append(StatementWarning("missing_balance", f"the statement has no {missing} balance", line))
    opening_amount = opening[0] if opening else (closing[0] - booked if closing else ZERO)
    closing_amount = closing[0] if closing else opening_amount + booked
    if opening and closing and opening_amount + booked != closing_amount:
        warnings.append(
            StatementWarning(
                "balance_mismatch",
                f"opening {opening_amount} plus the entries ({booked}) is {opening_amount + booked}, "
                f"not the closing balance {closing_amount}",
                closing[3],
            )
        )
    return ParsedStatement(
        line=line,
        account_number=raw_account,
        account_iban=iban,
        currency=currency,
        sequence=sequence,
        paper_sequence=_text(stmt, "LglSeqNb"),
        date=statement_date,
        creation_date=created or statement_date,
        opening_balance=opening_amount,
        opening_date=(opening[1] if opening else None) or statement_date,
        closing_balance=closing_amount,
        closing_date=statement_date,
        bic=bic,
        account_holder_name=_text(stmt, "Acct", "Ownr", "Nm"),
        account_holder_number=_holder_number(stmt, iban),
        transactions=transactions,
        warnings=warnings,
    )


def _entries(stmt: Any, statement_date: date, warnings: list[StatementWarning]) -> list[ParsedTransaction]:
    out: list[ParsedTransaction] = []
    undated: list[int | None] = []
    sequence = 0
    for entry in _children(stmt, "Ntry"):
        status = _first_text(entry, ("Sts", "Cd"), ("Sts",))
        if status in ("PDNG", "INFO"):  # not booked (yet): not a movement of this statement
            continue
        sequence += 1
        amount_node = _child(entry, "Amt")
        if amount_node is None:
            raise StatementFileError("an entry without its amount (Amt)", _line(entry))
        indicator = _text(entry, "CdtDbtInd")
        details = [d for group in _children(entry, "NtryDtls") for d in _children(group, "TxDtls")]
        if indicator is None:
            indicator = next((_text(d, "CdtDbtInd") for d in details if _text(d, "CdtDbtInd")), None)
            warnings.append(
                StatementWarning("no_direction", "an entry without CdtDbtInd: read as money in" if indicator is None
                            else "an entry without CdtDbtInd: its details' direction is used", _line(entry))
            )  # fmt: skip
        sign = _sign(indicator)
        amount = _amount(amount_node, "entry amount") * sign
        booking = _day(_child(entry, "BookgDt"), "booking date") or _day(_child(entry, "ValDt"), "value date")
        if booking is None:
            booking = statement_date
            undated.append(_line(entry))
        value = _day(_child(entry, "ValDt"), "value date") or booking
        base = {
            "line": _line(entry) or 0,
            "sequence": sequence,
            "booking_date": booking,
            "value_date": value,
            "transaction_code": _code(entry),
            "bank_reference": _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef") or "",
        }
        reversal = (_text(entry, "RvslInd") or "").lower() == "true"
        if len(details) <= 1:
            out.append(
                _transaction(
                    base, entry, details[0] if details else None, amount, sign, MovementKind.MOVEMENT, 0, reversal
                )
            )
            continue
        out.append(
            ParsedTransaction(
                **base, detail=0, kind=MovementKind.TOTAL, amount=amount, communication="", globalisation_code=1
            )
        )
        parts = [
            _transaction(
                base, entry, detail, _detail_amount(detail, amount, sign), sign, MovementKind.DETAIL, n, reversal
            )
            for n, detail in enumerate(details, start=1)
        ]
        for part in parts:
            part.parent_sequence = sequence
        if sum((p.amount for p in parts), ZERO) != amount:
            warnings.append(
                StatementWarning(
                    "batch_mismatch",
                    f"the {len(parts)} details of entry {sequence} come to {sum((p.amount for p in parts), ZERO)}, "
                    f"not its {amount}",
                    _line(entry),
                )
            )
        out.extend(parts)
    if undated:
        warnings.append(
            StatementWarning(
                "no_booking_date",
                f"{len(undated)} entries have no BookgDt or ValDt: booked on the statement date",
                undated[0],
            )
        )
    return out


def _detail_amount(detail: Any, entry_amount: Decimal, entry_sign: int) -> Decimal:
    candidates = (("Amt",), ("AmtDtls", "TxAmt", "Amt"), ("AmtDtls", "InstdAmt", "Amt"))
    node = next((n for n in (_child(detail, *path) for path in candidates) if n is not None), None)
    if node is None:
        return entry_amount
    sign = _sign(_text(detail, "CdtDbtInd")) if _text(detail, "CdtDbtInd") else entry_sign
    return _amount(node, "transaction detail amount") * sign


def _code(entry: Any) -> str:
    code = _child(entry, "BkTxCd")
    domain = _text(code, "Domn", "Cd")
    family = _text(code, "Domn", "Fmly", "Cd")
    sub = _text(code, "Domn", "Fmly", "SubFmlyCd")
    if domain and family and sub:
        return f"{domain}/{family}/{sub}"
    return _text(code, "Prtry", "Cd") or ""


def _transaction(
    base: dict[str, Any],
    entry: Any,
    detail: Any,
    amount: Decimal,
    sign: int,
    kind: MovementKind,
    number: int,
    reversal: bool,
) -> ParsedTransaction:
    source = detail if detail is not None else entry
    money_in = amount >= 0
    party, account, agent = ("Dbtr", "DbtrAcct", "DbtrAgt") if money_in else ("Cdtr", "CdtrAcct", "CdtrAgt")
    parties = _child(source, "RltdPties")
    name = _first_text(parties, (party, "Nm"), (party, "Pty", "Nm"))
    raw_account = _first_text(parties, (account, "Id", "IBAN"), (account, "Id", "Othr", "Id"))
    counter_iban = None
    if raw_account:
        try:
            counter_iban = normalize_iban(raw_account)
        except IbanError:
            counter_iban = raw_account
    bic = _first_text(_child(source, "RltdAgts"), (agent, "FinInstnId", "BIC"), (agent, "FinInstnId", "BICFI"))
    remittance = _child(source, "RmtInf")
    unstructured = " ".join(t.text.strip() for t in _children(remittance, "Ustrd") if t.text and t.text.strip())
    structured_type, structured_content, reference = _creditor_reference(remittance)
    communication = unstructured or (reference or structured_content or "")
    if reversal:
        communication = f"{communication} (reversal)".strip()
    end_to_end = _text(source, "Refs", "EndToEndId")
    direct_debit = _direct_debit(source, base["transaction_code"], communication, reversal)
    transfer_return = None if direct_debit else _transfer_return(source, base["transaction_code"], reversal)
    return ParsedTransaction(
        **base,
        detail=number,
        kind=kind,
        amount=amount,
        communication=communication,
        structured_type=structured_type,
        structured_content=structured_content,
        structured_reference=reference,
        counterparty=Counterparty(name=name, iban=counter_iban, bic=bic),
        end_to_end_reference=end_to_end if end_to_end and end_to_end != "NOTPROVIDED" else None,
        customer_reference=_text(source, "Refs", "InstrId"),
        globalisation_code=1 if kind is MovementKind.DETAIL else 0,
        direct_debit=direct_debit,
        transfer_return=transfer_return,
    )


def _transfer_return(source: Any, code: str, reversal: bool) -> TransferReturn | None:
    """A movement that undoes an earlier one other than a direct debit: a transfer returned (``RtrInf``, or the
    sub-family RRTN) with its reason, or a booking reversed (``RvslInd``)."""
    returned = _child(source, "RtrInf")
    if returned is None and not reversal and not returned_transfer(code):
        return None
    reason = _first_text(returned, ("Rsn", "Cd"), ("Rsn", "Prtry"))
    return TransferReturn("reversal" if reversal else "return", reason[:4] if reason else None)


def _direct_debit(source: Any, code: str, communication: str, reversal: bool) -> DirectDebit | None:
    """A SEPA direct debit, by its bank transaction code (PMNT/IDDT/... or PMNT/RDDT/...) or its mandate: the
    collection, or its return (``RtrInf``, or a sub-family UPDD: reversal due to a return or an unpaid direct
    debit) or reversal (``RvslInd``). camt.053 has no settlement date or sequence type of its own."""
    mandate = _text(source, "Refs", "MndtId")
    if not is_direct_debit(code, mandate):
        return None
    returned = _child(source, "RtrInf")
    reason = _first_text(returned, ("Rsn", "Cd"), ("Rsn", "Prtry"))
    parties = _child(source, "RltdPties")
    creditor = _first_text(
        parties, ("Cdtr", "Id", "PrvtId", "Othr", "Id"), ("Cdtr", "Pty", "Id", "PrvtId", "Othr", "Id")
    )
    r_type = "reversal" if reversal else "return" if returned is not None or unpaid_direct_debit(code) else "paid"
    return DirectDebit(
        settlement_date=None,
        sequence_type=None,
        scheme=direct_debit_scheme(code),
        refusal=None,
        creditor_id=creditor,
        mandate_reference=mandate[:35] if mandate else None,
        communication=communication,
        r_type=r_type,
        reason=reason[:4] if reason else None,
    )


def _creditor_reference(remittance: Any) -> tuple[str | None, str | None, str | None]:
    """(structured_type, content, normalised reference) of the first creditor reference in ``RmtInf/Strd``."""
    for structured in _children(remittance, "Strd"):
        info = _child(structured, "CdtrRefInf")
        ref = _text(info, "Ref")
        if ref is None:
            continue
        code = _text(info, "Tp", "CdOrPrtry", "Cd")
        issuer = _text(info, "Tp", "Issr")
        if code == "SCOR" and issuer == "BBA":
            digits = ogm_digits(ref)
            if digits and is_valid_ogm_digits(digits):
                return "101", digits, format_ogm(digits)
            # Not a valid OGM: kept, not trusted. Its twelve digits, in whatever notation the bank wrote them,
            # are what the matcher reads as a possible typo (as it does a CODA 101's content).
            return "101", digits or ref, None
        if code == "SCOR":
            try:
                return "rf", ref, normalize_rf(ref)
            except ReferenceError_:
                return "rf", ref, None
        return None, ref, None
    return None, None, None
