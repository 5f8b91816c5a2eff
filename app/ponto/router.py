"""HTTP routes for a company's Ponto Connect link: the authorization link, the callback the user's browser comes
back to, the status, a sync now, consent renewal links, disconnecting."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.errors import AppError, Forbidden
from app.core.request_routes import CommittingRoute
from app.ponto import service

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}/ponto", tags=["ponto"])
callback_router = APIRouter(route_class=CommittingRoute, tags=["ponto"])


class PontoAccountPublic(BaseModel):
    ponto_account_id: str = Field(description="Ponto's id of the account.")
    iban: str
    currency: str
    state: Literal["active", "consent_expired", "revoked"] = Field(
        description="active | consent_expired (PSD2 consent lapsed: the user renews it at reauthorization_url) | "
        "revoked (no longer in the integration)"
    )
    availability: str | None = Field(description="Ponto's: available, or readonly while the bank is in maintenance.")
    consent_expires_at: datetime | None = Field(description="When the account's PSD2 consent is expected to end.")
    consent_expiring: bool = Field(description="The consent ends within CODARECON_PONTO_CONSENT_WARNING_DAYS.")
    reauthorization_url: str | None = Field(
        description="Where the company's user renews the consent (made when it nears its end, or on request)."
    )
    synchronized_at: datetime | None = Field(description="When its transactions were last read.")
    last_error: str | None


class SetAsidePublic(BaseModel):
    ponto_transaction_id: str
    reason: str = Field(description="Which field could not be read, and why; the feed went on without it.")
    seen_at: datetime


class PontoStatus(BaseModel):
    enabled: bool
    state: Literal["not_connected", "authorizing", "connected", "revoked"] = Field(
        description="not_connected | authorizing (a link is out, its callback not back) | connected | revoked (the "
        "integration was revoked or its refresh token refused: connect again)"
    )
    organization_name: str | None = Field(description="The Ponto organization the company's user connected.")
    connected_at: datetime | None
    authorization_expires_at: datetime | None = Field(description="While authorizing: when the link stops working.")
    revoked_reason: str | None
    last_sync_at: datetime | None
    last_synchronized_at: datetime | None = Field(description="When Ponto was last asked to synchronize the bank.")
    next_synchronization_at: datetime | None
    last_error: str | None
    accounts: list[PontoAccountPublic]
    transactions_stored: int = Field(description="Booked Ponto transactions stored as transactions of their own.")
    transactions_known: int = Field(
        description="Booked Ponto transactions that a bank statement file had brought before: one transaction each."
    )
    transactions_set_aside: int = Field(description="Ponto transactions that could not be read (see set_aside).")
    set_aside: list[SetAsidePublic] = Field(description="The newest set aside (at most 20), with why.")
    pending_payments: int = Field(description="Pending payments not booked yet (shown as invoices' pending_amount).")


class AuthorizationPublic(BaseModel):
    authorization_url: str = Field(
        description="Send the company's user here: Ponto asks them to pick the organization and accounts, then "
        "returns to CODARECON_PONTO_REDIRECT_URI (GET /v1/ponto/callback)."
    )
    expires_at: datetime
    status: PontoStatus


def _status(ctx: CompanyDep, session: SessionDep) -> PontoStatus:
    session.flush()
    return PontoStatus(**service.status(session, ctx.company))


@router.get("", response_model=PontoStatus)
def ponto_status(ctx: CompanyDep, session: SessionDep) -> PontoStatus:
    """The company's Ponto Connect link: its state, accounts and their consent, what the feed stored."""
    return _status(ctx, session)


@router.post(
    "/authorization",
    status_code=201,
    response_model=AuthorizationPublic,
    responses={409: {"description": "Ponto Connect is disabled or not configured."}},
)
def authorize(ctx: CompanyDep, session: SessionDep) -> AuthorizationPublic:
    """A link for the company's user to connect its Ponto organization (OAuth2 with PKCE). Any earlier link
    stops working; a connected company keeps syncing until the new authorization comes back."""
    found = service.authorize(session, ctx.company)
    return AuthorizationPublic(authorization_url=found.url, expires_at=found.expires_at, status=_status(ctx, session))


@router.post(
    "/sync",
    status_code=202,
    response_model=PontoStatus,
    responses={409: {"description": "The connection is not `connected`."}},
)
def sync(ctx: CompanyDep, session: SessionDep) -> PontoStatus:
    """Synchronize the company's accounts now (in the background) and read what is new. Ponto's own cool-down
    between two synchronizations of an account means a second one soon after reads what is there."""
    service.request_sync(session, ctx.id)
    return _status(ctx, session)


@router.post(
    "/reauthorization",
    response_model=PontoStatus,
    responses={409: {"description": "The connection is not `connected`."}, 503: {"description": "Ponto is down."}},
)
def reauthorize(ctx: CompanyDep, session: SessionDep) -> PontoStatus:
    """Make a consent renewal link for each account now (shown as `reauthorization_url`). They are also made by
    themselves, with a `consent.expiring` event, when a consent nears its end."""
    service.reauthorize(session, ctx.company)
    return _status(ctx, session)


@router.delete("", response_model=PontoStatus)
def disconnect(ctx: CompanyDep, session: SessionDep) -> PontoStatus:
    """Admin: revoke the company's Ponto tokens and forget them (what was stored stays)."""
    if ctx.principal.kind != "admin":
        raise Forbidden("this operation needs the admin (integrator) key")
    service.disconnect(session, ctx.company)
    return _status(ctx, session)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>"""


@callback_router.get(
    "/v1/ponto/callback",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "Connected (or consent renewed): a page for the user."},
        400: {"content": {"text/html": {}}, "description": "Refused, unknown, used or expired authorization."},
        409: {"content": {"text/html": {}}, "description": "Ponto Connect is disabled or not configured."},
        429: {"description": "Too many requests from this address: retry after `Retry-After`."},
        503: {"content": {"text/html": {}}, "description": "Ponto did not answer: ask for a new link and retry."},
    },
)
def complete_authorization(
    session: SessionDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> HTMLResponse:
    """Where Ponto sends the company's user back (CODARECON_PONTO_REDIRECT_URI). No API key: the one-time
    `state` of the authorization link names the company. Without a state (a consent renewal's return) it only
    says thank you; the renewal shows at the next sync."""
    if state is None and code is None and error is None:
        return HTMLResponse(_PAGE.format(title="Thank you", message="You can close this window."))
    try:
        company = service.complete_authorization(session, state, code, error)
    except AppError as exc:
        detail = exc.detail + (f" ({error_description})" if error_description else "")
        page = _PAGE.format(title="Not connected", message=html.escape(detail))
        return HTMLResponse(page, status_code=exc.status)
    message = f"{html.escape(company.name)} is connected to Ponto. You can close this window."
    return HTMLResponse(_PAGE.format(title="Connected", message=message))
