"""A local stand-in for Ponto Connect (Ibanity's bank-data API for partners), with fault injection, so a Ponto
client can be built and tested offline: `serve_fake()` (default http://127.0.0.1:8766), or in-process with
`create_fake_ponto_app(state)`.

From public evidence (../shared/ponto-api.md, which cites Ibanity's official SDKs and their JSON fixtures):

- the routes under ``/ponto-connect``, the nested discovery document of URI templates at ``GET /ponto-connect``,
  OAuth2 authorization code + PKCE (S256) with HTTP Basic client authentication, ``expires_in`` 1799, refresh
  tokens only with ``offline_access`` and rotated on every refresh, revocation by ``POST /oauth2/revoke`` or
  ``DELETE /organizations/{id}/integration`` (client-credentials token), plain-JSON token, userinfo and RFC 6749
  error bodies;
- JSON:API documents (``application/vnd.api+json``): UUID ids, UTC timestamps with milliseconds and ``Z``, amounts
  as JSON numbers, per-resource ``meta`` on accounts (availability, synchronizedAt, latestSynchronization),
  ``{"errors": [{"code", "detail", "meta": {"requestId"}}]}`` errors and an ``ibanity-request-id`` header;
- cursor paging: ``page[limit]`` (default 10, 1..100), ``page[before]``/``page[after]`` by resource id (bare
  ``limit``/``before``/``after`` accepted too), newest first by Ponto's creation order, ``links.first`` always,
  ``links.next``/``links.prev`` only when there is an older/newer page, ``meta.paging`` with the edge cursors
  (null on the side that has no more);
- synchronizations (pending -> running -> success or error), the 400 ``accountRecentlySynchronized`` of a second
  one of the same subtype too soon, pending items refreshed only by ``accountTransactionsWithUnsettled``, the
  ``updated-transactions`` of a synchronization, consent of about 90 days and reauthorization requests;
- Belgian banks give a booking day as local midnight, so day 2026-12-08 arrives as ``2026-12-07T23:00:00.000Z``;
  ``digest`` may be equal for identical same-day transactions;
- webhooks: a JSON:API single resource per event, signed by a ``Signature`` JWT (RS512, app.ponto.signature),
  keys at ``GET /webhooks/keys`` and ``GET /webhooks`` -> ``links.keys``.

Our assumptions and stand-in conveniences (not from the sources): the cool-down length (``cooldown_seconds``,
default 300 s; every created synchronization counts, failed ones too); ``sync_steps`` (how many GETs a
synchronization takes; with 0 it is done when created; `complete_synchronizations()` finishes all pending ones,
for clients that wait for webhooks rather than poll); the auto-approving ``/oauth2/auth`` on the API host and its
``organization`` query parameter; codes single-use for 10 min, a failed code_verifier does not burn the code;
refresh tokens never expire and a reused one is refused without revoking the rest; a cursor id that names no
item of the list is a 400, ``page[before]`` with ``page[after]`` too; an empty page has no next/prev links; the
error codes ``validationError``, ``resourceNotFound``, ``serviceUnavailable`` and ``tooManyRequests``; a revoked
consent fails synchronizations with ``authorizationInvalid``, a lapsed one with ``authorizationExpired``; the
balance moves with booked items and is shown after an ``accountDetails`` synchronization; the digest's inputs;
``integration.created``/``.revoked`` webhooks for every activation/revocation; webhooks are sent once, in order,
from one background thread, without retries. No mTLS, and optional ``Digest``/``Signature`` request headers
are accepted and ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import html
import json
import queue
import re
import secrets
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ponto.signature import jwk_of, sign_webhook

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


@dataclass
class FakeOrganization:
    id: str
    name: str
    account_ids: list[str] = field(default_factory=list)
    integration_id: str | None = None  # None: no active integration with our application


@dataclass
class FakeAccount:
    id: str
    organization_id: str
    iban: str
    currency: str
    holder_name: str
    description: str
    product: str
    financial_institution_id: str
    internal_reference: str
    bank_balance: Decimal  # what the bank holds now
    shown_balance: Decimal  # what the API shows (refreshed by an accountDetails synchronization)
    balance_changed_at: datetime
    authorized_at: datetime
    expires_at: datetime  # authorizationExpirationExpectedAt
    consent_revoked: bool = False
    availability: str = "available"
    synchronized_at: datetime | None = None


@dataclass
class FakeTransaction:
    """One movement: what the bank holds (``fields``/``raw``, ``version``) and what Ponto shows (``shown_*``),
    copied over by a successful synchronization."""

    id: str
    account_id: str
    pending: bool
    fields: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    seq: int | None = None  # Ponto's creation order; None until a synchronization brought it in
    shown_fields: dict[str, Any] = field(default_factory=dict)
    shown_raw: dict[str, Any] = field(default_factory=dict)
    shown_version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    settled: bool = False  # pending only: booked at the bank, leaves the list at the next WithUnsettled sync
    gone: bool = False  # pending only: left the list
    booked_as: str | None = None  # pending only: the booked transaction the bank made of it


@dataclass
class FakeToken:
    value: str
    kind: str  # access | refresh
    client: bool  # a client-credentials token
    organization_id: str | None
    integration_id: str | None
    scope: str
    expires_at: datetime | None
    revoked: bool = False


@dataclass
class FakeCode:
    value: str
    organization_id: str
    integration_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires_at: datetime
    used: bool = False


@dataclass
class FakeSynchronization:
    id: str
    account_id: str
    organization_id: str
    subtype: str
    status: str
    created_at: datetime
    updated_at: datetime
    steps_left: int
    customer_ip: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    updated_transactions: list[str] = field(default_factory=list)  # created or changed by it
    updated_pending: list[str] = field(default_factory=list)


class FakeError(Exception):
    """A JSON:API error answer of the stand-in's real-API routes."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **meta: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.meta = status, code, detail, headers, meta


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class FakePontoState:
    client_id: str = "codarecon-sandbox"
    client_secret: str = "sandbox-secret"
    application_id: str = "8d4a5b4e-0000-4000-8000-00000000a001"
    cooldown_seconds: float = 300
    access_token_seconds: int = 1799
    code_seconds: int = 600
    consent_days: int = 90
    sync_steps: int = 1
    slow_seconds: float = 3.0
    webhook_url: str | None = None
    webhook_transport: httpx.BaseTransport | None = None  # tests: an httpx.MockTransport
    webhook_timeout: float = 5.0
    signing_key: RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), repr=False
    )
    signing_kid: str = "sandbox_events_signature_1"
    clock: Callable[[], datetime] = _utcnow  # UTC-aware; tests shift it (see advance)
    organizations: dict[str, FakeOrganization] = field(default_factory=dict)
    accounts: dict[str, FakeAccount] = field(default_factory=dict)
    transactions: dict[str, FakeTransaction] = field(default_factory=dict)  # booked and pending, bank order
    synchronizations: dict[str, FakeSynchronization] = field(default_factory=dict)
    tokens: dict[str, FakeToken] = field(default_factory=dict)
    codes: dict[str, FakeCode] = field(default_factory=dict)
    reauthorizations: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> request
    next_authorization: str | None = None  # the organization /oauth2/auth approves for
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: list[dict[str, Any]] = field(default_factory=list)  # real-API requests: method, path, query
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # every event: type, status, body, url, error
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _latest_organization: str | None = field(default=None, repr=False)
    _last_sync: dict[tuple[str, str], datetime] = field(default_factory=dict, repr=False)
    _seq: int = field(default=0, repr=False)
    _outbox: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _worker: threading.Thread | None = field(default=None, repr=False)
    _flight: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _in_flight: int = field(default=0, repr=False)

    # -- time ------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def advance(self, seconds: float) -> datetime:
        """Move the stand-in's clock forward (cool-downs, token and code expiry, consent lapse)."""
        base = self.clock
        self.clock = lambda: base() + timedelta(seconds=seconds)
        return self.clock()

    # -- the bank and the organizations (control) --------------------------------------------------------------

    def add_organization(self, name: str, accounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """An organization in Ponto with its bank accounts: {"organization_id", "accounts": [{"id", "iban"}]}."""
        with self.lock:
            organization = FakeOrganization(id=str(uuid.uuid4()), name=str(name or "Organization"))
            made = [self._new_account(organization, spec) for spec in accounts or []]
            self.organizations[organization.id] = organization
            for account in made:
                self.accounts[account.id] = account
                organization.account_ids.append(account.id)
            self._latest_organization = organization.id
            return {"organization_id": organization.id, "accounts": [{"id": a.id, "iban": a.iban} for a in made]}

    def _new_account(self, organization: FakeOrganization, spec: dict[str, Any]) -> FakeAccount:
        iban = re.sub(r"\s+", "", str(spec.get("iban", ""))).upper()
        if not _IBAN.fullmatch(iban):
            raise ValueError(f"not an IBAN: {spec.get('iban')!r}")
        currency = _field_value("currency", spec.get("currency") or "EUR")
        balance = _decimal(spec.get("balance", "0.00"), "balance")
        now = self.clock()
        fi = next(
            i
            for i, bank in enumerate(FINANCIAL_INSTITUTIONS)
            if not iban.startswith("BE") or iban[4:7].startswith(bank["prefixes"])
        )
        expires = spec.get("authorization_expires_at")
        return FakeAccount(
            id=str(uuid.uuid4()),
            organization_id=organization.id,
            iban=iban,
            currency=currency,
            holder_name=str(spec.get("holder_name") or organization.name),
            description=str(spec.get("description") or "Business current account"),
            product=str(spec.get("product") or "Business account"),
            financial_institution_id=_FI_IDS[fi],
            internal_reference=str(uuid.uuid4()),
            bank_balance=balance,
            shown_balance=balance,
            balance_changed_at=now,
            authorized_at=now,
            expires_at=_moment(expires, "authorization_expires_at")
            if expires
            else now + timedelta(days=self.consent_days),
        )

    def set_next_authorization(self, organization_id: str) -> None:
        with self.lock:
            if organization_id not in self.organizations:
                raise KeyError(organization_id)
            self.next_authorization = organization_id

    def add_transaction(self, account_id: str, spec: dict[str, Any]) -> str:
        """A movement at the bank; booked ones show after the next accountTransactions* synchronization,
        pending ones after the next accountTransactionsWithUnsettled one. The id the API will show."""
        spec = dict(spec)
        pending = bool(spec.pop("pending", False))
        raw = spec.pop("raw", None) or {}
        if not isinstance(raw, dict):
            raise ValueError("raw must be an object of attribute overrides")
        unknown = sorted(set(spec) - set(TX_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields: {unknown}")
        if spec.get("amount") is None:
            raise ValueError("amount is required")
        with self.lock:
            account = self.accounts.get(account_id)
            if account is None:
                raise KeyError(account_id)
            fields = {name: _field_value(name, value) for name, value in spec.items()}
            fields.setdefault("execution_date", self.clock().astimezone(BRUSSELS).date())
            if fields.get("value_date") is None:
                fields["value_date"] = fields["execution_date"]
            if fields.get("currency") is None:
                fields["currency"] = account.currency
            if fields.get("remittance_information") and not fields.get("remittance_information_type"):
                fields["remittance_information_type"] = "unstructured"
            tx = FakeTransaction(id=str(uuid.uuid4()), account_id=account_id, pending=pending, fields=fields, raw=raw)
            self.transactions[tx.id] = tx
            if not pending:
                account.bank_balance += fields["amount"]
            return tx.id

    def book_pending(
        self, pending_id: str, *, execution_date: str | date | None = None, amount: str | Decimal | None = None
    ) -> str:
        """The bank books a pending movement: a new booked transaction (new id) shows at the next transactions
        synchronization, and the pending one leaves the list at the next WithUnsettled one."""
        with self.lock:
            pending = self.transactions.get(pending_id)
            if pending is None or not pending.pending:
                raise KeyError(pending_id)
            if pending.settled:
                raise ValueError("this pending transaction was already booked")
            fields = dict(pending.fields)
            if execution_date is not None:
                fields["execution_date"] = _day(execution_date, "execution_date")
            if amount is not None:
                fields["amount"] = _decimal(amount, "amount")
            booked = FakeTransaction(
                id=str(uuid.uuid4()), account_id=pending.account_id, pending=False, fields=fields, raw=dict(pending.raw)
            )
            self.transactions[booked.id] = booked
            pending.settled, pending.booked_as = True, booked.id
            self.accounts[pending.account_id].bank_balance += fields["amount"]
            return booked.id

    def update_transaction(self, transaction_id: str, overrides: dict[str, Any]) -> None:
        """The bank changes a movement (control names, API attribute names, or "raw" overrides); the change shows,
        and is listed by updated-transactions, after the next synchronization that refreshes it."""
        overrides = dict(overrides)
        raw = overrides.pop("raw", None) or {}
        if not isinstance(raw, dict):
            raise ValueError("raw must be an object of attribute overrides")
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            name = key if key in TX_FIELDS else _API_TO_FIELD.get(key)
            if name is None:
                raise ValueError(f"unknown field: {key}")
            changes[name] = _field_value(name, value)
        if changes.get("amount", 0) is None:
            raise ValueError("amount cannot be removed")
        with self.lock:
            tx = self.transactions.get(transaction_id)
            if tx is None:
                raise KeyError(transaction_id)
            if "amount" in changes and not tx.pending:
                self.accounts[tx.account_id].bank_balance += changes["amount"] - tx.fields["amount"]
            tx.fields.update(changes)
            tx.raw.update(raw)
            tx.version += 1

    def set_consent(self, account_id: str, *, expires_at: Any = None, revoked: bool | None = None) -> None:
        """Move the account's consent end (authorizationExpirationExpectedAt), or revoke it at the bank."""
        with self.lock:
            account = self.accounts.get(account_id)
            if account is None:
                raise KeyError(account_id)
            if expires_at is not None:
                account.expires_at = _moment(expires_at, "expires_at")
            if revoked is not None:
                account.consent_revoked = bool(revoked)

    def revoke_integration(self, organization_id: str) -> bool:
        """The integration ends (as the user revoking it in Ponto): every token of it stops working."""
        with self.lock:
            organization = self.organizations.get(organization_id)
            if organization is None:
                raise KeyError(organization_id)
            return self._revoke(organization)

    def _revoke(self, organization: FakeOrganization) -> bool:
        if organization.integration_id is None:
            return False
        for token in self.tokens.values():
            if token.integration_id == organization.integration_id:
                token.revoked = True
        organization.integration_id = None
        self._emit("pontoConnect.integration.revoked", {}, {"organization": organization.id})
        return True

    def _activate(self, organization: FakeOrganization) -> str:
        if organization.integration_id is None:
            organization.integration_id = str(uuid.uuid4())
            self._emit("pontoConnect.integration.created", {}, {"organization": organization.id})
        return organization.integration_id

    def issue_token(self, organization_id: str | None = None, scope: str = "offline_access ai") -> dict[str, Any]:
        """Tokens for an organization without the browser step (in-process tests of a client)."""
        with self.lock:
            organization = self.organizations[organization_id or self._latest_organization or ""]
            return self._issue(organization.id, self._activate(organization), scope)

    def _issue(self, organization_id: str | None, integration_id: str | None, scope: str, *, client: bool = False):
        now = self.clock()
        access = FakeToken(
            value=secrets.token_urlsafe(32),
            kind="access",
            client=client,
            organization_id=organization_id,
            integration_id=integration_id,
            scope=scope,
            expires_at=now + timedelta(seconds=self.access_token_seconds),
        )
        self.tokens[access.value] = access
        answer: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": self.access_token_seconds,
            "scope": scope,
            "token_type": "bearer",
        }
        if not client and "offline_access" in scope.split():
            refresh = FakeToken(
                value=secrets.token_urlsafe(32),
                kind="refresh",
                client=False,
                organization_id=organization_id,
                integration_id=integration_id,
                scope=scope,
                expires_at=None,
            )
            self.tokens[refresh.value] = refresh
            answer["refresh_token"] = refresh.value
        return answer

    def _live(self, value: str, kind: str) -> FakeToken | None:
        token = self.tokens.get(value)
        if token is None or token.kind != kind or token.revoked:
            return None
        if token.expires_at is not None and token.expires_at <= self.clock():
            return None
        if not token.client:
            organization = self.organizations.get(token.organization_id or "")
            if organization is None or organization.integration_id != token.integration_id:
                return None
        return token

    # -- faults, logs ------------------------------------------------------------------------------------------

    def inject(self, route: str, kind: str, count: int = 1) -> None:
        if route not in ROUTES or kind not in FAULT_KINDS:
            raise ValueError(f"route in {ROUTES}, kind in {FAULT_KINDS}")
        with self.lock:
            self.faults[route].extend([kind] * count)

    def next_fault(self, route: str) -> str | None:
        with self.lock:
            self.calls[route] += 1
            waiting = self.faults.get(route)
            return waiting.pop(0) if waiting else None

    def log_request(self, method: str, path: str, query: dict[str, str]) -> None:
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query})

    def request_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.requests]

    def webhook_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(w) for w in self.webhooks]

    # -- synchronizations ----------------------------------------------------------------------------------------

    def _create_synchronization(
        self, organization_id: str, account_id: str, subtype: str, customer_ip: str | None
    ) -> FakeSynchronization:
        account = self.accounts.get(account_id)
        if account is None or account.organization_id != organization_id:
            raise FakeError(404, "resourceNotFound", "The account was not found.", resource="account")
        now = self.clock()
        last = self._last_sync.get((account_id, subtype))
        if last is not None and (now - last).total_seconds() < self.cooldown_seconds:
            raise FakeError(
                400,
                "accountRecentlySynchronized",
                "A synchronization of this type was created for this account a short while ago; try again later.",
            )
        self._last_sync[(account_id, subtype)] = now
        sync = FakeSynchronization(
            id=str(uuid.uuid4()),
            account_id=account_id,
            organization_id=organization_id,
            subtype=subtype,
            status="pending",
            created_at=now,
            updated_at=now,
            steps_left=self.sync_steps,
            customer_ip=customer_ip,
        )
        self.synchronizations[sync.id] = sync
        if self.sync_steps <= 0:
            self._complete(sync)
        return sync

    def _advance_synchronization(self, sync: FakeSynchronization) -> None:
        if sync.status not in ("pending", "running"):
            return
        sync.steps_left -= 1
        if sync.steps_left <= 0:
            self._complete(sync)
        else:
            sync.status, sync.updated_at = "running", self.clock()

    def complete_synchronizations(self) -> int:
        """Finish every unfinished synchronization now (for clients that wait for webhooks); how many."""
        with self.lock:
            waiting = [s for s in self.synchronizations.values() if s.status in ("pending", "running")]
            for sync in waiting:
                self._complete(sync)
            return len(waiting)

    def _make_visible(self, tx: FakeTransaction, now: datetime) -> None:
        self._seq += 1
        tx.seq, tx.created_at, tx.updated_at = self._seq, now, now
        self._show(tx)

    def _show(self, tx: FakeTransaction) -> None:
        tx.shown_fields, tx.shown_raw, tx.shown_version = dict(tx.fields), dict(tx.raw), tx.version

    def _complete(self, sync: FakeSynchronization) -> None:
        now = self.clock()
        account = self.accounts[sync.account_id]
        sync.updated_at = now
        relationships = {
            "account": account.id,
            "synchronization": sync.id,
            "organization": account.organization_id,
        }
        if account.consent_revoked or now >= account.expires_at:
            code, detail = (
                ("authorizationInvalid", "The authorization for this account was revoked; ask for a reauthorization.")
                if account.consent_revoked
                else ("authorizationExpired", "The authorization for this account has expired; ask to reauthorize.")
            )
            sync.status, sync.errors = "error", [{"code": code, "detail": detail, "meta": {}}]
            self._emit("pontoConnect.synchronization.failed", {"synchronizationSubtype": sync.subtype}, relationships)
            return
        sync.status = "success"
        account.synchronized_at = now
        events: list[tuple[str, int]] = []
        if sync.subtype == "accountDetails":
            if account.shown_balance != account.bank_balance:
                account.shown_balance, account.balance_changed_at = account.bank_balance, now
                self._emit("pontoConnect.account.detailsUpdated", {}, relationships)
                events.append(("details", 1))
        else:
            created = updated = created_pending = updated_pending = removed = 0
            for tx in [t for t in self.transactions.values() if t.account_id == account.id]:
                if not tx.pending:
                    if tx.seq is None:
                        self._make_visible(tx, now)
                        created += 1
                    elif tx.version != tx.shown_version:
                        self._show(tx)
                        tx.updated_at = now
                        updated += 1
                    else:
                        continue
                    sync.updated_transactions.append(tx.id)
                elif sync.subtype == "accountTransactionsWithUnsettled" and not tx.gone:
                    if tx.settled:
                        tx.gone = True
                        removed += tx.seq is not None
                        continue
                    if tx.seq is None:
                        self._make_visible(tx, now)
                        created_pending += 1
                    elif tx.version != tx.shown_version:
                        self._show(tx)
                        tx.updated_at = now
                        updated_pending += 1
                    else:
                        continue
                    sync.updated_pending.append(tx.id)
            for event, count in (
                ("transactionsCreated", created),
                ("transactionsUpdated", updated),
                ("pendingTransactionsCreated", created_pending),
                ("pendingTransactionsUpdated", updated_pending),
            ):
                if count:
                    self._emit(f"pontoConnect.account.{event}", {"count": count}, relationships)
                    events.append((event, count))
            if removed:
                events.append(("pendingRemoved", removed))
        if not events:
            self._emit(
                "pontoConnect.synchronization.succeededWithoutChange",
                {"synchronizationSubtype": sync.subtype},
                relationships,
            )

    def _latest(self, account_id: str, subtypes: tuple[str, ...]) -> tuple[FakeSynchronization | None, datetime | None]:
        """The latest finished synchronization of these subtypes, and when the latest successful one ended."""
        finished = [
            s
            for s in self.synchronizations.values()
            if s.account_id == account_id and s.subtype in subtypes and s.status in ("success", "error")
        ]
        latest = max(finished, key=lambda s: s.updated_at, default=None)
        succeeded = [s.updated_at for s in finished if s.status == "success"]
        return latest, max(succeeded, default=None)

    # -- reauthorization -------------------------------------------------------------------------------------------

    def _reauthorize(self, token: str) -> str | None:
        request = self.reauthorizations.get(token)
        if request is None or request["used"]:
            return None
        request["used"] = True
        account = self.accounts[request["account_id"]]
        now = self.clock()
        account.authorized_at, account.expires_at = now, now + timedelta(days=self.consent_days)
        account.consent_revoked = False
        self._emit(
            "pontoConnect.account.reauthorized", {}, {"account": account.id, "organization": account.organization_id}
        )
        return request["redirect_uri"]

    # -- webhooks ----------------------------------------------------------------------------------------------------

    def set_webhook_target(self, url: str | None) -> None:
        with self.lock:
            self.webhook_url = url or None

    def signed_webhook(
        self, type: str, attributes: dict[str, Any] | None = None, relationships: dict[str, Any] | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body as Ponto sends it, and its headers (Content-Type, Signature). Relationships map a name
        to an id (type = the name) or to a {"type", "id"} or {"data": ...} object."""
        related: dict[str, Any] = {}
        for name, value in (relationships or {}).items():
            if isinstance(value, dict):
                related[name] = value if "data" in value else {"data": value}
            else:
                related[name] = {"data": {"type": name, "id": str(value)}}
        now = self.clock()
        payload = {
            "data": {
                "type": type,
                "id": str(uuid.uuid4()),
                "attributes": {"createdAt": iso(now), **(attributes or {})},
                "relationships": related,
            }
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = sign_webhook(
            body, self.signing_key, kid=self.signing_kid, audience=self.application_id, iat=int(now.timestamp())
        )
        return body, {"Content-Type": "application/json", "Signature": signature}

    def _emit(self, type: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> None:
        """Record an event (lock held) and, if a target is set, queue its delivery."""
        body, headers = self.signed_webhook(type, attributes, relationships)
        entry = {"type": type, "status": None, "body": json.loads(body), "url": self.webhook_url, "error": None}
        self.webhooks.append(entry)
        if self.webhook_url is None:
            return
        with self._flight:
            self._in_flight += 1
        self._outbox.put((entry, self.webhook_url, body, headers))
        with self._flight:
            if self._worker is None:  # one sender at a time keeps the events in order
                self._worker = threading.Thread(target=self._deliver, name="fake-ponto-webhooks", daemon=True)
                self._worker.start()

    def _deliver(self) -> None:
        """Send queued webhooks one by one; the thread ends after a second without work."""
        while True:
            try:
                entry, url, body, headers = self._outbox.get(timeout=1.0)
            except queue.Empty:
                with self._flight:
                    if self._outbox.empty():  # _emit puts before it looks at _worker: nothing is stranded
                        self._worker = None
                        return
                continue
            status, error = None, None
            try:
                with httpx.Client(transport=self.webhook_transport, timeout=self.webhook_timeout) as client:
                    status = client.post(url, content=body, headers=headers).status_code
            except Exception as exc:  # a target that is down never stops the stand-in
                error = f"{type(exc).__name__}: {exc}"
            with self.lock:
                entry["status"], entry["error"] = status, error
            with self._flight:
                self._in_flight -= 1
                self._flight.notify_all()

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False if some are still in flight after ``timeout``."""
        with self._flight:
            return self._flight.wait_for(lambda: self._in_flight == 0, timeout=timeout)


# -- JSON:API documents --------------------------------------------------------------------------------------------


def _sync_resource(sync: FakeSynchronization, api: str, *, embedded: bool = False) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "resourceType": "account",
        "resourceId": sync.account_id,
        "subtype": sync.subtype,
        "status": sync.status,
        "errors": sync.errors,
        "createdAt": iso(sync.created_at),
        "updatedAt": iso(sync.updated_at),
    }
    if sync.customer_ip:
        attributes["customerIpAddress"] = sync.customer_ip
    resource: dict[str, Any] = {"type": "synchronization", "id": sync.id, "attributes": attributes}
    if not embedded:
        base = f"{api}/synchronizations/{sync.id}"
        resource["relationships"] = {
            "updatedTransactions": {
                "links": {"related": f"{base}/updated-transactions", "meta": {"type": "transaction"}}
            },
            "updatedPendingTransactions": {
                "links": {"related": f"{base}/updated-pending-transactions", "meta": {"type": "pendingTransaction"}}
            },
        }
    return resource


