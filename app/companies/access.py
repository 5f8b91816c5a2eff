"""Which company a request may touch: tenancy is decided here and only here.

Every ``/v1/companies/{vat}/...`` route depends on :func:`current_company`, which resolves the company and
checks that the credential reaches it with the scope the HTTP method needs (GET/HEAD: read; anything else: write).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select

from app.companies.models import Company
from app.core.auth import Principal, authenticate
from app.core.db import unit_of_work
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.identifiers.vat import VatError, normalize_vat


def company_by_vat(session: Session, vat: str) -> Company | None:
    return session.exec(select(Company).where(Company.vat == vat)).first()


def path_vat(vat: str) -> str:
    """The company a path names. A value that is no Belgian VAT number names no company: 404, as for a valid
    number nobody registered (the path is an address, not input to validate; a body's VAT is 422)."""
    try:
        return normalize_vat(vat)
    except VatError as exc:
        raise NotFound(f"no company {vat!r}: {exc}") from None


def given_vat(vat: str, loc: str) -> str:
    """A VAT number given in a body: one that is no Belgian VAT number is invalid input (422) at ``loc``."""
    try:
        return normalize_vat(vat)
    except VatError as exc:
        raise ValidationFailed(str(exc), errors=[{"loc": loc, "message": str(exc)}]) from None


class _CompanyCache:
    """VAT -> company, briefly: companies are never renamed or moved, so a short cache is safe."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Company]] = {}

    def get(self, vat: str) -> Company | None:
        entry = self._entries.get(vat)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, company: Company) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[company.vat] = (time.monotonic() + 30.0, company)

    def clear(self) -> None:
        self._entries.clear()


company_cache = _CompanyCache()


def _load_company(vat: str) -> Company | None:
    with unit_of_work(read_only=True) as session:
        return company_by_vat(session, vat)


@dataclass(frozen=True, slots=True)
class CompanyContext:
    company: Company
    principal: Principal

    @property
    def id(self) -> str:
        return self.company.id

    @property
    def actor(self) -> str:
        return self.principal.actor


async def current_company(vat: str, request: Request) -> CompanyContext:
    # Authenticates itself rather than through PrincipalDep: one dependency level less on every company
    # request (FastAPI's per-level work was a sixth of the hot read). No route takes both.
    principal = await authenticate(request)
    normalized = path_vat(vat)
    company = company_cache.get(normalized)
    if company is None:
        company = await run_in_threadpool(_load_company, normalized)
        if company is not None:
            company_cache.put(company)
    if principal.kind != "admin":
        # Another company's key learns nothing: same 404 whether the company exists or not.
        if company is None or company.id != principal.company_id:
            raise NotFound(f"no company {normalized}")
        needed = "read" if request.method in ("GET", "HEAD") else "write"
        if needed == "write" and principal.scope != "write":
            raise Forbidden("this API key has scope 'read'; this operation needs 'write'")
    elif company is None:
        raise NotFound(f"no company {normalized}")
    return CompanyContext(company=company, principal=principal)


CompanyDep = Annotated[CompanyContext, Depends(current_company)]
