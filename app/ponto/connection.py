"""A company's Ponto Connect link: the client, the OAuth2 authorization (code flow with PKCE), its tokens.

Tokens are encrypted at rest (``core/crypto``, like CodaBox's credentials). Ponto's refresh tokens rotate on
every use, so a refresh happens under the connection row's lock and its new refresh token is committed before
the access token is used: two processes never spend the same refresh token, and a crash never loses the only
one that works. A refresh Ponto refuses (``invalid_grant``: revoked, expired) ends in state ``revoked``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.crypto import decrypt, encrypt
from app.core.db import unit_of_work
from app.core.errors import Conflict
from app.core.timeutil import as_utc, utcnow
from app.ponto.client import PontoClient, PontoGrantError, Tokens, ssl_context
from app.ponto.events import connection_revoked
from app.ponto.models import PontoConnection

#: Tests point this at the local stand-in's ASGI app; production talks to the network (with mTLS).
transport: httpx.BaseTransport | None = None

#: The scopes asked: account information, the organization's name, and a refresh token (no payments).
SCOPE = "ai name offline_access"
#: How long an authorization link may wait for its callback.
AUTHORIZATION_MINUTES = 30
#: An access token with less than this left is refreshed first (the SDKs' margin).
REFRESH_MARGIN = timedelta(seconds=60)


def configured() -> bool:
    settings = get_settings()
    return bool(settings.ponto_enabled and settings.ponto_client_id and settings.ponto_client_secret)


def require_configured() -> None:
    settings = get_settings()
    if not settings.ponto_enabled:
        raise Conflict("Ponto Connect is disabled: set CODARECON_PONTO_ENABLED=true")
    if not settings.ponto_client_id or not settings.ponto_client_secret:
        raise Conflict(
            "Ponto Connect is not configured: set CODARECON_PONTO_CLIENT_ID and CODARECON_PONTO_CLIENT_SECRET"
        )


def client() -> PontoClient:
    require_configured()
    settings = get_settings()
    verify = ssl_context(
        str(settings.ponto_certificate_path) if settings.ponto_certificate_path else None,
        str(settings.ponto_private_key_path) if settings.ponto_private_key_path else None,
        settings.ponto_private_key_passphrase,
    )
    return PontoClient(
        settings.ponto_base_url,
        settings.ponto_client_id or "",
        settings.ponto_client_secret or "",
        verify=verify,
        timeout=settings.ponto_timeout_seconds,
        transport=transport,
    )


def connection(session: Session, company_id: str) -> PontoConnection:
    """The company's connection row, added (not_connected) when it has none yet."""
    found = session.get(PontoConnection, company_id)
    if found is None:
        found = PontoConnection(company_id=company_id)
        session.add(found)
    return found


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class AuthorizationLink:
    url: str
    expires_at: datetime


def start_authorization(conn: PontoConnection) -> AuthorizationLink:
    """A new authorization link for the company's user (any earlier one stops working): PKCE S256, a random
    ``state`` that only its hash is kept of."""
    settings = get_settings()
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(32)
    conn.authorization_state_hash = state_hash(state)
    conn.code_verifier_encrypted = encrypt(verifier)
    conn.authorization_expires_at = utcnow() + timedelta(minutes=AUTHORIZATION_MINUTES)
    if conn.state != "connected":
        conn.state = "authorizing"
    conn.updated_at = utcnow()
    query = {
        "client_id": settings.ponto_client_id,
        "redirect_uri": settings.ponto_redirect_uri,
        "response_type": "code",
        "scope": SCOPE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return AuthorizationLink(f"{settings.ponto_authorization_url}?{urlencode(query)}", conn.authorization_expires_at)


def keep_tokens(conn: PontoConnection, tokens: Tokens) -> None:
    conn.access_token_encrypted = encrypt(tokens.access_token)
    conn.access_token_expires_at = utcnow() + timedelta(seconds=max(tokens.expires_in, 0))
    if tokens.refresh_token:  # rotated: the old one is dead from now
        conn.refresh_token_encrypted = encrypt(tokens.refresh_token)
    conn.updated_at = utcnow()


def revoked(conn: PontoConnection, reason: str) -> None:
    """Nothing of this connection works any more: forget its tokens, say why."""
    conn.state, conn.revoked_reason, conn.updated_at = "revoked", reason, utcnow()
    conn.refresh_token_encrypted = conn.access_token_encrypted = None
    conn.access_token_expires_at = None


class NotConnected(Exception):
    """The company's Ponto connection is not (or no longer) connected."""


def access_token(company_id: str, api: PontoClient, *, force: bool = False) -> str:
    """A working access token, refreshed (and its rotated refresh token committed) when it runs out."""
    with unit_of_work() as session:
        token = token_in(session, company_id, api, force=force)
    if token is None:
        raise NotConnected("revoked")
    return token


def token_in(session: Session, company_id: str, api: PontoClient, *, force: bool = False) -> str | None:
    """``access_token`` in the caller's transaction (a request's): the connection row is locked until it ends.
    None when Ponto refused the refresh token: the connection is then ``revoked`` in that transaction."""
    conn = session.exec(
        select(PontoConnection).where(PontoConnection.company_id == company_id).with_for_update()
    ).first()
    if conn is None or conn.state != "connected" or not conn.refresh_token_encrypted:
        raise NotConnected(conn.state if conn else "not_connected")
    expires = as_utc(conn.access_token_expires_at) if conn.access_token_expires_at else None
    if not force and conn.access_token_encrypted and expires and expires - REFRESH_MARGIN > utcnow():
        return decrypt(conn.access_token_encrypted)
    try:
        tokens = api.refresh(decrypt(conn.refresh_token_encrypted))
    except PontoGrantError as exc:
        revoked(conn, f"Ponto refused the refresh token: {exc}")
        session.add(conn)
        connection_revoked(session, conn)
        return None
    keep_tokens(conn, tokens)
    session.add(conn)
    return tokens.access_token
