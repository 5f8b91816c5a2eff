"""HTTP routes for a company's CodaBox link: ask for the token, exchange it, see the state, sync now; an admin
resumes a connection stopped by a statement of another enterprise, or disconnects it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.codabox import service
from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.errors import Forbidden
from app.core.request_routes import CommittingRoute
from app.core.schemas import StrictInput

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}/codabox", tags=["codabox"])


class TokenIn(StrictInput):
    token: str = Field(min_length=4, max_length=200, description="The one-time token CodaBox e-mailed the company.")


class CodaboxClientPublic(BaseModel):
    id: str = Field(description="CodaBox's id of the feed client (its feed).")
    name: str | None = Field(description="The client's name as CodaBox (the accountant) knows it.")
    code: str | None = Field(description="CodaBox's client code.")


class EntrySetAside(BaseModel):
    feed_index: str
    document_model: str | None = Field(description="CodaBox's document model of the entry (coda, sales_invoice, ...).")
    outcome: str = Field(
        description="failed (unreadable, or could not be stored) | skipped (not a bank statement) | foreign (a "
        "statement of another enterprise; nothing of it stored)"
    )
    reason: str | None
    holder_number: str | None = Field(description="For foreign: the enterprise number the statement names.")
    attempts: int


class CodaboxStatus(BaseModel):
    enabled: bool
    state: str = Field(
        description="not_connected | token_requested | connected | mismatch (a statement of another enterprise "
        "came through the feed: syncing stopped until an admin resumes or disconnects)"
    )
    clients: list[CodaboxClientPublic] = Field(description="Whom CodaBox says the stored credentials serve.")
    warnings: list[str] = Field(description="Things a person should check, e.g. a client name unlike the company's.")
    mismatch: str | None = Field(description="In state mismatch: which feed entry named which enterprise.")
    statement_format: str | None = Field(description="The format bank statements are downloaded in: cod or xml.")
    fetch_delay: int | None = Field(description="CodaBox's least interval between two polls of the feed, seconds.")
    last_polled_at: datetime | None
    next_poll_at: datetime | None = Field(description="The earliest a sync may poll the feed again.")
    last_sync_at: datetime | None
    last_error: str | None
    pending_deliveries: int
    delivered: int
    failed_deliveries: int
    statements_ingested: int
    statements_duplicate: int = Field(
        description="Feed entries whose statements were all stored before (uploaded, or sent twice): nothing new."
    )
    statements_failed: int
    entries_skipped: int = Field(description="Feed entries that are not bank statements (recorded, not read).")
    statements_foreign: int = Field(description="Statements of another enterprise (recorded, never stored).")
    entries_set_aside: list[EntrySetAside] = Field(
        description="The newest feed entries not ingested (at most 20), with why; later entries went on."
    )


def _status(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    session.flush()
    return CodaboxStatus(**service.status(session, ctx.company))


@router.get("", response_model=CodaboxStatus)
def codabox_status(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """The company's CodaBox connection: whom it serves, its state, polls, deliveries and feed entries."""
    return _status(ctx, session)


@router.post("/access-token", status_code=202, response_model=CodaboxStatus)
def request_access_token(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Ask CodaBox to e-mail the company its one-time token."""
    service.request_access_token(session, ctx.company)
    return _status(ctx, session)


@router.post("/credentials", response_model=CodaboxStatus)
def exchange_credentials(data: TokenIn, ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Exchange the token for the company's CodaBox credentials (kept encrypted, never returned).

    CodaBox names the client the credentials serve (shown in `clients`, with a warning when the name is unlike
    the company's) but gives no VAT number: every statement that then comes through the feed is checked to be
    the company's own, by the enterprise number the bank file names."""
    service.exchange_token(session, ctx.company, data.token)
    return _status(ctx, session)


@router.post(
    "/sync",
    status_code=202,
    response_model=CodaboxStatus,
    responses={
        409: {"description": "The connection is not `connected` (nothing to sync, or stopped by a mismatch)."},
        429: {"description": "CodaBox's fetch_delay since the last poll has not passed: retry after `Retry-After`."},
    },
)
def sync(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Poll the company's CodaBox feed now (in the background), at most once per CodaBox's fetch_delay."""
    service.request_sync(session, ctx.id)
    return _status(ctx, session)


@router.post("/resume", response_model=CodaboxStatus, responses={409: {"description": "Not in `mismatch`."}})
def resume(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Admin: keep a connection stopped by a statement of another enterprise, and sync again. The foreign
    entries stay recorded and are never read."""
    _admin_only(ctx)
    service.resume(session, ctx.company)
    return _status(ctx, session)


@router.delete("", response_model=CodaboxStatus)
def disconnect(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Admin: forget the company's CodaBox credentials (what was stored stays); connect again with a new token."""
    _admin_only(ctx)
    service.disconnect(session, ctx.company)
    return _status(ctx, session)


def _admin_only(ctx: CompanyDep) -> None:
    if ctx.principal.kind != "admin":
        raise Forbidden("this operation needs the admin (integrator) key")