def _account_resource(state: FakePontoState, account: FakeAccount, api: str) -> dict[str, Any]:
    latest, _ = state._latest(account.id, SUBTYPES)
    changed = iso(account.balance_changed_at)
    base = f"{api}/accounts/{account.id}"
    return {
        "type": "account",
        "id": account.id,
        "attributes": {
            "subtype": "checking",
            "referenceType": "IBAN",
            "reference": account.iban,
            "product": account.product,
            "internalReference": account.internal_reference,
            "holderName": account.holder_name,
            "description": account.description,
            "deprecated": False,
            "currency": account.currency,
            "currentBalance": float(account.shown_balance),
            "currentBalanceChangedAt": changed,
            "currentBalanceReferenceDate": changed,
            "availableBalance": float(account.shown_balance),
            "availableBalanceChangedAt": changed,
            "availableBalanceReferenceDate": changed,
            "authorizedAt": iso(account.authorized_at),
            "authorizationExpirationExpectedAt": iso(account.expires_at),
        },
        "relationships": {
            "transactions": {"links": {"related": f"{base}/transactions", "meta": {"type": "transaction"}}},
            "pendingTransactions": {
                "links": {"related": f"{base}/pending-transactions", "meta": {"type": "pendingTransaction"}}
            },
            "financialInstitution": {
                "links": {"related": f"{api}/financial-institutions/{account.financial_institution_id}"},
                "data": {"type": "financialInstitution", "id": account.financial_institution_id},
            },
        },
        "meta": {
            "availability": account.availability,
            "synchronizedAt": iso(account.synchronized_at),
            "latestSynchronization": _sync_resource(latest, api, embedded=True) if latest else None,
        },
        "links": {"self": base},
    }


