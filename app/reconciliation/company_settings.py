"""Company settings that matching reads: the payment tolerance (changed under the ledger) and the thresholds."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.companies import service as companies
from app.companies.models import Company
from app.companies.schemas import CompanyUpdate
from app.reconciliation.ledger import Ledger
from app.reconciliation.matching import MatchConfig


def update_company(session: Session, company_id: str, data: CompanyUpdate, actor: str) -> Company:
    """Change what was sent (see companies.service.update_company); a tolerance change is audited."""
    if "payment_tolerance" not in data.model_fields_set:
        return companies.update_company(session, company_id, data)
    # The ledger is held before the tolerance changes: serialised with matching, which reads the tolerance.
    ledger = Ledger(session, company_id, actor)
    before = companies.get_company(session, company_id).payment_tolerance
    company = companies.update_company(session, company_id, data)
    ledger.audit("company.payment_tolerance", company_id, {"before": before, "after": company.payment_tolerance})
    ledger.settle()
    return company


def set_matching_config(session: Session, company: Company, overrides: dict[str, Any]) -> dict[str, Any]:
    """Store one company's overrides of the matching thresholds; returns the overrides now in force."""
    MatchConfig.from_overrides(overrides)  # refuses nothing valid, proves the values combine
    company.match_config = overrides or None
    session.add(company)
    return overrides
