"""API shapes of rules and proposals (issue 42)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.core.schemas import MoneyIn, MoneyOut, StrictInput
from app.identifiers.iban import optional_iban

RuleAction = Literal["keep", "payer", "never_auto"]
RuleState = Literal["proposed", "off", "on", "dismissed"]
KeepReason = Literal["bank_fee", "manual", "discount"]


class RuleCustomer(StrictInput):
    """Whose invoices a payer rule pays: by VAT number when the invoices carry one, else by name as on them."""

    name: str = Field(min_length=1, max_length=200)
    vat: str | None = Field(default=None, max_length=20)


class RuleFields(StrictInput):
    words: list[str] = Field(default_factory=list, max_length=10, description="All in the communication (any case).")
    counterparty_iban: str | None = Field(default=None, max_length=40, description="The payer's or payee's account.")
    counterparty_name: str | None = Field(default=None, max_length=70, description="Contained in their name.")
    amount_min: MoneyIn | None = Field(default=None, description="The amount's size, either direction.")
    amount_max: MoneyIn | None = None
    direction: Literal["in", "out"] | None = None

    @field_validator("words")
    @classmethod
    def _words(cls, value: list[str] | None) -> list[str]:
        if value is None:  # only an explicit null gets here: PATCH leaves out what it does not change
            raise ValueError("must be a list of words, not null")
        words = [w.strip() for w in value if w.strip()]
        if any(len(w) > 70 for w in words):
            raise ValueError("a word is at most 70 characters")
        return words

    @field_validator("counterparty_iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return optional_iban(value)


class RuleCreate(RuleFields):
    name: str = Field(min_length=1, max_length=100, examples=["Bank charges KBC"])
    action: RuleAction
    reason: KeepReason | None = Field(default=None, description="keep: the write-off reason (default bank_fee).")
    customer: RuleCustomer | None = Field(default=None, description="payer: whose open invoices it pays.")
    state: Literal["off", "on"] = Field(default="off", description="Created off: try it first (GET .../trial).")

    @model_validator(mode="after")
    def _action_needs(self) -> RuleCreate:
        if self.action == "payer" and self.customer is None:
            raise ValueError("a payer rule names the customer whose invoices it pays")
        if self.action == "keep" and self.reason is None:
            self.reason = "bank_fee"
        if not (self.words or self.counterparty_iban or self.counterparty_name):
            raise ValueError("a rule needs words, an account or a name: an amount alone would catch anyone")
        return self


class RuleUpdate(StrictInput):
    """What changes; a field left out stays. ``state``: ``on`` applies it (a proposal too: accepting it), ``off``
    stops it, ``dismissed`` turns a proposal down for good."""

    # Bounds in the validator: a Field bound meets an explicit null with a TypeError (a 500).
    name: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra={"minLength": 1, "maxLength": 100})
    state: Literal["off", "on", "dismissed"] | SkipJsonSchema[None] = None
    words: list[str] | SkipJsonSchema[None] = None
    counterparty_iban: str | None = Field(default=None, max_length=40)
    counterparty_name: str | None = Field(default=None, max_length=70)
    amount_min: MoneyIn | None = None
    amount_max: MoneyIn | None = None
    direction: Literal["in", "out"] | None = None
    reason: KeepReason | SkipJsonSchema[None] = None

    _iban = field_validator("counterparty_iban")(RuleFields._iban.__func__)  # type: ignore[attr-defined]
    _words = field_validator("words")(RuleFields._words.__func__)  # type: ignore[attr-defined]

    @field_validator("name", "state", "reason")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:  # only an explicit null gets here: PATCH leaves out what it does not change
            raise ValueError("may be left out, not null")
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1 to 100 characters")
        return value


class RulePublic(BaseModel):
    id: str
    name: str
    state: RuleState
    action: RuleAction
    words: list[str]
    counterparty_iban: str | None
    counterparty_name: str | None
    amount_min: MoneyOut | None
    amount_max: MoneyOut | None
    direction: Literal["in", "out"] | None
    reason: str | None
    customer_name: str | None
    proposed_from: list[str] = Field(description="A proposal: the payments whose decisions it was made from.")
    created_by: str
    created_at: datetime
    updated_at: datetime
    applied: int | None = Field(default=None, description="Switching on: how many open payments it acted on.")


class TrialPayment(BaseModel):
    transaction_id: str
    booking_date: date
    amount: MoneyOut
    counterparty_name: str | None
    communication: str
    would: Literal["keep", "pay", "nothing"]
    detail: str
    invoice_ids: list[str]


class RuleTrial(BaseModel):
    """What the rule would do to the payments of the last ``days`` days that it fits; switching it on does it."""

    rule_id: str
    days: int
    since: date
    fitting: int
    acting: int
    payments: list[TrialPayment]


def rule_document(rule: Any, applied: int | None = None) -> dict[str, Any]:
    out = {name: getattr(rule, name) for name in RulePublic.model_fields if name != "applied"}
    out["words"] = list(rule.words or [])
    out["proposed_from"] = list(rule.proposed_from or [])
    out["applied"] = applied
    return out