def _transaction_resource(tx: FakeTransaction, api: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for name, api_name in TX_FIELDS.items():
        value = tx.shown_fields.get(name)
        if value is None and name in _OPTIONAL_ONLY_WHEN_SET:
            continue
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = booking_day(value)
        attributes[api_name] = value
    attributes["digest"] = _digest(tx.account_id, tx.shown_fields)
    attributes["createdAt"] = iso(tx.created_at)
    attributes["updatedAt"] = iso(tx.updated_at)
    attributes.update(tx.shown_raw)
    return {
        "type": "pendingTransaction" if tx.pending else "transaction",
        "id": tx.id,
        "attributes": attributes,
        "relationships": {
            "account": {
                "links": {"related": f"{api}/accounts/{tx.account_id}"},
                "data": {"type": "account", "id": tx.account_id},
            }
        },
    }


def _fi_resource(index: int) -> dict[str, Any]:
    bank = FINANCIAL_INSTITUTIONS[index]
    return {
        "type": "financialInstitution",
        "id": _FI_IDS[index],
        "attributes": {
            "name": bank["name"],
            "bic": bank["bic"],
            "country": "BE",
            "status": "stable",
            "deprecated": False,
            "timeZone": "Europe/Brussels",
            "maintenanceType": None,
            "maintenanceFrom": None,
            "maintenanceTo": None,
            "paymentsEnabled": False,
            "bulkPaymentsEnabled": False,
            "periodicPaymentsEnabled": False,
            "futureDatedPaymentsAllowed": False,
        },
    }


# -- the app -------------------------------------------------------------------------------------------------------


def create_fake_ponto_app(state: FakePontoState | None = None) -> FastAPI:
    state = state or FakePontoState()
    app = FastAPI(title="fake Ponto Connect", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = state

    @app.middleware("http")
    async def envelope(request: Request, call_next):
        request.state.request_id = str(uuid.uuid4())
        path = request.scope["path"]
        if len(path) > 1 and path.endswith("/"):  # the SDKs fill "{accountId}" with "" and call ".../accounts/"
            request.scope["path"] = path = path.rstrip("/") or "/"
        if not path.startswith("/_fake"):
            state.log_request(request.method, path, dict(request.query_params))
        response = await call_next(request)
        response.headers["ibanity-request-id"] = request.state.request_id
        return response

    def request_id(request: Request) -> str:
        return getattr(request.state, "request_id", None) or str(uuid.uuid4())

    def error_response(request: Request, exc: FakeError) -> JSONResponse:
        error = {"code": exc.code, "detail": exc.detail, "meta": {"requestId": request_id(request), **exc.meta}}
        return JSONResponse({"errors": [error]}, exc.status, headers=exc.headers, media_type=JSONAPI)

    @app.exception_handler(FakeError)
    async def on_fake_error(request: Request, exc: FakeError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(OAuthError)
    async def on_oauth_error(request: Request, exc: OAuthError) -> Response:
        headers = {"Cache-Control": "no-store"}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ponto-connect"'
        return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_fake"):
            return JSONResponse({"detail": exc.detail}, exc.status_code)
        code = {404: "resourceNotFound", 405: "methodNotAllowed"}.get(exc.status_code, "invalidRequest")
        return error_response(request, FakeError(exc.status_code, code, str(exc.detail)))

    def jsonapi(body: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(body, status, media_type=JSONAPI)

    def api_base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + API

    async def guard(request: Request, route: str) -> None:
        fault = state.next_fault(route)
        if fault == "503":
            raise FakeError(503, "serviceUnavailable", "The service is temporarily unavailable.")
        if fault == "429":
            raise FakeError(429, "tooManyRequests", "Too many requests.", headers={"Retry-After": "1"})
        if fault == "timeout":
            await asyncio.sleep(state.slow_seconds)

    def bearer(request: Request, *, client: bool = False) -> FakeToken:
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header[:7].lower() == "bearer " else ""
        with state.lock:
            token = state._live(value, "access") if value else None
        if token is None or token.client != client:
            raise FakeError(401, "invalidAccessToken", "Your access token is invalid.")
        return token

    def own_account(token: FakeToken, account_id: str) -> FakeAccount:
        account = state.accounts.get(account_id)
        if account is None or account.organization_id != token.organization_id:
            raise FakeError(404, "resourceNotFound", "The account was not found.", resource="account")
        return account

    def page_params(request: Request) -> tuple[int, str | None, str | None]:
        query = request.query_params

        def param(name: str) -> str | None:
            return query.get(f"page[{name}]", query.get(name))

        raw_limit = param("limit")
        try:
            limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_LIMIT:
            raise FakeError(
                400, "validationError", f"page[limit] must be an integer from 1 to {MAX_LIMIT}.", parameter="limit"
            )
        before, after = param("before"), param("after")
        if before and after:
            raise FakeError(400, "validationError", "Use page[before] or page[after], not both.")
        return limit, before or None, after or None

    def page(
        request: Request, ordered: list[tuple[int, str, Any]], positions: dict[str, int]
    ) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        """Cursor paging over ``ordered`` ((key, id, item), highest key first = newest first): the page's items,
        its links and meta.paging. ``positions`` holds the key of every id a cursor may name."""
        limit, before, after = page_params(request)
        cursor = before or after
        if cursor is not None and cursor not in positions:
            raise FakeError(400, "validationError", f"The cursor {cursor!r} names no item of this list.")
        if after is not None:
            chosen = [e for e in ordered if e[0] < positions[after]][:limit]
        elif before is not None:
            chosen = [e for e in ordered if e[0] > positions[before]][-limit:]
        else:
            chosen = ordered[:limit]
        newer = bool(chosen) and any(e[0] > chosen[0][0] for e in ordered)
        older = bool(chosen) and any(e[0] < chosen[-1][0] for e in ordered)
        url = str(request.url.replace(query=""))
        links = {"first": f"{url}?{urlencode({'page[limit]': limit})}"}
        if older:
            links["next"] = f"{url}?{urlencode({'page[limit]': limit, 'page[after]': chosen[-1][1]})}"
        if newer:
            links["prev"] = f"{url}?{urlencode({'page[limit]': limit, 'page[before]': chosen[0][1]})}"
        paging = {
            "limit": limit,
            "before": chosen[0][1] if newer else None,
            "after": chosen[-1][1] if older else None,
        }
        return [e[2] for e in chosen], links, paging

    def transaction_list(
        request: Request,
        items: list[FakeTransaction],
        known: list[FakeTransaction],
        account_id: str,
        subtypes: tuple[str, ...],
    ) -> JSONResponse:
        """A page of transactions (newest first by Ponto's creation order); ``known`` also holds the ids that
        left the list (settled pending items), which a cursor may still name."""
        api = api_base(request)
        ordered = sorted(((t.seq or 0, t.id, t) for t in items), key=lambda e: e[0], reverse=True)
        chosen, links, paging = page(request, ordered, {t.id: t.seq or 0 for t in known})
        latest, synchronized_at = state._latest(account_id, subtypes)
        meta = {
            "paging": paging,
            "synchronizedAt": iso(synchronized_at),
            "latestSynchronization": _sync_resource(latest, api, embedded=True) if latest else None,
        }
        return jsonapi({"data": [_transaction_resource(t, api) for t in chosen], "links": links, "meta": meta})

    # -- discovery, OAuth2 ---------------------------------------------------------------------------------------

    @app.get(API)
    async def discovery(request: Request) -> Response:
        await guard(request, "discovery")
        api = api_base(request)
        return jsonapi(
            {
                "links": {
                    "accounts": f"{api}/accounts/{{accountId}}",
                    "account": {
                        "transactions": f"{api}/accounts/{{accountId}}/transactions/{{transactionId}}",
                        "pendingTransactions": (
                            f"{api}/accounts/{{accountId}}/pending-transactions/{{pendingTransactionId}}"
                        ),
                        "reauthorizationRequests": f"{api}/accounts/{{accountId}}/reauthorization-requests",
                    },
                    "synchronizations": f"{api}/synchronizations/{{synchronizationId}}",
                    "synchronization": {
                        "updatedTransactions": f"{api}/synchronizations/{{synchronizationId}}/updated-transactions",
                        "updatedPendingTransactions": (
                            f"{api}/synchronizations/{{synchronizationId}}/updated-pending-transactions"
                        ),
                    },
                    "financialInstitutions": f"{api}/financial-institutions/{{financialInstitutionId}}",
                    "oauth2": {"token": f"{api}/oauth2/token", "revoke": f"{api}/oauth2/revoke"},
                    "userinfo": f"{api}/userinfo",
                    "organizations": {"integration": f"{api}/organizations/{{organizationId}}/integration"},
                }
            }
        )

    def bad_page(message: str) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><h1>Bad request</h1><p>{html.escape(message)}</p>", 400)

    @app.get("/oauth2/auth")
    async def authorize(request: Request) -> Response:
        """The browser step (authorization host in reality); approves at once for an organization."""
        await guard(request, "auth")
        q = request.query_params
        if q.get("client_id") != state.client_id:
            return bad_page("Unknown client_id.")
        redirect_uri = q.get("redirect_uri")
        if not _is_web_url(redirect_uri):
            return bad_page("redirect_uri must be an absolute http(s) URL.")
        assert redirect_uri is not None
        client_state = q.get("state")

        def refuse(error: str, description: str) -> Response:
            params = {"error": error, "error_description": description}
            if client_state:
                params["state"] = client_state
            return RedirectResponse(_with_query(redirect_uri, params), 302)

        if q.get("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be 'code'.")
        if not client_state:
            return refuse("invalid_request", "state is required.")
        if q.get("code_challenge_method") != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256.")
        challenge = q.get("code_challenge") or ""
        if not _CHALLENGE.fullmatch(challenge):
            return refuse("invalid_request", "code_challenge is missing or malformed.")
        scopes = (q.get("scope") or "").split()
        if "ai" not in scopes or any(s not in SCOPES for s in scopes):
            return refuse("invalid_scope", f"scope must include 'ai' and only {' '.join(SCOPES)}.")
        with state.lock:
            organization_id = q.get("organization") or state.next_authorization or state._latest_organization
            organization = state.organizations.get(organization_id or "")
            if organization is None:
                return refuse("access_denied", "No such organization to authorize (seed one under /_fake/).")
            code = FakeCode(
                value=secrets.token_urlsafe(32),
                organization_id=organization.id,
                integration_id=state._activate(organization),
                redirect_uri=redirect_uri,
                challenge=challenge,
                scope=" ".join(scopes),
                expires_at=state.clock() + timedelta(seconds=state.code_seconds),
            )
            state.codes[code.value] = code
        return RedirectResponse(_with_query(redirect_uri, {"code": code.value, "state": client_state}), 302)

    def client_authenticated(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            raise OAuthError(401, "invalid_client", "HTTP Basic client authentication is required.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, binascii.Error) as exc:
            raise OAuthError(401, "invalid_client", "Malformed Basic credentials.") from exc
        client_id, _, secret = decoded.partition(":")
        if unquote_plus(client_id) != state.client_id or not secrets.compare_digest(
            unquote_plus(secret).encode(), state.client_secret.encode()
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed.")

    async def form(request: Request) -> dict[str, str]:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise OAuthError(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
        return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))

    @app.post(f"{API}/oauth2/token")
    async def token(request: Request) -> Response:
        await guard(request, "token")
        client_authenticated(request)
        params = await form(request)
        grant = params.get("grant_type")
        with state.lock:
            if grant == "authorization_code":
                for name in ("code", "redirect_uri", "code_verifier"):
                    if not params.get(name):
                        raise OAuthError(400, "invalid_request", f"{name} is required.")
                code = state.codes.get(params["code"])
                if code is None or code.used or code.expires_at <= state.clock():
                    raise OAuthError(400, "invalid_grant", "The authorization code is invalid, used or expired.")
                if params["redirect_uri"] != code.redirect_uri:
                    raise OAuthError(400, "invalid_grant", "redirect_uri differs from the authorization request's.")
                verifier = params["code_verifier"]
                if not _VERIFIER.fullmatch(verifier):
                    raise OAuthError(400, "invalid_request", "code_verifier is malformed (RFC 7636).")
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not secrets.compare_digest(computed, code.challenge):
                    raise OAuthError(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
                organization = state.organizations[code.organization_id]
                if organization.integration_id != code.integration_id:
                    raise OAuthError(400, "invalid_grant", "The integration was revoked.")
                code.used = True
                answer = state._issue(organization.id, code.integration_id, code.scope)
            elif grant == "refresh_token":
                if not params.get("refresh_token"):
                    raise OAuthError(400, "invalid_request", "refresh_token is required.")
                old = state._live(params["refresh_token"], "refresh")
                if old is None:
                    raise OAuthError(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
                old.revoked = True  # rotation: each refresh token works once
                answer = state._issue(old.organization_id, old.integration_id, old.scope)
            elif grant == "client_credentials":
                answer = state._issue(None, None, params.get("scope", ""), client=True)
            elif not grant:
                raise OAuthError(400, "invalid_request", "grant_type is required.")
            else:
                raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @app.post(f"{API}/oauth2/revoke")
    async def revoke(request: Request) -> Response:
        await guard(request, "revoke")
        client_authenticated(request)
        value = (await form(request)).get("token", "")
        with state.lock:
            token = state.tokens.get(value)
            if token is not None and token.kind == "refresh":  # a refresh token: the whole integration ends
                organization = state.organizations.get(token.organization_id or "")
                if organization is not None and organization.integration_id == token.integration_id:
                    state._revoke(organization)
            if token is not None:
                token.revoked = True
        return Response(status_code=200)

    @app.get(f"{API}/userinfo")
    async def userinfo(request: Request) -> Response:
        await guard(request, "userinfo")
        token = bearer(request)
        organization = state.organizations[token.organization_id or ""]
        return JSONResponse(
            {
                "sub": organization.id,
                "name": organization.name,
                "representativeOrganizationName": organization.name,
                "representativeOrganizationId": organization.id,
                "paymentsActivated": False,
                "paymentsActivationRequested": False,
                "onboardingComplete": True,
            }
        )

    # -- accounts, transactions ------------------------------------------------------------------------------------

    @app.get(f"{API}/accounts")
    async def accounts(request: Request) -> Response:
        await guard(request, "accounts")
        token = bearer(request)
        api = api_base(request)
        with state.lock:
            ids = state.organizations[token.organization_id or ""].account_ids
            ordered = [(-i, a, state.accounts[a]) for i, a in enumerate(ids)]  # oldest first
            chosen, links, paging = page(request, ordered, {a: -i for i, a in enumerate(ids)})
            data = [_account_resource(state, a, api) for a in chosen]
        return jsonapi({"data": data, "links": links, "meta": {"paging": paging}})

    @app.get(f"{API}/accounts/{{account_id}}")
    async def account(account_id: str, request: Request) -> Response:
        await guard(request, "account")
        token = bearer(request)
        with state.lock:
            return jsonapi({"data": _account_resource(state, own_account(token, account_id), api_base(request))})

    def visible(account_id: str, pending: bool) -> tuple[list[FakeTransaction], list[FakeTransaction]]:
        known = [
            t
            for t in state.transactions.values()
            if t.account_id == account_id and t.pending == pending and t.seq is not None
        ]
        return [t for t in known if not t.gone], known

    @app.get(f"{API}/accounts/{{account_id}}/transactions")
    async def transactions(account_id: str, request: Request) -> Response:
        await guard(request, "transactions")
        token = bearer(request)
        with state.lock:
            own_account(token, account_id)
            items, known = visible(account_id, False)
            return transaction_list(request, items, known, account_id, SUBTYPES[1:])

    @app.get(f"{API}/accounts/{{account_id}}/pending-transactions")
    async def pending_transactions(account_id: str, request: Request) -> Response:
        await guard(request, "pending")
        token = bearer(request)
        with state.lock:
            own_account(token, account_id)
            items, known = visible(account_id, True)
            return transaction_list(request, items, known, account_id, SUBTYPES[2:])

    def one_transaction(token: FakeToken, account_id: str, tx_id: str, pending: bool, api: str) -> JSONResponse:
        with state.lock:
            own_account(token, account_id)
            tx = state.transactions.get(tx_id)
            if tx is None or tx.account_id != account_id or tx.pending != pending or tx.seq is None or tx.gone:
                kind = "pendingTransaction" if pending else "transaction"
                raise FakeError(404, "resourceNotFound", f"The {kind} was not found.", resource=kind)
            return jsonapi({"data": _transaction_resource(tx, api)})

    @app.get(f"{API}/accounts/{{account_id}}/transactions/{{tx_id}}")
    async def transaction(account_id: str, tx_id: str, request: Request) -> Response:
        await guard(request, "transaction")
        return one_transaction(bearer(request), account_id, tx_id, False, api_base(request))

    @app.get(f"{API}/accounts/{{account_id}}/pending-transactions/{{tx_id}}")
    async def pending_transaction(account_id: str, tx_id: str, request: Request) -> Response:
        await guard(request, "pending_transaction")
        return one_transaction(bearer(request), account_id, tx_id, True, api_base(request))

    # -- synchronizations ----------------------------------------------------------------------------------------

    @app.post(f"{API}/synchronizations")
    async def create_synchronization(request: Request) -> Response:
        await guard(request, "synchronizations")
        token = bearer(request)
        try:
            document = json.loads(await request.body())
            data = document["data"]
            attributes = data["attributes"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FakeError(400, "validationError", "The body must be {data: {type, attributes}}.") from exc
        if not isinstance(data, dict) or not isinstance(attributes, dict) or data.get("type") != "synchronization":
            raise FakeError(400, "validationError", "data.type must be 'synchronization'.")
        if attributes.get("resourceType") != "account":
            raise FakeError(400, "validationError", "resourceType must be 'account'.", attribute="resourceType")
        if attributes.get("subtype") not in SUBTYPES:
            raise FakeError(
                400, "validationError", f"subtype must be one of {', '.join(SUBTYPES)}.", attribute="subtype"
            )
        with state.lock:
            sync = state._create_synchronization(
                token.organization_id or "",
                str(attributes.get("resourceId", "")),
                attributes["subtype"],
                attributes.get("customerIpAddress"),
            )
            return jsonapi({"data": _sync_resource(sync, api_base(request))}, 201)

    def own_synchronization(token: FakeToken, sync_id: str) -> FakeSynchronization:
        sync = state.synchronizations.get(sync_id)
        if sync is None or sync.organization_id != token.organization_id:
            raise FakeError(404, "resourceNotFound", "The synchronization was not found.", resource="synchronization")
        return sync

    @app.get(f"{API}/synchronizations/{{sync_id}}")
    async def synchronization(sync_id: str, request: Request) -> Response:
        await guard(request, "synchronization")
        token = bearer(request)
        with state.lock:
            sync = own_synchronization(token, sync_id)
            state._advance_synchronization(sync)
            return jsonapi({"data": _sync_resource(sync, api_base(request))})

    def updated_list(request: Request, token: FakeToken, sync_id: str, pending: bool) -> JSONResponse:
        with state.lock:
            sync = own_synchronization(token, sync_id)
            ids = sync.updated_pending if pending else sync.updated_transactions
            items = [state.transactions[i] for i in ids]
            subtypes = SUBTYPES[2:] if pending else SUBTYPES[1:]
            return transaction_list(request, items, items, sync.account_id, subtypes)

    @app.get(f"{API}/synchronizations/{{sync_id}}/updated-transactions")
    async def updated_transactions(sync_id: str, request: Request) -> Response:
        await guard(request, "updated")
        return updated_list(request, bearer(request), sync_id, False)

    @app.get(f"{API}/synchronizations/{{sync_id}}/updated-pending-transactions")
    async def updated_pending_transactions(sync_id: str, request: Request) -> Response:
        await guard(request, "updated_pending")
        return updated_list(request, bearer(request), sync_id, True)

    # -- financial institutions, reauthorization, integration ------------------------------------------------------

    @app.get(f"{API}/financial-institutions")
    async def financial_institutions(request: Request) -> Response:
        await guard(request, "financial_institutions")
        ordered = [(-i, _FI_IDS[i], _fi_resource(i)) for i in range(len(FINANCIAL_INSTITUTIONS))]
        chosen, links, paging = page(request, ordered, {fi: -i for i, fi in enumerate(_FI_IDS)})
        return jsonapi({"data": chosen, "links": links, "meta": {"paging": paging}})

    @app.get(f"{API}/financial-institutions/{{fi_id}}")
    async def financial_institution(fi_id: str, request: Request) -> Response:
        await guard(request, "financial_institutions")
        if fi_id not in _FI_IDS:
            raise FakeError(404, "resourceNotFound", "The financial institution was not found.")
        return jsonapi({"data": _fi_resource(_FI_IDS.index(fi_id))})

    @app.post(f"{API}/accounts/{{account_id}}/reauthorization-requests")
    async def reauthorization_request(account_id: str, request: Request) -> Response:
        await guard(request, "reauthorization")
        token = bearer(request)
        try:
            data = json.loads(await request.body())["data"]
            redirect_uri = data["attributes"]["redirectUri"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FakeError(
                400, "validationError", "The body must be {data: {type, attributes: {redirectUri}}}."
            ) from exc
        if data.get("type") != "reauthorizationRequest" or not _is_web_url(redirect_uri):
            raise FakeError(400, "validationError", "type reauthorizationRequest with an http(s) redirectUri.")
        with state.lock:
            account = own_account(token, account_id)
            request_id_, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
            state.reauthorizations[secret] = {
                "id": request_id_,
                "account_id": account.id,
                "redirect_uri": redirect_uri,
                "used": False,
            }
        root = str(request.base_url).rstrip("/")
        return jsonapi(
            {
                "data": {
                    "type": "reauthorizationRequest",
                    "id": request_id_,
                    "attributes": {},
                    "links": {"redirect": f"{root}/reauthorize/{secret}"},
                }
            },
            201,
        )

    @app.get("/reauthorize/{secret}")
    async def reauthorize(secret: str, request: Request) -> Response:
        """The browser step of a reauthorization: renews the consent at once and sends the user back."""
        await guard(request, "reauthorize")
        with state.lock:
            redirect_uri = state._reauthorize(secret)
        if redirect_uri is None:
            return bad_page("Unknown or already used reauthorization link.")
        return RedirectResponse(redirect_uri, 302)

    @app.delete(f"{API}/organizations/{{organization_id}}/integration")
    async def delete_integration(organization_id: str, request: Request) -> Response:
        await guard(request, "integration")
        bearer(request, client=True)
        with state.lock:
            organization = state.organizations.get(organization_id)
            integration_id = organization.integration_id if organization else None
            if organization is None or integration_id is None:
                raise FakeError(
                    404, "resourceNotFound", "No integration with this organization.", resource="integration"
                )
            state._revoke(organization)
        return jsonapi(
            {
                "data": {
                    "type": "integration",
                    "id": integration_id,
                    "relationships": {"organization": {"data": {"type": "organization", "id": organization_id}}},
                }
            }
        )

    # -- webhook keys --------------------------------------------------------------------------------------------

    @app.get("/webhooks")
    async def webhooks_schema(request: Request) -> Response:
        await guard(request, "webhooks")
        return JSONResponse({"links": {"keys": str(request.base_url).rstrip("/") + "/webhooks/keys"}})

    @app.get("/webhooks/keys")
    async def webhook_keys(request: Request) -> Response:
        await guard(request, "keys")
        return JSONResponse({"keys": [jwk_of(state.signing_key.public_key(), state.signing_kid)]})

    # -- control routes ------------------------------------------------------------------------------------------

    def control_error(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status)

    async def control_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def control(action: Callable[[dict[str, Any], dict[str, str]], Any], status: int = 200):
        async def handler(request: Request) -> Response:
            try:
                result = action(await control_body(request), dict(request.path_params))
            except KeyError as exc:
                return control_error(404, f"unknown id: {exc.args[0] if exc.args else ''}")
            except (ValueError, TypeError) as exc:
                return control_error(400, str(exc))
            return JSONResponse(result, status)

        return handler

    def add_route(path: str, action, status: int = 200, method: str = "POST") -> None:
        app.add_api_route(path, control(action, status), methods=[method])

    add_route(
        "/_fake/organizations",
        lambda b, p: state.add_organization(b.get("name", ""), b.get("accounts") or []),
        201,
    )
    add_route(
        "/_fake/next-authorization",
        lambda b, p: state.set_next_authorization(str(b.get("organization_id"))) or {"ok": True},
    )
    add_route(
        "/_fake/accounts/{account_id}/transactions",
        lambda b, p: {"id": state.add_transaction(p["account_id"], b)},
        201,
    )
    add_route(
        "/_fake/pending/{pending_id}/book",
        lambda b, p: {
            "id": state.book_pending(p["pending_id"], execution_date=b.get("execution_date"), amount=b.get("amount"))
        },
        201,
    )
    add_route(
        "/_fake/transactions/{transaction_id}",
        lambda b, p: state.update_transaction(p["transaction_id"], b) or {"ok": True},
    )
    add_route(
        "/_fake/accounts/{account_id}/consent",
        lambda b, p: (
            state.set_consent(p["account_id"], expires_at=b.get("expires_at"), revoked=b.get("revoked")) or {"ok": True}
        ),
    )
    add_route(
        "/_fake/organizations/{organization_id}/revoke",
        lambda b, p: {"revoked": state.revoke_integration(p["organization_id"])},
    )
    add_route(
        "/_fake/faults",
        lambda b, p: state.inject(str(b.get("route")), str(b.get("kind")), int(b.get("count", 1))) or {"ok": True},
    )
    add_route("/_fake/requests", lambda b, p: state.request_log(), method="GET")
    add_route("/_fake/webhooks", lambda b, p: state.webhook_log(), method="GET")
    add_route("/_fake/webhooks/target", lambda b, p: state.set_webhook_target(b.get("url")) or {"url": b.get("url")})
    add_route("/_fake/clock", lambda b, p: {"now": iso(state.advance(float(b.get("advance_seconds", 0))))})
    add_route("/_fake/synchronizations/complete", lambda b, p: {"completed": state.complete_synchronizations()})
    add_route(
        "/_fake/tokens",
        lambda b, p: state.issue_token(b.get("organization_id"), b.get("scope", "offline_access ai")),
        201,
    )
    return app


def serve_fake(host: str = "127.0.0.1", port: int = 8766, **state_kwargs: Any) -> None:
    import uvicorn

    uvicorn.run(create_fake_ponto_app(FakePontoState(**state_kwargs)), host=host, port=port, log_level="warning")
