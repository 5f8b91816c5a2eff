"""HTTP routes for dashboards: a company's summary (read key suffices) and the admin's overview."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from app.companies.access import CompanyDep
from app.companies.models import Company
from app.core.auth import AdminDep
from app.core.db import SessionDep
from app.core.request_routes import CommittingRoute
from app.dashboard.schemas import Overview, Summary
from app.dashboard.service import summaries

router = APIRouter(route_class=CommittingRoute, tags=["dashboard"])


def _summary(company: Company, figures: dict[str, Any], today: date) -> Summary:
    return Summary.model_validate({"company_vat": company.vat, "company_name": company.name, "as_of": today, **figures})


@router.get("/v1/companies/{vat}/summary", response_model=Summary, response_model_by_alias=True)
def company_summary(ctx: CompanyDep, session: SessionDep) -> Summary:
    """Open, overdue and paid-this-month amounts and counts, match rates and the review queue, for dashboards."""
    today = date.today()
    figures = summaries(session, [ctx.id], today)[ctx.id]
    return _summary(ctx.company, figures, today)


@router.get("/v1/overview", response_model=Overview, response_model_by_alias=True)
def overview(_: AdminDep, session: SessionDep) -> Overview:
    """Every company's summary, for the integrator (admin key)."""
    today = date.today()
    companies = list(session.exec(select(Company).order_by(col(Company.vat))).all())
    figures = summaries(session, [c.id for c in companies], today)
    return Overview(as_of=today, companies=[_summary(c, figures[c.id], today) for c in companies])
