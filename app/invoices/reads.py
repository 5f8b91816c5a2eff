"""The hot read of invoicing apps and dashboards: one invoice with its allocations, write-offs and documents.

Plain rows from one kept driver connection, with statements compiled once (app/core/prepared.py): no ORM
session, no identity map, no SQLAlchemy execution context per request, and no thread: the read is a coroutine
on the event loop (PostgreSQL's through psycopg's async connections). The route stays an ordinary FastAPI
route (authentication, tenancy and errors as everywhere else); only the database work is lean.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.core.batched_reads import BatchedLookup
from app.core.db import get_engine
from app.core.errors import NotFound
from app.core.ids import is_possible_id
from app.core.prepared import PreparedSelect, RawConnection, kept_read_connections
from app.invoices.models import Invoice, InvoiceDocument
from app.reconciliation.models import Allocation, WriteOff

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_DOCUMENTS = InvoiceDocument.__table__  # type: ignore[attr-defined]

#: Columns the resource does not show: the tenant, matching's lookup keys, the content hash.
_UNSHOWN = frozenset(
    [
        "company_id",
        "suggestion_id",
        "content_hash",
        "outstanding",
        "customer_key",
        "number_key",
        "number_digits_key",
        "number_tail",
    ]
)
_SHOWN_INVOICE = [c for c in _INVOICES.c if c.key not in _UNSHOWN]
_SHOWN_ALLOCATION = [c for c in _ALLOCATIONS.c if c.key not in _UNSHOWN]
#: The common case in one select, which is its own snapshot: the invoice with its allocations (an open
#: invoice has none: the outer join gives one row, with nulls). Sorted here, not by the database: one or two
#: rows, and no sort step for SQLite to plan.
_INVOICE_AND_ALLOCATIONS = PreparedSelect(
    select(*_SHOWN_INVOICE, *_SHOWN_ALLOCATION)
    .select_from(_INVOICES.outerjoin(_ALLOCATIONS, _ALLOCATIONS.c.invoice_id == _INVOICES.c.id))
    .where(_INVOICES.c.id == bindparam("invoice_id"), _INVOICES.c.company_id == bindparam("company_id"))
)
#: The same for a list of invoices (PostgreSQL, app/core/batched_reads.py), with each row's company last: every read
#: keeps only its own company's rows. The ids go as app/core/one_of.py sends them to PostgreSQL (a semi-join with the
#: unnested array), but as a named parameter: one_of binds its values when built, and this select is built once.
_INVOICES_AND_ALLOCATIONS = PreparedSelect(
    select(*_SHOWN_INVOICE, *_SHOWN_ALLOCATION, _INVOICES.c.company_id)
    .select_from(_INVOICES.outerjoin(_ALLOCATIONS, _ALLOCATIONS.c.invoice_id == _INVOICES.c.id))
    .where(_INVOICES.c.id.in_(select(func.unnest(bindparam("ids", type_=ARRAY(String())))).scalar_subquery()))
)
_InvoiceRow = namedtuple("_InvoiceRow", [c.key for c in _SHOWN_INVOICE])  # type: ignore[misc]
_AllocationRow = namedtuple("_AllocationRow", [c.key for c in _SHOWN_ALLOCATION])  # type: ignore[misc]
_SPLIT = len(_SHOWN_INVOICE)

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


async def _invoices_and_allocations(ids: list[str]) -> list[Sequence[Any]]:
    return await kept_read_connections.read(
        get_engine(), lambda conn: _INVOICES_AND_ALLOCATIONS.values(conn, {"ids": ids}), snapshot=False
    )


_batched = BatchedLookup(_invoices_and_allocations)

#: An invoice row with its allocation rows (in no set order: the joined read returns them as found), its
#: write-off rows and its document rows.
_Found = tuple[Any, Sequence[Any], Sequence[Any], Sequence[Any]]


async def invoice_rows(company_id: str, invoice_id: str) -> _Found:
    """The invoice's row with its allocation, write-off and document rows (as invoice_document takes them),
    or NotFound (also for another company's invoice)."""
    if not is_possible_id(invoice_id):  # refused before any query, never sent to share one with others
        raise NotFound(f"no invoice {invoice_id}")
    params = {"invoice_id": invoice_id, "company_id": company_id}
    if get_engine().dialect.name == "postgresql":  # reads that come together share a query
        rows = [row[:-1] for row in await _batched.rows(invoice_id) if row[-1] == company_id]
        found = _joined(rows, params)
    else:
        found = await kept_read_connections.read(get_engine(), lambda conn: _read_joined(conn, params), snapshot=False)
    if found is None:  # written off or with documents: several selects, in one transaction
        found = await kept_read_connections.read(get_engine(), lambda conn: _read_apart(conn, params))
    return found


async def _read_joined(conn: RawConnection, params: dict[str, str]) -> _Found | None:
    """One select for an invoice that has neither write-offs nor documents; None for one that has."""
    return _joined(await _INVOICE_AND_ALLOCATIONS.values(conn, params), params)


def _joined(rows: Sequence[Sequence[Any]], params: dict[str, str]) -> _Found | None:
    if not rows:
        raise NotFound(f"no invoice {params['invoice_id']}")
    invoice = _InvoiceRow._make(rows[0][:_SPLIT])
    if invoice.write_off_amount != 0 or invoice.document_count:
        return None
    allocations = [_AllocationRow._make(values[_SPLIT:]) for values in rows if values[_SPLIT] is not None]
    return invoice, allocations, (), ()


async def _read_apart(conn: RawConnection, params: dict[str, str]) -> _Found:
    row = await _ONE_INVOICE.first(conn, params)
    if row is None:
        raise NotFound(f"no invoice {params['invoice_id']}")
    # Only what the invoice has.
    allocations = await _ITS_ALLOCATIONS.all(conn, params) if row.amount_paid != 0 else ()
    write_offs = await _ITS_WRITE_OFFS.all(conn, params) if row.write_off_amount != 0 else ()
    documents = await _ITS_DOCUMENTS.all(conn, params) if row.document_count else ()
    return row, allocations, write_offs, documents
