"""Company registration, bank-account ownership and API keys (no HTTP here)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.companies.access import company_cache
from app.companies.models import BankAccount, Company
from app.companies.schemas import CompanyCreate, CompanyPublic, CompanyUpdate, PaymentTolerance, PaymentTolerancePublic
from app.core.auth import ApiKey, key_cache
from app.core.errors import Conflict, NotFound
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.reconciliation.tolerance import Tolerance
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


def update_company(session: Session, company_id: str, data: CompanyUpdate, actor: str) -> Company:
    """Change what was sent; a new tolerance applies to payments matched from now on (settled ones stay)."""
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"no company {company_id}")
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        company.name = data.name
    if "address" in sent:
        company.address = data.address.model_dump() if data.address else None
    if "email" in sent:
        company.email = data.email
    if "payment_tolerance" in sent:
        from app.reconciliation.ledger import Ledger

        before = company.payment_tolerance
        company.payment_tolerance = _tolerance_config(data.payment_tolerance)
        ledger = Ledger(session, company_id, actor)  # serialised with matching, which reads the tolerance
        ledger.audit("company.payment_tolerance", company_id, {"before": before, "after": company.payment_tolerance})
        ledger.settle()
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


def revoke_api_key(session: Session, company_id: str, key_id: str) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or key.company_id != company_id:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    key_cache.forget(key_id)
