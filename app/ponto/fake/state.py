"""`FakePontoState`: everything the stand-in knows and the bank side of it: the organizations and their
accounts, the bank's transactions, integrations and tokens, consent and reauthorization, the clock, injected
faults and the request log. Synchronizations (app.ponto.fake.synchronizations) and webhooks
(app.ponto.fake.webhooks) are mixed in."""

from __future__ import annotations

import queue
import re
import secrets
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from app.ponto.fake.records import (
    FakeAccount,
    FakeCode,
    FakeOrganization,
    FakeSynchronization,
    FakeToken,
    FakeTransaction,
)
from app.ponto.fake.synchronizations import SynchronizationMixin
from app.ponto.fake.values import (
    _API_TO_FIELD,
    _FI_IDS,
    _IBAN,
    BRUSSELS,
    FAULT_KINDS,
    FINANCIAL_INSTITUTIONS,
    ROUTES,
    TX_FIELDS,
    _day,
    _decimal,
    _field_value,
    _moment,
    _utcnow,
)
from app.ponto.fake.webhooks import WebhookMixin


@dataclass
class FakePontoState(SynchronizationMixin, WebhookMixin):
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
