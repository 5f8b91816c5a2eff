"""Tables for sales invoices and their documents (PDF/UBL)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import Money, partial_index
from app.core.timeutil import utcnow

OPEN_STATUSES = ("open", "partially_paid")
#: Absent stays SQL NULL (not the JSON text 'null'): nothing to encode on write or decode on read, and most
#: invoices have no lines or address.
NULLABLE_JSON = JSON(none_as_null=True)


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("company_id", "external_id", name="uq_invoices_company_external_id"),
        UniqueConstraint("company_id", "structured_reference", name="uq_invoices_company_reference"),
        Index("ix_invoices_company_status_due", "company_id", "status", "due_date"),
        Index("ix_invoices_company_id_order", "company_id", "id"),
        # What matching looks candidates up by (app/reconciliation/candidates.py): never a scan of the ledger.
        Index("ix_invoices_company_outstanding", "company_id", "outstanding"),
        Index("ix_invoices_company_customer", "company_id", "customer_key"),
        # Most invoices name no account and most numbers have no letter prefix: those two keys are indexed
        # only where present (a registration then writes two B-trees fewer; lookups say IS NOT NULL).
        Index(
            "ix_invoices_company_customer_iban",
            "company_id",
            "customer_iban",
            **partial_index("customer_iban IS NOT NULL"),
        ),
        Index("ix_invoices_company_number_key", "company_id", "number_key"),
        Index(
            "ix_invoices_company_number_digits_key",
            "company_id",
            "number_digits_key",
            **partial_index("number_digits_key IS NOT NULL"),
        ),
        Index("ix_invoices_company_number_tail", "company_id", "number_tail"),
        # Polling by change (updated_since) and by the day settled (paid_since): issue 41.
        Index("ix_invoices_company_updated", "company_id", "updated_at", "id"),
        Index("ix_invoices_company_paid_at", "company_id", "paid_at", **partial_index("paid_at IS NOT NULL")),
        Index(
            "ix_invoices_company_mandate",
            "company_id",
            "mandate_reference",
            **partial_index("mandate_reference IS NOT NULL"),
        ),
        Index(
            "ix_invoices_company_collection",
            "company_id",
            "collection_reference",
            **partial_index("collection_reference IS NOT NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    external_id: str = Field(max_length=200)
    number: str = Field(max_length=100)
    kind: str = Field(default="invoice", max_length=20)  # "invoice" | "credit_note"
    issue_date: date
    due_date: date
    currency: str = Field(default="EUR", max_length=3)
    total_amount: Decimal = Field(sa_type=Money)
    customer_name: str = Field(max_length=200)
    customer_vat: str | None = Field(default=None, max_length=20)
    customer_iban: str | None = Field(default=None, max_length=40)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_address: dict[str, Any] | None = Field(default=None, sa_type=NULLABLE_JSON)
    #: The buyer's Peppol participant id ("0208:0417497106"), given or derived from a Belgian VAT number.
    customer_peppol_id: str | None = Field(default=None, max_length=60)
    buyer_reference: str | None = Field(default=None, max_length=200)  # BT-10
    billing_reference: str | None = Field(default=None, max_length=100)  # BT-25: the invoice a credit note corrects
    #: EN 16931 lines and VAT breakdown (app/peppol/lines.py) when the client sent lines; null otherwise.
    lines: list[dict[str, Any]] | None = Field(default=None, sa_type=NULLABLE_JSON)
    vat_breakdown: list[dict[str, Any]] | None = Field(default=None, sa_type=NULLABLE_JSON)
    tax_exclusive_amount: Decimal | None = Field(default=None, sa_type=Money)
    tax_amount: Decimal | None = Field(default=None, sa_type=Money)
    structured_reference: str = Field(max_length=40)
    #: SEPA direct debit: the mandate the company collects this invoice under, and the end-to-end id it put in
    #: the collection (pain.008) for it. A collection naming either pays the invoice as surely as its OGM.
    mandate_reference: str | None = Field(default=None, max_length=35)
    collection_reference: str | None = Field(default=None, max_length=35)
    #: Derived from allocations and write-offs by the Ledger; stored for filters and indexes.
    status: str = Field(default="open", max_length=20)
    amount_paid: Decimal = Field(default=Decimal("0.00"), sa_type=Money)  # money received (allocations)
    write_off_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)  # settled without money
    #: total - paid - written off (negative when overpaid), kept by the Ledger: matching looks amounts up by it.
    outstanding: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    #: Money the bank shows on its way (pending payments naming this invoice, not booked yet): never paid.
    pending_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    #: Lookup keys (app/reconciliation/keys.py), derived from number and customer when the invoice is registered.
    customer_key: str = Field(default="", max_length=240)
    number_key: str | None = Field(default=None, max_length=100)
    number_digits_key: str | None = Field(default=None, max_length=100)
    number_tail: str | None = Field(default=None, max_length=100)
    paid_at: date | None = None  # booking date of the payment that settled it
    cancelled_at: datetime | None = None
    #: SHA-256 of the canonical request content, to tell an idempotent re-send from a conflicting one.
    content_hash: str = Field(max_length=64)
    #: Lets a read skip the documents query for the many invoices that have none.
    document_count: int = 0
    delivery_status: str = Field(default="disabled", max_length=20)
    delivery_attempts: int = 0
    delivery_last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class InvoiceDocument(SQLModel, table=True):
    __tablename__ = "invoice_documents"

    id: str = Field(primary_key=True, max_length=40)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=40)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary)


class CustomerNameToken(SQLModel, table=True):
    """A word of a customer's name: the blocking key of the fuzzy name step (one row per word and customer)."""

    __tablename__ = "customer_name_tokens"

    company_id: str = Field(foreign_key="companies.id", primary_key=True, max_length=40)
    token: str = Field(primary_key=True, max_length=200)
    customer_key: str = Field(primary_key=True, max_length=240)
    customer_name: str = Field(max_length=200)
