"""Ponto Connect's transactions as a statement: the reader of the batches the Ponto feed stores (``app/ponto``).

Ponto gives booked transactions as JSON:API resources, not files. The feed keeps what it fetched as it came
(the account resource and the raw transaction resources, one batch per account and fetch) and hands the batch
over as a file of format ``ponto``; this reader turns it into the same plain statement every other format
gives (``parsed.py``), so storing and matching are the one path.

A batch is a statement of its own with a **negative sequence** (-1, -2, ... per account): a bank numbers its
statements from 0 or 1 up, so a batch never takes a bank statement's identity, and the statements of a bank
file and of a Ponto batch tell each other apart (``twins.py``: the same payment seen both ways is one).

What Ponto's fields mean (docs/ponto.md, ../shared/ponto-api.md): amounts are JSON numbers (read exactly, as
Decimal, never as floats); dates are UTC instants of a Brussels day (a booking on 8 December arrives as
``2026-12-07T23:00:00.000Z``), so the day is taken in Europe/Brussels; ``remittanceInformationType``
``structured`` holds a Belgian OGM or an ISO 11649 RF reference, told apart by their check digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from app.identifiers.iban import IbanError, normalize_iban
from app.identifiers.references import (
    ReferenceError_,
    format_ogm,
    is_valid_ogm_digits,
    normalize_rf,
    ogm_digits,
)
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

#: The first key of every batch the feed stores: how the reader knows its bytes.
MARKER = "ponto_connect"
BRUSSELS = ZoneInfo("Europe/Brussels")
_CENT = Decimal("0.01")
_DECIMAL_TEXT = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")


class PontoTransactionError(ValueError):
    """One transaction cannot be read (a malformed amount or date): it is set aside, the others go on."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def recognises(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and f'"{MARKER}"'.encode() in head


def loads(data: bytes | str) -> Any:
    """JSON with every number read exactly: Ponto's amounts are JSON numbers, and a float would round them."""
    return json.loads(data, parse_float=Decimal)


