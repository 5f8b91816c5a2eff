"""POST /v1/webhooks/ponto: Ponto Connect's webhooks, verified as Ibanity signs them.

The ``Signature`` header is an RS512 JWT from Ibanity's key set (``CODARECON_PONTO_WEBHOOK_KEYS_URL``, cached,
fetched again for an unknown key id), whose ``aud`` is our application id and whose ``digest`` is the SHA-512
of the exact body (``signature.py``). A bad signature, a stale token or a wrong digest is refused (401) and
logged. Each event id is handled once. What each type does:
- transactions or pending transactions created or updated, an account reauthorized or added: the company's
  sync job reads what Ponto has (no new synchronization: Ponto just made one);
- the integration revoked: the connection is ``revoked`` (``account.revoked`` for each account);
- an account revoked from the integration: that account (``account.revoked``);
- a synchronization failed, an organization blocked: noted on the connection.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.codabox.models import InboundWebhook
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import Conflict, Unauthorized, ValidationFailed
from app.core.request_routes import CommittingRoute
from app.core.timeutil import utcnow
from app.ponto import connection as link
from app.ponto.events import account_revoked, connection_revoked
from app.ponto.feed import queue_sync
from app.ponto.models import PontoAccount, PontoConnection
from app.ponto.signature import KeySet, WebhookSignatureError, fetch_keys_over_http, verify_webhook
from app.statements.ponto_reader import loads

log = logging.getLogger(__name__)
router = APIRouter(route_class=CommittingRoute, tags=["webhooks"])
PATH = "/v1/webhooks/ponto"

#: Types after which the company's transactions are read again.
READ_AGAIN = {
    "pontoConnect.account.transactionsCreated",
    "pontoConnect.account.transactionsUpdated",
    "pontoConnect.account.pendingTransactionsCreated",
    "pontoConnect.account.pendingTransactionsUpdated",
    "pontoConnect.account.reauthorized",
    "pontoConnect.integration.accountAdded",
}
NOTED = {"pontoConnect.synchronization.failed", "pontoConnect.organization.blocked"}

_keys: dict[str, KeySet] = {}


def key_set() -> KeySet:
    """Ibanity's webhook keys, one cache per URL (per process)."""
    url = get_settings().ponto_webhook_keys_url
    if url not in _keys:
        _keys[url] = KeySet(fetch_keys_over_http(url, transport=link.transport))
    return _keys[url]


def _verify(body: bytes, signature: str | None) -> None:
    settings = get_settings()
    if not settings.ponto_enabled or not settings.ponto_application_id:
        raise Conflict("Ponto Connect webhooks are not configured: set CODARECON_PONTO_APPLICATION_ID")
    try:
        verify_webhook(body, signature, keys=key_set(), audience=settings.ponto_application_id)
    except WebhookSignatureError as exc:
        log.warning("Ponto webhook refused (%s): %s", exc.reason, exc)
        raise Unauthorized(f"Ponto webhook signature not accepted: {exc}") from None


def _related(data: dict[str, Any], name: str) -> str | None:
    found = ((data.get("relationships") or {}).get(name) or {}).get("data") or {}
    value = found.get("id") if isinstance(found, dict) else None
    return str(value) if value else None


def _process(data: dict[str, Any]) -> dict[str, Any]:
    kind, event_id = str(data.get("type") or ""), str(data.get("id") or "")
    if not kind or not event_id:
        raise ValidationFailed("the webhook names no type or id", errors=[{"loc": "body.data", "message": "type, id"}])
    with unit_of_work() as session:
        try:
            with session.begin_nested():
                session.add(InboundWebhook(id=f"ponto:{event_id}"[:200], type=kind[:60]))
                session.flush()
        except IntegrityError:
            return {"status": "duplicate"}
        organization = _related(data, "organization")
        connections = (
            list(session.exec(select(PontoConnection).where(PontoConnection.organization_id == organization)))
            if organization
            else []
        )
        if not connections:
            log.info("Ponto webhook %s (%s) names no connected organization", event_id, kind)
            return {"status": "ignored"}
        for conn in connections:
            _act(session, conn, kind, data)
        return {"status": "accepted"}


def _act(session: Session, conn: PontoConnection, kind: str, data: dict[str, Any]) -> None:
    if kind == "pontoConnect.account.reauthorized":
        account = session.get(PontoAccount, _related(data, "account") or "")
        if account is not None and account.company_id == conn.company_id and account.state == "consent_expired":
            account.state, account.last_error = "active", None
            session.add(account)
    if kind in READ_AGAIN and conn.state == "connected":
        queue_sync(session, conn.company_id, synchronize=False, expedite=True)
    elif kind == "pontoConnect.integration.revoked" and conn.state == "connected":
        link.revoked(conn, "the integration was revoked at Ponto")
        session.add(conn)
        connection_revoked(session, conn)
    elif kind == "pontoConnect.integration.accountRevoked":
        account = session.get(PontoAccount, _related(data, "account") or "")
        if account is not None and account.company_id == conn.company_id and account.state != "revoked":
            account_revoked(session, account, "the account was taken out of the Ponto integration")
    elif kind in NOTED:
        conn.last_error, conn.updated_at = f"Ponto: {kind.removeprefix('pontoConnect.')}", utcnow()
        session.add(conn)


@router.post(
    PATH,
    status_code=202,
    responses={
        401: {"description": "The Signature is missing, badly signed, stale, for another audience or another body."},
        409: {"description": "Ponto Connect is not configured on this service."},
    },
)
async def ponto_webhook(request: Request) -> JSONResponse:
    """Ponto Connect's webhooks (Ibanity's RS512 `Signature` JWT, verified against its published keys): new or
    changed transactions queue the company's sync; a revoked integration or account shows as `revoked`."""
    body = await request.body()
    await run_in_threadpool(_verify, body, request.headers.get("signature"))
    try:
        document = loads(body)
    except ValueError:
        raise ValidationFailed("the body is not JSON") from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON:API document with data", errors=[{"loc": "body.data"}])
    return JSONResponse(await run_in_threadpool(_process, data), status_code=202)
