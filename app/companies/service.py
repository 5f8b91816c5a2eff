"""Company registration, bank-account ownership and API keys (no HTTP here)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.companies.access import company_by_vat, company_cache
from app.companies.models import BankAccount, Company
from app.companies.schemas import CompanyCreate, CompanyPublic, CompanyUpdate, PaymentTolerance, PaymentTolerancePublic
from app.companies.tolerance import Tolerance
from app.core.auth import ApiKey, issue_api_key, key_cache
from app.core.errors import Conflict, NotFound
from app.core.ids import new_id
from app.core.pagination import decode_cursor, next_cursor
from app.core.schemas import Page
from app.core.timeutil import utcnow
from app.statements.models import Statement


def create_company(session: Session, data: CompanyCreate) -> Company:
    if session.exec(select(Company.id).where(Company.vat == data.vat)).first():
        raise Conflict(f"company {data.vat} already exists")
    taken = session.exec(select(BankAccount.iban).where(col(BankAccount.iban).in_(data.bank_accounts))).all()
    if taken:
        raise Conflict(f"bank account {taken[0]} is registered to another company")
    company = Company(
        id=new_id("co"),
        vat=data.vat,
        name=data.name,
        payment_tolerance=_tolerance_config(data.payment_tolerance),
        address=data.address.model_dump() if data.address else None,
        email=data.email,
    )
    try:
        session.add(company)
        session.flush()  # no ORM relationships here, so rows that point at the company come after it
        session.add_all(BankAccount(id=new_id("ba"), company_id=company.id, iban=iban) for iban in data.bank_accounts)
        session.flush()
    except IntegrityError:
        raise Conflict(f"company {data.vat} or one of its bank accounts already exists") from None
    return company


def bank_accounts(session: Session, company_id: str) -> list[str]:
    rows = session.exec(select(BankAccount.iban).where(BankAccount.company_id == company_id).order_by(BankAccount.iban))
    return list(rows.all())


def receiving_account(session: Session, company_id: str, iban: str | None) -> str | None:
    """The account a customer is asked to pay into: ``iban`` when it is the company's, else (None given) the one
    registered first; None when the company has none (or ``iban`` is not one of them)."""
    query = select(BankAccount.iban).where(BankAccount.company_id == company_id)
    if iban is not None:
        query = query.where(BankAccount.iban == iban)
    return session.exec(query.order_by(col(BankAccount.created_at), col(BankAccount.id)).limit(1)).first()


def _tolerance_config(data: PaymentTolerance | None) -> dict[str, str] | None:
    if data is None:
        return None
    return Tolerance(amount=data.amount, percent=data.percent).as_config()


def to_public(session: Session, company: Company) -> CompanyPublic:
    tolerance = Tolerance.from_config(company.payment_tolerance)
    return CompanyPublic(
        id=company.id,
        vat=company.vat,
        name=company.name,
        address=company.address,
        email=company.email,
        bank_accounts=bank_accounts(session, company.id),
        payment_tolerance=PaymentTolerancePublic(
            amount=tolerance.amount,
            percent=format(tolerance.percent.normalize(), "f") if tolerance.percent is not None else None,
        )
        if tolerance.enabled
        else None,
        created_at=company.created_at,
    )


def get_company(session: Session, company_id: str) -> Company:
    """The company as stored now (a request's context may hold a cached copy)."""
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"no company {company_id}")
    return company


def company_at(session: Session, vat: str) -> Company:
    """The company with this (normalised) VAT number; NotFound when there is none."""
    company = company_by_vat(session, vat)
    if company is None:
        raise NotFound(f"no company {vat}")
    return company


def list_companies(session: Session, limit: int, cursor: str | None) -> Page:
    """Every company, oldest first, a page at a time."""
    query = select(Company).order_by(col(Company.id)).limit(limit + 1)
    after = decode_cursor(cursor)
    if after:
        query = query.where(col(Company.id) > after)
    rows = list(session.exec(query).all())
    return Page(
        items=[to_public(session, c) for c in rows[:limit]],
        next_cursor=next_cursor([c.id for c in rows], limit),
    )


def update_company(session: Session, company_id: str, data: CompanyUpdate) -> Company:
    """Change what was sent; a new tolerance applies to payments matched from now on (settled ones stay).

    A tolerance change is audited under the ledger: callers go through
    app.reconciliation.company_settings.update_company, which calls this.
    """
    company = get_company(session, company_id)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        company.name = data.name
    if "address" in sent:
        company.address = data.address.model_dump() if data.address else None
    if "email" in sent:
        company.email = data.email
    if "payment_tolerance" in sent:
        company.payment_tolerance = _tolerance_config(data.payment_tolerance)
    if "bank_accounts" in sent and data.bank_accounts is not None:
        _set_bank_accounts(session, company_id, data.bank_accounts)
    session.add(company)
    session.flush()
    company_cache.clear()
    return company


def _set_bank_accounts(session: Session, company_id: str, ibans: list[str]) -> None:
    current = {a.iban: a for a in session.exec(select(BankAccount).where(BankAccount.company_id == company_id))}
    taken = session.exec(
        select(BankAccount.iban).where(col(BankAccount.iban).in_(ibans), BankAccount.company_id != company_id)
    ).first()
    if taken:
        raise Conflict(f"bank account {taken} is registered to another company")
    for iban, account in current.items():
        if iban in ibans:
            continue
        if session.exec(select(Statement.id).where(Statement.bank_account_id == account.id)).first():
            raise Conflict(f"bank account {iban} has statements; it cannot be removed")
        session.delete(account)
    session.add_all(
        BankAccount(id=new_id("ba"), company_id=company_id, iban=iban) for iban in ibans if iban not in current
    )


def company_key(session: Session, company_id: str, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.company_id != company_id:
        raise NotFound(f"no API key {key_id}")
    return key


def revoke_api_key(session: Session, company_id: str, key_id: str) -> ApiKey:
    key = company_key(session, company_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    key_cache.forget(key_id)
    return key


def list_api_keys(session: Session, company_id: str) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).where(ApiKey.company_id == company_id).order_by(col(ApiKey.id))).all())


def rotate_api_key(session: Session, company_id: str, key_id: str, grace_seconds: int) -> tuple[ApiKey, str]:
    """A new key of the same scope and name; the old one works ``grace_seconds`` more (never longer than it
    would have). A revoked key is not rotated."""
    old = company_key(session, company_id, key_id)
    now = utcnow()
    if not old.usable(now):
        raise Conflict(f"API key {key_id} is revoked or expired; issue a new one")
    ends = now + timedelta(seconds=grace_seconds)
    old.expires_at = ends if old.expires_at is None else min(ends, old.expires_at)
    session.add(old)
    key_cache.forget(key_id)
    return issue_api_key(session, company_id, old.scope, old.name)
