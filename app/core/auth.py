"""Who is calling: API keys (table, issue, check), the admin token, scopes and the principal they stand for.

Which company a principal may touch is decided in one place above this one, app/companies/access.py.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Field, Session, SQLModel

from app.core.config import Settings, create_private_file, get_settings
from app.core.db import unit_of_work
from app.core.errors import Forbidden, Unauthorized
from app.core.ids import new_id
from app.core.key_use import key_use
from app.core.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

SCOPES = ("read", "write")
#: How long a process trusts a key it has checked: a revoked key stops working on every process within it.
KEY_CACHE_SECONDS = 1.0


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    scope: str = Field(max_length=10)  # "read" | "write"
    #: SHA-256 of the secret part; keys are 256-bit random so a slow hash adds nothing.
    secret_hash: str = Field(max_length=64)
    #: What the integrator calls it ("webshop", "accountant's dashboard"): shown in lists and on the review page.
    name: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    #: A rotated key works until then (its grace period), then is refused as a revoked one.
    expires_at: datetime | None = None
    #: When a request last came with it, up to a minute late (app/core/key_use.py).
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or as_utc(self.expires_at) > now)


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "admin" | "company"
    company_id: str | None = None
    scope: str = "write"
    key_id: str | None = None

    @property
    def actor(self) -> str:
        return "admin" if self.kind == "admin" else f"key:{self.key_id}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(session: Session, company_id: str, scope: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; the returned plain text (``<id>.<secret>``) is shown once and never stored."""
    secret = secrets.token_urlsafe(32)
    key = ApiKey(id=new_id("key"), company_id=company_id, scope=scope, secret_hash=hash_secret(secret), name=name)
    session.add(key)
    return key, f"{key.id}.{secret}"


def admin_token(settings: Settings) -> str:
    """The admin token from the environment, else the one generated on first start under var/."""
    if settings.admin_token:
        return settings.admin_token
    path = settings.var_dir / "admin_token"
    if path.exists():
        return path.read_text().strip()
    token = "adm_" + secrets.token_urlsafe(32)
    # Created exclusively so two processes starting at once agree on one token.
    if not create_private_file(path, token + "\n"):
        return path.read_text().strip()
    log.warning("CODARECON_ADMIN_TOKEN is not set: generated an admin token in %s", path.resolve())
    return token


class _KeyCache:
    """A short-lived cache of key id -> (company, scope, hash): saves a query on every request.

    Revocation reaches this process at once and others within the cache lifetime.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, str, str, str]] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> tuple[str, str, str] | None:
        entry = self._entries.get(key_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2], entry[3]

    def put(self, key_id: str, company_id: str, scope: str, secret_hash: str) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_id] = (time.monotonic() + KEY_CACHE_SECONDS, company_id, scope, secret_hash)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._entries.pop(key_id, None)


key_cache = _KeyCache()


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    return credential.strip()


_admin_hashes: dict[tuple[str | None, str], str] = {}


def _admin_hash(settings: Settings) -> str:
    # Computed once per configuration: reading the token file on every request would cost a syscall.
    cache_key = (settings.admin_token, str(settings.var_dir))
    if cache_key not in _admin_hashes:
        _admin_hashes[cache_key] = hash_secret(admin_token(settings))
    return _admin_hashes[cache_key]


def _load_key(key_id: str) -> tuple[str, str, str] | None:
    with unit_of_work(read_only=True) as session:
        key = session.get(ApiKey, key_id)
        if key is None or not key.usable(utcnow()):
            return None
        return key.company_id, key.scope, key.secret_hash


async def authenticate(request: Request) -> Principal:
    """Async with in-process caches: a known credential costs no database query and no thread hop."""
    return await principal_for(_bearer(request))


async def principal_for(credential: str) -> Principal:
    """The principal a credential (admin token or company key) stands for; Unauthorized if none."""
    presented = hash_secret(credential)
    if hmac.compare_digest(presented, _admin_hash(get_settings())):
        return Principal(kind="admin")
    key_id, _, secret = credential.partition(".")
    if not key_id.startswith("key_") or not secret:
        raise Unauthorized("unknown API key")
    cached = key_cache.get(key_id)
    if cached is None:
        cached = await run_in_threadpool(_load_key, key_id)
        if cached is None:
            # Compare anyway so unknown and wrong keys take the same time.
            hmac.compare_digest(hash_secret(secret), "0" * 64)
            raise Unauthorized("unknown API key")
        key_cache.put(key_id, *cached)
    company_id, scope, secret_hash = cached
    if not hmac.compare_digest(hash_secret(secret), secret_hash):
        raise Unauthorized("unknown API key")
    key_use.seen(key_id)
    return Principal(kind="company", company_id=company_id, scope=scope, key_id=key_id)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_admin(principal: PrincipalDep) -> Principal:
    if principal.kind != "admin":
        raise Forbidden("this operation needs the admin (integrator) key")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
