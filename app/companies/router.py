"""HTTP routes for companies and API keys (admin), and a company reading itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from app.companies import service
from app.companies.access import CompanyDep, path_vat
from app.companies.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeyRotate,
    BankAccountMove,
    BankAccountMoved,
    CompanyCreate,
    CompanyPublic,
    CompanyUpdate,
    MatchingConfigIn,
)
from app.core.auth import AdminDep, issue_api_key
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.idempotency import SECRET_FIELDS
from app.core.pagination import CursorQuery, LimitQuery
from app.core.request_routes import CommittingRoute
from app.core.schemas import Page
from app.core.timeutil import utcnow
from app.identifiers.iban import IbanError, normalize_iban
from app.reconciliation import audit, company_settings
from app.reconciliation.account_moves import move_bank_account

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies", tags=["companies"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CompanyPublic)
def create_company(data: CompanyCreate, session: SessionDep, _: AdminDep) -> CompanyPublic:
    """Register a company by its VAT number, with its bank accounts (admin). 409 when it or an account exists."""
    return service.to_public(session, service.create_company(session, data))


@router.get("", response_model=Page[CompanyPublic])
def list_companies(session: SessionDep, _: AdminDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> Page:
    """Every company, oldest first, a page at a time (admin)."""
    return service.list_companies(session, limit, cursor)


@router.get("/{vat}", response_model=CompanyPublic)
def get_company(ctx: CompanyDep, session: SessionDep) -> CompanyPublic:
    """The company: name, address, bank accounts and payment tolerance."""
    return service.to_public(session, service.get_company(session, ctx.id))  # fresh: ctx may hold a cached copy


@router.patch("/{vat}", response_model=CompanyPublic)
def update_company(data: CompanyUpdate, ctx: CompanyDep, session: SessionDep) -> CompanyPublic:
    """Change the company's name, bank accounts or payment tolerance (admin, or the company's write key)."""
    return service.to_public(session, company_settings.update_company(session, ctx.id, data, ctx.actor))


@router.post("/{vat}/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(vat: str, data: ApiKeyCreate, request: Request, session: SessionDep, _: AdminDep) -> ApiKeyCreated:
    """Issue a company key; the key is in this answer only (a replay under the same Idempotency-Key omits it)."""
    setattr(request.state, SECRET_FIELDS, ("key",))
    company = service.company_at(session, path_vat(vat))
    key, plain = issue_api_key(session, company.id, data.scope, data.name)
    audit.record(session, company.id, "admin", "api_key.created", key.id, {"scope": key.scope, "name": key.name})
    return ApiKeyCreated(id=key.id, key=plain, scope=key.scope, company_vat=company.vat, name=key.name)


@router.get("/{vat}/api-keys", response_model=list[ApiKeyPublic])
def list_api_keys(vat: str, session: SessionDep, _: AdminDep) -> list[dict[str, Any]]:
    """The company's keys (admin), oldest first: name, scope, when issued, revoked or ending; never a secret."""
    company = service.company_at(session, path_vat(vat))
    now = utcnow()
    return [
        {
            "id": k.id,
            "name": k.name,
            "scope": k.scope,
            "created_at": k.created_at,
            "revoked_at": k.revoked_at,
            "expires_at": k.expires_at,
            "last_used_at": k.last_used_at,
            "active": k.usable(now),
        }
        for k in service.list_api_keys(session, company.id)
    ]


@router.post("/{vat}/api-keys/{key_id}/rotate", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def rotate_api_key(
    vat: str, key_id: str, data: ApiKeyRotate, request: Request, session: SessionDep, _: AdminDep
) -> ApiKeyCreated:
    """Issue a new key of the same scope and name (shown once); the old one works for the grace period."""
    setattr(request.state, SECRET_FIELDS, ("key",))
    company = service.company_at(session, path_vat(vat))
    key, plain = service.rotate_api_key(session, company.id, key_id, data.grace_seconds)
    audit.record(
        session,
        company.id,
        "admin",
        "api_key.rotated",
        key_id,
        {"new_key_id": key.id, "grace_seconds": data.grace_seconds},
    )
    return ApiKeyCreated(id=key.id, key=plain, scope=key.scope, company_vat=company.vat, name=key.name)


@router.delete("/{vat}/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(vat: str, key_id: str, session: SessionDep, _: AdminDep) -> Response:
    """Revoke a company key (admin): every API process refuses it within a second."""
    company = service.company_at(session, path_vat(vat))
    key = service.revoke_api_key(session, company.id, key_id)
    audit.record(session, company.id, "admin", "api_key.revoked", key.id, {"name": key.name})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{vat}/matching-config", response_model=dict)
def set_matching_config(vat: str, data: MatchingConfigIn, session: SessionDep, _: AdminDep) -> dict:
    """Override the matching thresholds for one company (admin); returns the overrides now in force."""
    company = service.company_at(session, path_vat(vat))
    return company_settings.set_matching_config(session, company, data.model_dump(exclude_none=True))


@router.post("/{vat}/bank-accounts/{iban}/move", response_model=BankAccountMoved)
def move_account(vat: str, iban: str, data: BankAccountMove, session: SessionDep, _: AdminDep) -> BankAccountMoved:
    """Move a bank account, with its statements, to the company that really holds it (admin). 409 while any
    of its money is allocated or written off at the current company; open suggestions there are withdrawn."""
    source = service.company_at(session, path_vat(vat))
    target = service.company_at(session, data.to)
    try:
        account_iban = normalize_iban(iban)
    except IbanError as exc:
        raise NotFound(f"no bank account {iban!r}: {exc}") from None  # the path names no account: 404
    account, moved = move_bank_account(session, source, account_iban, target, "admin")
    return BankAccountMoved(iban=account.iban, company_vat=target.vat, transactions=moved)
