"""HTTP routes for dashboards: a company's summary (read key suffices) and the admin's overview."""

from __future__ import annotations

from fastapi import APIRouter

from app.companies.access import CompanyDep
from app.core.auth import AdminDep
from app.core.db import SessionDep
from app.core.request_routes import CommittingRoute
from app.dashboard import service
from app.dashboard.schemas import Overview, Summary

router = APIRouter(route_class=CommittingRoute, tags=["dashboard"])


@router.get("/v1/companies/{vat}/summary", response_model=Summary, response_model_by_alias=True)
def company_summary(ctx: CompanyDep, session: SessionDep) -> Summary:
    """Open, overdue and paid-this-month amounts and counts, match rates and the review queue, for dashboards."""
    return service.company_summary(session, ctx.company)


@router.get("/v1/overview", response_model=Overview, response_model_by_alias=True)
def overview(_: AdminDep, session: SessionDep) -> Overview:
    """Every company's summary, for the integrator (admin key)."""
    return service.overview(session)
