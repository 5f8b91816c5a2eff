"""HTTP routes for a company's CodaBox link: ask for the token, exchange it, see the state, sync now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.codabox import service
from app.db import SessionDep
from app.schemas import StrictInput
from app.security import CompanyDep

router = APIRouter(prefix="/v1/companies/{vat}/codabox", tags=["codabox"])


class TokenIn(StrictInput):
    token: str = Field(min_length=4, max_length=200, description="The one-time token CodaBox e-mailed the company.")


class FailedEntry(BaseModel):
    feed_index: str
    attempts: int
    last_error: str | None


class CodaboxStatus(BaseModel):
    enabled: bool
    state: str = Field(description="not_connected | token_requested | connected")
    last_sync_at: datetime | None
    last_error: str | None
    pending_deliveries: int
    delivered: int
    failed_deliveries: int
    statements_ingested: int
    statements_failed: int
    failed_entries: list[FailedEntry] = Field(
        description="The newest feed entries set aside as failed (at most 20), with why; later entries went on."
    )


@router.get("", response_model=CodaboxStatus)
def codabox_status(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """The company's CodaBox connection: its state, the last sync and its error, deliveries and feed entries."""
    return CodaboxStatus(**service.status(session, ctx.company))


@router.post("/access-token", status_code=202, response_model=CodaboxStatus)
def request_access_token(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Ask CodaBox to e-mail the company its one-time token."""
    service.request_access_token(session, ctx.company)
    session.flush()
    return CodaboxStatus(**service.status(session, ctx.company))


@router.post("/credentials", response_model=CodaboxStatus)
def exchange_credentials(data: TokenIn, ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Exchange the token for the company's CodaBox credentials (kept encrypted, never returned)."""
    service.exchange_token(session, ctx.company, data.token)
    session.flush()
    return CodaboxStatus(**service.status(session, ctx.company))


@router.post("/sync", status_code=202, response_model=CodaboxStatus)
def sync(ctx: CompanyDep, session: SessionDep) -> CodaboxStatus:
    """Poll the company's CodaBox feed now (in the background)."""
    service.request_sync(session, ctx.id)
    session.flush()
    return CodaboxStatus(**service.status(session, ctx.company))
