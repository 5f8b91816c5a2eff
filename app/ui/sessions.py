"""Sign-ins to the review page, kept on the server: the browser holds a random session id, never the API key.

Only the id's SHA-256 is stored, so the table read by someone else signs no one in. A session ends at its
expiry, at sign-out (its row is deleted), and as soon as its API key is revoked (checked on every request).
The functions here do database work: call them through the thread pool.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Field, SQLModel, col, select

from app.core.auth import ApiKey, Principal
from app.core.db import unit_of_work
from app.core.timeutil import utcnow

#: A working day: long enough not to interrupt a person, short enough that a forgotten browser signs out.
LIFETIME = timedelta(hours=8)


class UiSession(SQLModel, table=True):
    __tablename__ = "ui_sessions"

    #: SHA-256 of the session id in the cookie.
    id: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(foreign_key="api_keys.id", max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    scope: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(principal: Principal, replaces: str | None = None) -> str:
    """A new session for a company key; returns the id for the cookie. The browser's previous session, if it
    sent one, ends here: one browser, one sign-in."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with unit_of_work() as session:
        # Housekeeping on sign-in (a write anyway): expired rows would otherwise stay forever.
        session.execute(delete(UiSession).where(col(UiSession.expires_at) <= now))
        if replaces:
            session.execute(delete(UiSession).where(col(UiSession.id) == _digest(replaces)))
        session.add(
            UiSession(
                id=_digest(session_id),
                key_id=principal.key_id,
                company_id=principal.company_id,
                scope=principal.scope,
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return session_id


def resolve(session_id: str) -> Principal | None:
    """The principal a session id stands for, or None: unknown, expired, or its key revoked since."""
    with unit_of_work(read_only=True) as session:
        found = session.exec(
            select(UiSession, ApiKey)
            .join(ApiKey, col(ApiKey.id) == col(UiSession.key_id))
            .where(col(UiSession.id) == _digest(session_id))
        ).first()
    if found is None:
        return None
    row, key = found
    # The key is judged as app/core/auth.py judges it: revoked is gone, whatever sessions it opened.
    if row.expires_at <= utcnow() or not key.usable(utcnow()) or key.company_id != row.company_id:
        return None
    return Principal(kind="company", company_id=row.company_id, scope=row.scope, key_id=row.key_id)


def end(session_id: str) -> None:
    """Sign-out: the row goes, so the cookie is worth nothing even if it was copied."""
    with unit_of_work() as session:
        session.execute(delete(UiSession).where(col(UiSession.id) == _digest(session_id)))
