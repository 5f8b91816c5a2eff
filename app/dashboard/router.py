"""HTTP routes for dashboards: a company's summary (read key suffices) and the admin's overview."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from app.companies.access import CompanyDep
from app.core.auth import AdminDep
from app.core.db import SessionDep
from app.core.request_routes import CommittingRoute
from app.dashboard import service
from app.dashboard.automation import automation_weeks
from app.dashboard.schemas import Automation, Overview, Summary

BRUSSELS = ZoneInfo("Europe/Brussels")

router = APIRouter(route_class=CommittingRoute, tags=["dashboard"])


@router.get("/v1/companies/{vat}/summary", response_model=Summary, response_model_by_alias=True)
def company_summary(ctx: CompanyDep, session: SessionDep) -> Summary:
    """Open, overdue and paid-this-month amounts and counts, match rates and the review queue, for dashboards."""
    return service.company_summary(session, ctx.company)


@router.get("/v1/companies/{vat}/summary/automation", response_model=Automation)
def automation_summary(
    ctx: CompanyDep,
    session: SessionDep,
    weeks: Annotated[int, Query(ge=1, le=104, description="How many weeks, the last one holding `until`.")] = 12,
    until: Annotated[date | None, Query(description="A day of the last week shown; default today (Brussels).")] = None,
) -> dict[str, Any]:
    """The automation monitor: per ISO week, the share of money in that carried a structured reference, the
    share the engine settled, suggestions accepted and rejected, the median days from booking to settlement and
    the money that came back."""
    last = until or datetime.now(BRUSSELS).date()
    return {"weeks": automation_weeks(session, ctx.id, weeks, last)}


@router.get("/v1/overview", response_model=Overview, response_model_by_alias=True)
def overview(_: AdminDep, session: SessionDep) -> Overview:
    """Every company's summary, for the integrator (admin key)."""
    return service.overview(session)
