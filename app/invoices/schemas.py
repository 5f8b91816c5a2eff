"""API shapes for invoices: what clients send, what they get back."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from app.core.errors import ValidationFailed
from app.core.money import CENT
from app.core.schemas import (
    AddressIn,
    AddressPublic,
    DecimalIn,
    MoneyIn,
    MoneyOut,
    NonNegativeDecimalIn,
    PercentIn,
    StrictInput,
    checked_email,
)
from app.identifiers.iban import optional_iban
from app.identifiers.references import ReferenceError_, normalize_reference
from app.identifiers.vat import VatError, normalize_customer_vat
from app.peppol.lines import Line, Totals, compute_totals
from app.peppol.reading import UblFacts
from app.peppol.validation import Finding, Report
from app.reconciliation.schemas import AllocationPublic, ReturnPublic, WriteOffPublic

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNIT = re.compile(r"^[A-Z0-9]{2,3}$")
_PEPPOL_ID = re.compile(r"^[0-9]{4}:[A-Za-z0-9][A-Za-z0-9.\-]{0,49}$")


class LineIn(StrictInput):
    """One invoice line (EN 16931 BG-25): its net amount is quantity x unit_price, rounded to the cent."""

    description: str = Field(min_length=1, max_length=500)
    quantity: DecimalIn = Field(description="Non-zero, at most 4 decimals.", examples=["2"])
    unit_price: NonNegativeDecimalIn = Field(description="Net price per unit, at most 4 decimals.", examples=["50.00"])
    unit_code: str = Field(default="C62", description="UN/ECE rec. 20 unit (C62: one, HUR: hour, DAY: day).")
    vat_category: Literal["S", "Z", "E", "AE", "K", "G", "O"] = Field(
        default="S",
        description="S standard, Z zero rated, E exempt, AE reverse charge, K intra-EU supply, G export, O out of scope.",
    )
    vat_rate: PercentIn | None = Field(
        default=None, description="In %: 21, 12, 6 for S; 0 (or omitted) for every other category."
    )
    vat_exemption_reason: str | None = Field(
        default=None,
        max_length=300,
        description="Why no VAT is charged: text or a VATEX code; required for E, implied for AE, K, G and O.",
    )

    @field_validator("unit_code")
    @classmethod
    def _unit(cls, value: str) -> str:
        if not _UNIT.match(value):
            raise ValueError("must be a UN/ECE recommendation 20 code such as C62")
        return value

    @model_validator(mode="after")
    def _category_rules(self) -> LineIn:
        if self.quantity == 0:
            raise ValueError("quantity must not be zero")
        if self.vat_category == "S":
            if self.vat_rate is None or self.vat_rate <= 0:
                raise ValueError("a standard-rated line (S) needs its vat_rate, above 0")
        elif self.vat_rate not in (None, 0):
            raise ValueError(f"category {self.vat_category} has no VAT: vat_rate must be 0 or omitted")
        if self.vat_category == "E" and not self.vat_exemption_reason:
            raise ValueError("an exempt line (E) needs its vat_exemption_reason")
        return self

    def to_line(self) -> Line:
        return Line(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            unit_code=self.unit_code,
            vat_category=self.vat_category,
            vat_rate=self.vat_rate or Decimal(0),
            vat_exemption_reason=self.vat_exemption_reason,
        )


class CustomerIn(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    vat: str | None = Field(default=None, max_length=20)
    iban: str | None = None
    email: str | None = Field(default=None, max_length=320)
    address: AddressIn | None = None
    peppol_id: str | None = Field(
        default=None,
        description="Peppol participant id, scheme:identifier; derived as 0208:<enterprise number> from a Belgian VAT.",
        examples=["0208:0417497106"],
        json_schema_extra={"pattern": r"^[ \t\n\r]*(?:[0-9]{4}:[A-Za-z0-9][A-Za-z0-9.\-]{0,49})?[ \t\n\r]*$"},
    )

    @field_validator("peppol_id")
    @classmethod
    def _peppol_id(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _PEPPOL_ID.match(value):
            raise ValueError("must be scheme:identifier, such as 0208:0417497106")
        return value

    def derived_peppol_id(self) -> str | None:
        """The id given, or the Belgian enterprise number's (scheme 0208) when the VAT number is Belgian."""
        if self.peppol_id:
            return self.peppol_id
        return f"0208:{self.vat[2:]}" if self.vat and self.vat.startswith("BE") else None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return optional_iban(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return checked_email(value)

    @field_validator("vat")
    @classmethod
    def _vat(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return normalize_customer_vat(value)
        except VatError as exc:
            raise ValueError(str(exc)) from None


#: At least one byte of base64, padded, the JSON whitespace around it.
BASE64_TEXT = (
    r"^[ \t\n\r]*(?:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
    r"|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)[ \t\n\r]*$"
)


class DocumentIn(StrictInput):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100, examples=["application/pdf"])
    content_base64: str = Field(
        min_length=1,
        # What base64.b64decode(validate=True) reads after the JSON whitespace around it is trimmed.
        json_schema_extra={"pattern": BASE64_TEXT, "contentEncoding": "base64"},
    )

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


def is_xml(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in ("application/xml", "text/xml")


def _date_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # the rules name a malformed date


def _normalized_or_none(text: str | None) -> str | None:
    """A PaymentID that is an OGM or RF reference, normalised; free text is not a structured reference."""
    try:
        return normalize_reference(text) if text else None
    except ReferenceError_:
        return None


def _document_customer(fields: dict[str, Any]) -> CustomerIn | None:
    """The buyer as the document names it. What our checks refuse (a VAT number failing its check digits, an
    odd participant id) is left out rather than refusing a document the official rules accept."""
    if not fields.get("name"):
        return None
    for drop in ((), ("vat",), ("vat", "peppol_id"), ("vat", "peppol_id", "address")):
        try:
            return CustomerIn.model_validate({k: v for k, v in fields.items() if k not in drop})
        except ValidationError:
            continue
    return None


class InvoiceCreate(StrictInput):
    external_id: str = Field(min_length=1, max_length=200, description="The invoicing app's own id; idempotency key.")
    number: str | None = Field(
        default=None, min_length=1, max_length=100, description="Required unless a UBL document gives it."
    )
    kind: Literal["invoice", "credit_note"] = "invoice"
    issue_date: date | None = Field(default=None, description="Required unless a UBL document gives it.")
    due_date: date | None = Field(default=None, description="Required unless a UBL document gives it.")
    currency: str = Field(default="EUR", description="ISO 4217 code.")
    total_amount: MoneyIn | None = Field(
        default=None,
        description="Required without lines or a UBL document; when given, it must equal what they come to.",
    )
    customer: CustomerIn | None = Field(default=None, description="Required unless a UBL document gives it.")
    lines: list[LineIn] = Field(
        default_factory=list, max_length=1000, description="EN 16931 lines: totals and VAT are computed from them."
    )
    buyer_reference: str | None = Field(default=None, max_length=200, description="BT-10, the buyer's reference.")
    billing_reference: str | None = Field(
        default=None, max_length=100, description="For a credit note: the number of the invoice it corrects (BT-25)."
    )
    structured_reference: str | None = Field(
        default=None,
        description="OGM/VCS in any usual notation or an ISO 11649 RF reference; generated when absent.",
        examples=["+++090/9337/55493+++"],
    )
    mandate_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=35,
        description="SEPA direct debit: the mandate the company collects this invoice under. A collection under "
        "this mandate for the invoice's amount due pays it.",
    )
    collection_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=35,
        description="SEPA direct debit: the end-to-end id the company put in the collection (pain.008) for this "
        "invoice. A collection carrying it pays the invoice as surely as its OGM.",
    )
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if not _CURRENCY.match(value):
            raise ValueError("must be an ISO 4217 currency code such as EUR")
        return value

    @field_validator("total_amount")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < CENT:
            raise ValueError("must be greater than zero")
        return value

    @field_validator("structured_reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalize_reference(value)
        except ReferenceError_ as exc:
            raise ValueError(str(exc)) from None

    _ubl: UblFacts | None = PrivateAttr(default=None)
    _ubl_unreadable: Finding | None = PrivateAttr(default=None)
    _ubl_report: Report | None = PrivateAttr(default=None)
    _ubl_read: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _from_ubl(self) -> InvoiceCreate:
        """A UBL document attached (application/xml) is the invoice: what the JSON omits is read from it, and
        what the JSON gives must agree with it (``take_ubl``, once the document is read in a worker process:
        never here, on the event loop). Its rules and seller are checked by the service."""
        xml = [doc for doc in self.documents if is_xml(doc.content_type)]
        if len(xml) > 1:
            raise ValueError("attach at most one UBL document (application/xml)")
        if xml:
            if self.lines:
                raise ValueError("send lines or a UBL document, not both: the document's lines are the invoice's")
            return self
        self._require_the_essentials()
        return self

    def _require_the_essentials(self) -> None:
        missing = [name for name in ("number", "issue_date", "due_date", "customer") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} required (or attach the invoice's UBL document)")

    def take_ubl(self, facts: UblFacts | Finding, report: Report | None) -> None:
        """The attached document as read (app/peppol/work.py): fill in what the JSON omits, refuse disagreements."""
        if self.__pydantic_private__["_ubl_read"]:  # type: ignore[index]
            return
        self._ubl_read = True
        if isinstance(facts, Finding):
            self._ubl_unreadable = facts  # refused by the service, with the rule
            return
        self._ubl, self._ubl_report = facts, report
        conflicts = [c for c in self._take_from(facts) if c]
        try:
            if conflicts:
                raise ValueError("the UBL document disagrees with the JSON: " + "; ".join(conflicts))
            self._require_the_essentials()
            if self.total_amount is None:
                raise ValueError("total_amount is required: the UBL document states none")
        except ValueError as exc:
            raise ValidationFailed(str(exc), errors=[{"loc": "body", "message": str(exc)}]) from None

    def _take_from(self, facts: UblFacts) -> list[str | None]:
        given = self.model_fields_set
        document_reference = _normalized_or_none(facts.payment_id)
        document_customer = _document_customer(facts.customer)
        return [
            self._agree("number", facts.number, facts.number),
            self._agree("issue_date", facts.issue_date, _date_or_none(facts.issue_date)),
            self._agree(
                "due_date", facts.due_date or facts.issue_date, _date_or_none(facts.due_date or facts.issue_date)
            ),
            self._agree("total_amount", facts.total_amount, facts.total_amount),
            self._agree("structured_reference", document_reference, document_reference),
            self._agree("buyer_reference", facts.buyer_reference, facts.buyer_reference),
            self._agree("billing_reference", facts.billing_reference, facts.billing_reference),
            self._agree("currency", facts.currency, facts.currency, given=given),
            self._agree("kind", facts.kind, facts.kind, given=given),
            self._agree("customer", document_customer, document_customer),
            self._customer_vat_agrees(document_customer),
        ]

    def _agree(self, name: str, shown: Any, value: Any, *, given: set[str] | None = None) -> str | None:
        if value is None:
            return None
        mine = getattr(self, name)
        if mine is None or (given is not None and name not in given):
            setattr(self, name, value)
            return None
        if name == "customer" or mine == value:
            return None
        return f"{name} is {mine} in the JSON, {shown} in the document"

    def _customer_vat_agrees(self, document_customer: CustomerIn | None) -> str | None:
        if self.customer is None or document_customer is None or not self.customer.vat or not document_customer.vat:
            return None
        if self.customer.vat == document_customer.vat:
            return None
        return f"customer.vat is {self.customer.vat} in the JSON, {document_customer.vat} in the document"

    # Read from pydantic's private-attribute slot: ``self._ubl`` goes through BaseModel.__getattr__, a Python
    # fallback that cost a batch of a thousand invoices more than 10 ms (these are read several times each).
    @property
    def ubl(self) -> UblFacts | None:
        return self.__pydantic_private__["_ubl"]  # type: ignore[index]

    @property
    def ubl_unreadable(self) -> Finding | None:
        return self.__pydantic_private__["_ubl_unreadable"]  # type: ignore[index]

    @property
    def ubl_taken(self) -> bool:
        return self.__pydantic_private__["_ubl_read"]  # type: ignore[index]

    @property
    def ubl_report(self) -> Report | None:
        return self.__pydantic_private__["_ubl_report"]  # type: ignore[index]

    def ubl_document(self) -> bytes | None:
        return next((doc.content() for doc in self.documents if is_xml(doc.content_type)), None)

    @model_validator(mode="after")
    def _dates(self) -> InvoiceCreate:
        if self.due_date is not None and self.issue_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date must not be before issue_date")
        return self

    @model_validator(mode="after")
    def _total_from_lines(self) -> InvoiceCreate:
        if not self.lines:
            has_ubl = any(is_xml(doc.content_type) for doc in self.documents)  # its total is read later (take_ubl)
            if self.total_amount is None and not has_ubl:
                raise ValueError("total_amount is required for an invoice without lines or a UBL document")
            return self
        categories = {line.vat_category for line in self.lines}
        if "O" in categories and len(categories) > 1:
            raise ValueError("category O (outside the scope of VAT) cannot share an invoice with others (BR-O-11)")
        if categories & {"AE", "K"} and not (self.customer and self.customer.vat):
            raise ValueError("reverse charge (AE) and intra-community (K) lines need the customer's VAT number")
        computed = self.totals().total
        if computed < CENT:
            raise ValueError(f"the lines come to {computed}; an invoice's total must be greater than zero")
        if self.total_amount is None:
            self.total_amount = computed
        elif self.total_amount != computed:
            raise ValueError(
                f"total_amount {self.total_amount} does not equal the lines' total {computed} "
                "(line nets, plus VAT per category and rate, each rounded to the cent)"
            )
        return self

    def totals(self) -> Totals:
        return compute_totals([line.to_line() for line in self.lines])

    @property
    def total(self) -> Decimal:
        assert self.total_amount is not None  # set by the validator above
        return self.total_amount


class BatchCreate(BaseModel):
    """Up to 1000 invoices, each checked on its own as an InvoiceCreate (control characters included), so that
    one bad invoice is one 422 result, not a refused batch; walking the whole batch first would do it twice."""

    model_config = ConfigDict(extra="forbid")

    invoices: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class CustomerPublic(BaseModel):
    name: str
    vat: str | None
    iban: str | None
    email: str | None
    address: AddressPublic | None = None
    peppol_id: str | None = None


class LinePublic(BaseModel):
    description: str
    quantity: str
    unit_price: str
    unit_code: str
    vat_category: str
    vat_rate: str
    vat_exemption_reason: str | None
    net_amount: str = Field(description="quantity x unit_price, rounded to the cent.")


class VatSubtotalPublic(BaseModel):
    category: str
    rate: str
    taxable_amount: str
    tax_amount: str


class DeliveryPublic(BaseModel):
    status: Literal["pending", "delivered", "failed", "disabled", "needs_document"]
    attempts: int
    last_error: str | None


class DocumentPublic(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


class InvoicePublic(BaseModel):
    id: str
    external_id: str
    number: str
    kind: str
    issue_date: date
    due_date: date
    currency: str
    total_amount: MoneyOut
    customer: CustomerPublic
    lines: list[LinePublic] = Field(default_factory=list, description="Empty for an invoice registered without lines.")
    vat_breakdown: list[VatSubtotalPublic] = Field(default_factory=list)
    tax_exclusive_amount: MoneyOut | None = Field(default=None, description="BT-109; with lines only.")
    tax_amount: MoneyOut | None = Field(default=None, description="BT-110; with lines only.")
    buyer_reference: str | None = None
    billing_reference: str | None = None
    structured_reference: str
    mandate_reference: str | None = None
    collection_reference: str | None = None
    status: Literal["open", "partially_paid", "paid", "overpaid", "cancelled"]
    amount_paid: MoneyOut = Field(description="Money received: the sum of the allocations.")
    write_off_amount: MoneyOut = Field(description="Settled without money: the sum of the write-offs.")
    amount_due: MoneyOut = Field(description="total_amount - amount_paid - write_off_amount, never below zero.")
    pending_amount: MoneyOut = Field(
        description="Money the bank shows on its way and not yet booked (Ponto's pending transactions whose "
        "reference names this invoice): never paid, never in amount_paid or status. Its booked twin settles the "
        "invoice; a pending payment not booked within CODARECON_PONTO_PENDING_DAYS stops counting."
    )
    paid_at: date | None
    cancelled_at: datetime | None
    allocations: list[AllocationPublic] = Field(
        description="Payments of it, and returns of them (with ``returns``): amount_paid is payments less returns."
    )
    returns: list[ReturnPublic] = Field(
        description="Money that came back (returned collections, reversed payments), as listed in allocations."
    )
    write_offs: list[WriteOffPublic]
    documents: list[DocumentPublic]
    delivery: DeliveryPublic
    created_at: datetime
    updated_at: datetime


class BatchResult(BaseModel):
    index: int
    external_id: str | None
    status: int
    invoice: InvoicePublic | None = None
    problem: dict[str, Any] | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]
