"""Company registration, bank-account ownership and API keys (no HTTP here)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.companies.models import ApiKey, BankAccount, Company
from app.companies.schemas import CompanyCreate, CompanyPublic
from app.errors import Conflict, NotFound
from app.ids import new_id
from app.security import key_cache
from app.timeutil import utcnow


def create_company(session: Session, data: CompanyCreate) -> Company:
    if session.exec(select(Company.id).where(Company.vat == data.vat)).first():
        raise Conflict(f"company {data.vat} already exists")
    taken = session.exec(select(BankAccount.iban).where(col(BankAccount.iban).in_(data.bank_accounts))).all()
    if taken:
        raise Conflict(f"bank account {taken[0]} is registered to another company")
    company = Company(id=new_id("co"), vat=data.vat, name=data.name)
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


def to_public(session: Session, company: Company) -> CompanyPublic:
    return CompanyPublic(
        id=company.id,
        vat=company.vat,
        name=company.name,
        bank_accounts=bank_accounts(session, company.id),
        created_at=company.created_at,
    )


def revoke_api_key(session: Session, company_id: str, key_id: str) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or key.company_id != company_id:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    key_cache.forget(key_id)
