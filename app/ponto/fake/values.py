"""The stand-in's constants (API paths, fault kinds and routes, synchronization subtypes, scopes, transaction
fields, banks) and how it checks and writes values: UTC timestamps, Belgian booking days, amounts, dates, the
transaction digest, redirect URLs."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
API = "/ponto-connect"
JSONAPI = "application/vnd.api+json"
FAULT_KINDS = ("503", "429", "timeout")
ROUTES = (
    "discovery",
    "auth",
    "token",
    "revoke",
    "userinfo",
    "accounts",
    "account",
    "transactions",
    "transaction",
    "pending",
    "pending_transaction",
    "synchronizations",
    "synchronization",
    "updated",
    "updated_pending",
    "financial_institutions",
    "reauthorization",
    "reauthorize",
    "integration",
    "keys",
    "webhooks",
)
SUBTYPES = ("accountDetails", "accountTransactions", "accountTransactionsWithUnsettled")
SCOPES = ("ai", "pi", "name", "offline_access")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
#: Control name -> JSON:API attribute name of a transaction, in the order the attributes are written.
TX_FIELDS = {
    "amount": "amount",
    "currency": "currency",
    "value_date": "valueDate",
    "execution_date": "executionDate",
    "remittance_information": "remittanceInformation",
    "remittance_information_type": "remittanceInformationType",
    "counterpart_name": "counterpartName",
    "counterpart_reference": "counterpartReference",
    "description": "description",
    "end_to_end_id": "endToEndId",
    "bank_transaction_code": "bankTransactionCode",
    "proprietary_bank_transaction_code": "proprietaryBankTransactionCode",
    "purpose_code": "purposeCode",
    "mandate_id": "mandateId",
    "creditor_id": "creditorId",
    "additional_information": "additionalInformation",
    "internal_reference": "internalReference",
    "card_reference": "cardReference",
    "card_reference_type": "cardReferenceType",
    "fee": "fee",
}
_API_TO_FIELD = {v: k for k, v in TX_FIELDS.items()}
_OPTIONAL_ONLY_WHEN_SET = ("card_reference", "card_reference_type", "fee")
#: A couple of Belgian banks; an account's bank follows its IBAN's bank code (our simplification).
FINANCIAL_INSTITUTIONS = (
    {"name": "BNP Paribas Fortis", "bic": "GEBABEBB", "prefixes": "0"},
    {"name": "ING Belgium", "bic": "BBRUBEBB", "prefixes": "3"},
    {"name": "KBC Bank", "bic": "KREDBEBB", "prefixes": "74"},
    {"name": "Belfius Bank", "bic": "GKCCBEBB", "prefixes": ""},
)
_FI_IDS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"ponto-fake:{fi['bic']}")) for fi in FINANCIAL_INSTITUTIONS]
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43,128}")
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """2026-12-07T23:00:00.000Z: UTC with milliseconds, as Ponto writes every timestamp."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def booking_day(day: date) -> str:
    """A booking day as Belgian banks send it: Brussels midnight, in UTC (23:00Z the day before in winter)."""
    return iso(datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)) or ""


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{what} must be a decimal string")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{what} is not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"{what} is not finite")
    return number


def _day(value: Any, what: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{what} must be a date (YYYY-MM-DD): {value!r}") from exc


def _moment(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{what} must be an ISO 8601 datetime: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _field_value(name: str, value: Any) -> Any:
    """A transaction field given to a control route, checked and converted."""
    if value is None:
        return None
    if name in ("amount", "fee"):
        return _decimal(value, name)
    if name in ("execution_date", "value_date"):
        return _day(value, name)
    if name == "remittance_information_type" and value not in ("structured", "unstructured"):
        raise ValueError("remittance_information_type is 'structured' or 'unstructured'")
    if name == "currency" and not re.fullmatch(r"[A-Z]{3}", str(value)):
        raise ValueError("currency is an ISO 4217 code such as EUR")
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _digest(account_id: str, fields: dict[str, Any]) -> str:
    """64 hex characters over what the bank says of the movement: identical same-day items share it."""
    amount = fields.get("amount")
    parts = [
        account_id,
        str(fields.get("execution_date")),
        str(fields.get("value_date")),
        format(amount.normalize(), "f") if isinstance(amount, Decimal) else str(amount),
        *(
            str(fields.get(name) or "")
            for name in (
                "currency",
                "counterpart_reference",
                "counterpart_name",
                "remittance_information",
                "remittance_information_type",
                "description",
                "end_to_end_id",
                "bank_transaction_code",
            )
        ),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _is_web_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
