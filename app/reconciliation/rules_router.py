"""HTTP routes for rules a bookkeeper names and the proposals made from people's decisions (issue 42)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.request_routes import CommittingRoute
from app.reconciliation import rules_service
from app.reconciliation.rules_schemas import RuleCreate, RulePublic, RuleState, RuleTrial, RuleUpdate, rule_document

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}/rules", tags=["rules"])


@router.get("", response_model=list[RulePublic])
def list_rules(
    ctx: CompanyDep,
    session: SessionDep,
    state: Annotated[RuleState | None, Query(description="Only rules in this state (proposed: the proposals).")] = None,
) -> list[dict[str, Any]]:
    """The company's rules and proposals, oldest first (the oldest rule that fits a payment acts on it)."""
    return [rule_document(r) for r in rules_service.list_rules(session, ctx.id, state)]


@router.post("", status_code=201, response_model=RulePublic)
def create_rule(data: RuleCreate, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Name a rule: conditions (words, account, name, amount range, direction) and one action (keep with a
    reason, pay a customer's open invoices, never match automatically). It is off until switched on; a
    reference match always outranks it."""
    rule = rules_service.create_from(session, ctx.id, data, ctx.actor)
    return rule_document(rule)


@router.get("/{rule_id}", response_model=RulePublic)
def get_rule(rule_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """One rule or proposal: its conditions, action and state."""
    return rule_document(rules_service.rule_at(session, ctx.id, rule_id))


@router.patch("/{rule_id}", response_model=RulePublic)
def update_rule(rule_id: str, data: RuleUpdate, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Edit a rule or a proposal, or set its state: ``on`` applies it to the open payments of the last 90 days
    exactly as its trial says (accepting a proposal), ``off`` stops it, ``dismissed`` turns a proposal down."""
    rule = rules_service.rule_at(session, ctx.id, rule_id)
    done = rules_service.update_rule(session, rule, data.model_dump(exclude_unset=True), ctx.actor)
    return rule_document(rule, done.get("applied"))


@router.delete("/{rule_id}", status_code=204)
def delete_rule(rule_id: str, ctx: CompanyDep, session: SessionDep) -> Response:
    """Remove a rule (what it did stays, each undoable like any decision)."""
    rules_service.delete_rule(session, rules_service.rule_at(session, ctx.id, rule_id), ctx.actor)
    return Response(status_code=204)


@router.get("/{rule_id}/trial", response_model=RuleTrial)
def try_rule(
    rule_id: str,
    ctx: CompanyDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=366, description="How far back, in days of booking.")] = 90,
) -> dict[str, Any]:
    """What the rule would do, and to which payments, over the last days: nothing is changed."""
    return rules_service.trial(session, rules_service.rule_at(session, ctx.id, rule_id), days)
