"""The hot read of invoicing apps and dashboards: one invoice with its allocations, write-offs and documents.

Plain rows from one kept driver connection, with statements compiled once (app/prepared.py): no ORM
session, no identity map, no SQLAlchemy execution context per request. The route stays an ordinary FastAPI
route (authentication, tenancy and errors as everywhere else); only the database work is lean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam

from app.db import get_engine
from app.errors import NotFound
from app.invoices.models import Invoice, InvoiceDocument
from app.invoices.presenter import invoice_document
from app.json_out import json_bytes
from app.prepared import PreparedSelect, RawConnection, kept_read_connections
from app.reconciliation.models import Allocation, WriteOff

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_DOCUMENTS = InvoiceDocument.__table__  # type: ignore[attr-defined]

_ONE_INVOICE = PreparedSelect(
    _INVOICES.select().where(
        _INVOICES.c.id == bindparam("invoice_id"), _INVOICES.c.company_id == bindparam("company_id")
    )
)
_ITS_ALLOCATIONS = PreparedSelect(
    _ALLOCATIONS.select()
    .where(_ALLOCATIONS.c.invoice_id == bindparam("invoice_id"))
    .order_by(_ALLOCATIONS.c.created_at)
)
_ITS_WRITE_OFFS = PreparedSelect(
    _WRITE_OFFS.select().where(_WRITE_OFFS.c.invoice_id == bindparam("invoice_id")).order_by(_WRITE_OFFS.c.created_at)
)
_ITS_DOCUMENTS = PreparedSelect(
    _DOCUMENTS.select()
    .with_only_columns(
        _DOCUMENTS.c.id, _DOCUMENTS.c.filename, _DOCUMENTS.c.content_type, _DOCUMENTS.c.size, _DOCUMENTS.c.sha256
    )
    .where(_DOCUMENTS.c.invoice_id == bindparam("invoice_id"))
)


def reads_on_the_loop() -> bool:
    return get_engine().dialect.name == "sqlite"


def invoice_json(company_id: str, invoice_id: str) -> bytes:
    """The invoice resource as JSON bytes, or NotFound (also for another company's invoice)."""
    params = {"invoice_id": invoice_id, "company_id": company_id}

    def read(conn: RawConnection) -> tuple[Any, Sequence[Any], Sequence[Any], Sequence[Any]]:
        row = _ONE_INVOICE.first(conn, params)
        if row is None:
            raise NotFound(f"no invoice {invoice_id}")
        # Only what the invoice has: a fresh invoice costs one query.
        allocations = _ITS_ALLOCATIONS.all(conn, params) if row.amount_paid != 0 else ()
        write_offs = _ITS_WRITE_OFFS.all(conn, params) if row.write_off_amount != 0 else ()
        documents = _ITS_DOCUMENTS.all(conn, params) if row.document_count else ()
        return row, allocations, write_offs, documents

    row, allocations, write_offs, documents = kept_read_connections.read(get_engine(), read)
    # Built as JSON directly (equal to InvoicePublic: tests/api/test_event_snapshots.py): pydantic's model and
    # dump were most of the read's own time.
    document = invoice_document(row, allocations, write_offs, documents)
    return json_bytes(document)