def instant(value: Any) -> datetime | None:
    """A Ponto date-time (ISO 8601, ``Z`` for UTC; one without a zone is UTC) as an aware one; None when it is
    missing or not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def brussels_day(value: Any, what: str) -> date:
    """The Brussels day of a Ponto instant (``2026-12-07T23:00:00.000Z`` is 8 December)."""
    moment = instant(value)
    if moment is None:
        if not isinstance(value, str) or not value:
            raise PontoTransactionError(f"{what} is missing or not a date-time: {value!r}", what)
        raise PontoTransactionError(f"{what} is not an ISO 8601 date-time: {value!r}", what)
    return moment.astimezone(BRUSSELS).date()


def amount_of(value: Any, what: str = "amount") -> Decimal:
    """An amount exactly as sent, in cents: a JSON number (as Decimal, or as a float whose repr is its literal)
    or a plain decimal text."""
    if isinstance(value, bool) or value is None:
        raise PontoTransactionError(f"{what} is missing or not a number: {value!r}", what)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise PontoTransactionError(f"{what} is not a number: {value!r}", what)
        value = Decimal(value)
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, float):
        # A JSON number someone read as a float: its repr is the literal that was sent (up to 15 digits).
        value = Decimal(repr(value))
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PontoTransactionError(f"{what} is not a number: {value!r}", what)
    try:
        cents = value.quantize(_CENT)
    except InvalidOperation:
        raise PontoTransactionError(f"{what} is out of range: {value}", what) from None
    if cents != value or abs(cents) >= Decimal("1e13"):
        raise PontoTransactionError(f"{what} {value} is not an amount in cents", what)
    return cents


def _text(attributes: dict[str, Any], key: str, limit: int | None = None) -> str | None:
    value = attributes.get(key)
    if value is None or not isinstance(value, str | int | Decimal):
        return None
    text = " ".join(str(value).split())
    if not text:
        return None
    return text[:limit] if limit else text


def _reference(info: str | None, kind: str | None) -> tuple[str | None, str | None, str | None]:
    """(structured_type, content, normalised reference) of a structured remittance: OGM or RF by check digits."""
    if not info or kind != "structured":
        return None, None, None
    digits = ogm_digits(info)
    if digits is not None:
        return "101", digits, format_ogm(digits) if is_valid_ogm_digits(digits) else None
    if info.replace(" ", "")[:2].upper() == "RF":
        try:
            return "rf", info, normalize_rf(info)
        except ReferenceError_:
            return "rf", info, None
    return None, info, None


def _counterparty(attributes: dict[str, Any]) -> Counterparty:
    raw = _text(attributes, "counterpartReference")
    iban = None
    if raw:
        try:
            iban = normalize_iban(raw)
        except IbanError:
            iban = raw[:40]
    return Counterparty(name=_text(attributes, "counterpartName", 70), iban=iban, bic=None)


def _code(attributes: dict[str, Any]) -> str:
    """ISO 20022's domain, family and sub-family, written as camt.053's reader writes them (PMNT/RCDT/ESCT)."""
    code = _text(attributes, "bankTransactionCode") or ""
    return code.replace("-", "/")


def _returns(
    code: str, attributes: dict[str, Any], communication: str
) -> tuple[DirectDebit | None, TransferReturn | None]:
    """A SEPA direct debit (by its family or its mandate) and whether it is a return; a returned transfer
    (sub-family RRTN). Ponto gives no reason code: None, as camt.053 without ``RtrInf`` does."""
    mandate = _text(attributes, "mandateId", 35)
    if is_direct_debit(code, mandate):
        r_type = "return" if unpaid_direct_debit(code) else "paid"
        return (
            DirectDebit(
                settlement_date=None,
                sequence_type=None,
                scheme=direct_debit_scheme(code),
                refusal=None,
                creditor_id=_text(attributes, "creditorId", 35),
                mandate_reference=mandate,
                communication=communication,
                r_type=r_type,
                reason=None,
            ),
            None,
        )
    if returned_transfer(code):
        return None, TransferReturn("return", None)
    return None, None


def read_transaction(resource: Any, number: int) -> ParsedTransaction:
    """One booked Ponto transaction as a parsed movement; raises PontoTransactionError when it cannot be read."""
    if not isinstance(resource, dict) or not isinstance(resource.get("attributes"), dict):
        raise PontoTransactionError("not a JSON:API resource with attributes", "attributes")
    attributes: dict[str, Any] = resource["attributes"]
    ponto_id = resource.get("id")
    if not isinstance(ponto_id, str) or not ponto_id or len(ponto_id) > 40:
        raise PontoTransactionError(f"the transaction id is missing or malformed: {ponto_id!r}", "id")
    amount = amount_of(attributes.get("amount"))
    booking = brussels_day(attributes.get("executionDate") or attributes.get("valueDate"), "executionDate")
    value_day = brussels_day(attributes["valueDate"], "valueDate") if attributes.get("valueDate") else booking
    info = _text(attributes, "remittanceInformation")
    structured_type, content, reference = _reference(info, _text(attributes, "remittanceInformationType"))
    # Card and fee lines often carry no remittance: what the bank says of it stands in (as OCA's module does).
    communication = info or " ".join(
        filter(None, (_text(attributes, "description"), _text(attributes, "additionalInformation")))
    )
    end_to_end = _text(attributes, "endToEndId", 40)
    code = _code(attributes)
    direct_debit, transfer_return = _returns(code, attributes, communication)
    return ParsedTransaction(
        line=number,
        sequence=number,
        detail=0,
        kind=MovementKind.MOVEMENT,
        bank_reference=ponto_id,  # Ponto's stable id: the movement's reference in our answers
        booking_date=booking,
        value_date=value_day,
        amount=amount,
        transaction_code=code,
        communication=communication,
        structured_type=structured_type,
        structured_content=content[:200] if content else None,
        structured_reference=reference,
        counterparty=_counterparty(attributes),
        end_to_end_reference=end_to_end if end_to_end and end_to_end.upper() != "NOTPROVIDED" else None,
        customer_reference=None,
        direct_debit=direct_debit,
        transfer_return=transfer_return,
    )


def account_iban(account: Any) -> tuple[str, str]:
    """(IBAN, currency) of a Ponto account resource; raises StatementFileError when it names no IBAN."""
    attributes = account.get("attributes") if isinstance(account, dict) else None
    if not isinstance(attributes, dict):
        raise StatementFileError("the batch names no Ponto account")
    reference = attributes.get("reference")
    try:
        iban = normalize_iban(str(reference or ""))
    except IbanError:
        raise StatementFileError(f"the Ponto account's reference {reference!r} is not an IBAN") from None
    currency = attributes.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementFileError(f"the Ponto account's currency {currency!r} is not an ISO 4217 code")
    return iban, currency


def batch_bytes(account: dict[str, Any], batch: int, fetched_at: datetime, transactions: list[Any]) -> bytes:
    """What the feed stores for one fetch of one account: the resources exactly as Ponto gave them."""
    head = {"account": account, "batch": batch, "fetched_at": fetched_at.astimezone(UTC).isoformat()}
    return json.dumps({MARKER: head, "data": transactions}, default=str, separators=(",", ":")).encode()


class PontoBatchReader:
    """The reader's side of ``readers.OpenedFile`` for one stored batch."""

    encoding = "utf-8"

    def __init__(self, data: bytes) -> None:
        try:
            document = loads(data)
        except ValueError as exc:
            raise StatementFileError(f"not JSON: {exc}") from None
        head = document.get(MARKER) if isinstance(document, dict) else None
        if not isinstance(head, dict) or not isinstance(document.get("data"), list):
            raise StatementFileError("not a Ponto Connect batch")
        batch = head.get("batch")
        if not isinstance(batch, int) or batch < 1:
            raise StatementFileError(f"the batch number {batch!r} is not a positive integer")
        self.account: dict[str, Any] = head.get("account") or {}
        self.iban, self.currency = account_iban(self.account)
        self.batch = batch
        self.fetched_on = brussels_day(head.get("fetched_at"), "fetched_at") if head.get("fetched_at") else None
        self.items: list[Any] = document["data"]
        self.warnings: list[StatementWarning] = []

    def movement_records(self) -> int:
        return len(self.items)

    def statements(self) -> Iterator[ParsedStatement]:
        try:
            transactions = [read_transaction(item, number) for number, item in enumerate(self.items, start=1)]
        except PontoTransactionError as exc:  # the feed sets such items aside before storing a batch
            raise StatementFileError(exc.message) from None
        days = [t.booking_date for t in transactions]
        on = max([*days, self.fetched_on] if self.fetched_on else days or [date.today()])
        attributes = self.account.get("attributes") or {}
        moved = sum((t.amount for t in transactions), Decimal("0.00"))
        balance = attributes.get("currentBalance")
        try:
            closing = amount_of(balance, "currentBalance") if balance is not None else moved
        except PontoTransactionError as exc:
            raise StatementFileError(exc.message) from None
        yield ParsedStatement(
            line=1,
            account_number=str(attributes.get("reference")),
            account_iban=self.iban,
            currency=self.currency,
            sequence=-self.batch,
            paper_sequence=None,
            date=on,
            creation_date=self.fetched_on or on,
            opening_balance=closing - moved,
            opening_date=min(days) if days else on,
            closing_balance=closing,
            closing_date=on,
            account_holder_name=_text(attributes, "holderName", 70),
            account_description=_text(attributes, "description", 70),
            transactions=transactions,
        )
