"""API shapes for companies and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.iban import IbanError, normalize_iban
from app.schemas import StrictInput
from app.vat import VatError, normalize_vat


class CompanyCreate(StrictInput):
    vat: str = Field(description="Belgian enterprise/VAT number in any usual notation.", examples=["BE0403200393"])
    name: str = Field(min_length=1, max_length=200)
    bank_accounts: list[str] = Field(default_factory=list, max_length=100, description="IBANs of the company.")

    @field_validator("vat")
    @classmethod
    def _vat(cls, value: str) -> str:
        try:
            return normalize_vat(value)
        except VatError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("bank_accounts")
    @classmethod
    def _ibans(cls, values: list[str]) -> list[str]:
        try:
            return list(dict.fromkeys(normalize_iban(v) for v in values))
        except IbanError as exc:
            raise ValueError(str(exc)) from None


class CompanyPublic(BaseModel):
    id: str
    vat: str
    name: str
    bank_accounts: list[str]
    created_at: datetime


class ApiKeyCreate(StrictInput):
    scope: Literal["read", "write"]


class ApiKeyCreated(BaseModel):
    id: str
    key: str = Field(description="The secret key; shown once, store it now.")
    scope: str
    company_vat: str


class MatchingConfigIn(StrictInput):
    """Per-company overrides of the matching policy (see docs/matching.md); omitted fields keep the default."""

    auto_threshold: float | None = Field(default=None, ge=0.5, le=1.0)
    suggest_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    fee_tolerance: str | None = Field(default=None, pattern=r"^\d{1,4}(\.\d{1,2})?$", description='e.g. "5.00"')
    fee_tolerance_ratio: str | None = Field(default=None, pattern=r"^0(\.\d{1,4})?$", description='e.g. "0.02"')
    name_threshold: float | None = Field(default=None, ge=50, le=100)
