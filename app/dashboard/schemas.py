"""API shapes for dashboard figures."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.core.schemas import MoneyOut


class CountAmount(BaseModel):
    count: int
    amount: MoneyOut


class Ageing(BaseModel):
    not_due: CountAmount
    d1_30: CountAmount = Field(alias="1_30", serialization_alias="1_30")
    d31_60: CountAmount = Field(alias="31_60", serialization_alias="31_60")
    d61_90: CountAmount = Field(alias="61_90", serialization_alias="61_90")
    over_90: CountAmount


class Matching(BaseModel):
    """Money in (booked leaf credits): how much of it is accounted for, and what still needs a person."""

    incoming_transactions: int = Field(description="Booked credits (money in), leaf movements.")
    matched: int = Field(description="Credits fully accounted for.")
    partially_matched: int = Field(description="Credits with a remainder nobody has accounted for yet.")
    suggested: int
    unmatched: int
    incoming_amount: MoneyOut = Field(description="All money in.")
    allocated_amount: MoneyOut = Field(description="Money in allocated to invoices (net of credit notes).")
    written_off_amount: MoneyOut = Field(description="Money in accounted for by write-offs without an invoice.")
    unallocated_amount: MoneyOut = Field(description="Money in nobody has accounted for yet.")
    match_rate: float | None = Field(description="Share of money in that is accounted for (allocated or written off).")
    auto_match_rate: float | None = Field(description="Share of money in allocated by the matcher without a person.")
    transaction_match_rate: float | None = Field(description="Fully matched credits / incoming credits.")
    review_queue: int = Field(description="Credits that need a person: suggested, unmatched or partially matched.")
    open_suggestions: int


class ReturnReason(BaseModel):
    code: str | None = Field(
        description="The ISO 20022 reason code (AM04, MD06, AC04...); null when the bank gave none."
    )
    text: str | None = Field(description="Its text in English; null for a code the code set does not list.")
    count: int
    amount: MoneyOut


class Returns(BaseModel):
    """Money that came back (returned, refused, refunded or reversed collections; returned transfers), once
    traced to the payment it took back."""

    count: int
    amount: MoneyOut = Field(description="What came back, all reasons together.")
    reasons: list[ReturnReason] = Field(description="By reason, the largest amount first.")


class Summary(BaseModel):
    company_vat: str
    company_name: str
    as_of: date
    open: CountAmount = Field(description="Open and partially paid invoices; amount is what is still due.")
    overdue: CountAmount
    paid_this_month: CountAmount = Field(description="Invoices settled this month (by booking date); total amounts.")
    pending: CountAmount = Field(
        description="Open invoices with money on its way (pending payments the bank shows, not booked yet: Ponto "
        "Connect); amount is their pending amounts, never counted as paid."
    )
    ageing: Ageing = Field(description="Amount due by days past the due date.")
    days_sales_outstanding: float | None = Field(description="Receivables / last 90 days' invoiced sales x 90.")
    matching: Matching
    returns: Returns


class Overview(BaseModel):
    as_of: date
    companies: list[Summary]


class AutomationWeek(BaseModel):
    """One ISO week of booking dates (app/dashboard/automation.py says what each figure counts)."""

    week: str = Field(description='ISO week, "2026-W49".', examples=["2026-W49"])
    starts: date = Field(description="Its Monday.")
    incoming: int = Field(description="Money in booked in the week (leaf movements).")
    with_reference: int = Field(description="Of those, the ones carrying a structured reference (OGM or RF).")
    reference_share: float | None = Field(description="with_reference / incoming; null without money in.")
    settled_automatically: int = Field(description="Money in that the engine allocated, every allocation its own.")
    automatic_share: float | None = Field(description="settled_automatically / incoming; null without money in.")
    settled_by_people: int = Field(description="Money in with an allocation a person made.")
    suggestions_accepted: int = Field(description="Suggestions accepted in the week (UTC day of the decision).")
    suggestions_rejected: int = Field(description="Suggestions rejected in the week.")
    median_days_to_settlement: float | None = Field(
        description="Median days from booking to a payment's first allocation; null when none settled."
    )
    returned: CountAmount = Field(description="Money that came back (return allocations), by its booking week.")


class Automation(BaseModel):
    """How much of the money in settles without a person, week by week, oldest first."""

    weeks: list[AutomationWeek]
