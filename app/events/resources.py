"""The resource an event is about, rendered as the API renders it: at the moment of a change, or now.

Snapshots are rendered from what the change's settle already holds (app/reconciliation/changes.py) where it
can, read in chunks otherwise, never row by row: an upload announces thousands of changes at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session

from app.core.db import plain_rows
from app.core.one_of import one_of
from app.core.outbox_models import Event
from app.invoices.models import Invoice
from app.invoices.presenter import invoice_document, invoice_document_rows, present_invoice
from app.reconciliation.changes import NewTransaction, SettledInvoice
from app.reconciliation.presenter import best_first, oldest_first
from app.statements.models import BankTransaction
from app.statements.presenter import present_transactions, transaction_document

_CHUNK = 500
_TX = BankTransaction.__table__  # type: ignore[attr-defined]


def invoice_snapshots(session: Session, settled: Mapping[str, SettledInvoice]) -> dict[str, dict[str, Any]]:
    """Each settled invoice as the API returns it once the settle is stored: its row with the settle's
    update, and the allocation and write-off rows the settle read (its documents are read here, at once)."""
    if not settled:
        return {}
    documents = invoice_document_rows(session, [s.row for s in settled.values()])
    return {
        invoice_id: invoice_document(
            s.row, oldest_first(s.allocations), oldest_first(s.write_offs), documents.get(invoice_id, ()), s.update
        )
        for invoice_id, s in settled.items()
    }


def transaction_snapshots(
    session: Session, ids: Iterable[str], new: Mapping[str, NewTransaction]
) -> dict[str, dict[str, Any]]:
    """Each transaction as the API would read it back now: a new one from its row, its state and what was
    queued for it (all there is of it); a stored one read, in chunks."""
    wanted = set(ids)
    out = _stored_transactions(session, sorted(wanted - new.keys()))
    for tx_id in wanted & new.keys():
        t = new[tx_id]
        out[tx_id] = transaction_document(
            t.row,
            oldest_first(_as_read(t.allocations)),
            oldest_first(_as_read(t.write_offs)),
            best_first(_as_read(t.suggestions)),
            t.state,
        )
    return out


def _stored_transactions(session: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = plain_rows(session.execute(_TX.select().where(one_of(_TX.c.id, list(ids[start : start + _CHUNK])))))
        for document in present_transactions(session, rows):
            out[document["id"]] = document
    return out


def _as_read(rows: Iterable[Mapping[str, Any]]) -> list[SimpleNamespace]:
    """Queued rows read as the database's rows are: by attribute."""
    return [SimpleNamespace(**row) for row in rows]


def data_and_change(session: Session, event: Event) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """What an event says, as webhooks deliver it and the feed lists it: the resource as it was when the event
    happened (recorded with it) and what changed; for an event recorded before it carried its resource, the
    resource as it is now, and the payload as the change."""
    payload = event.payload
    if "data" in payload:
        return payload["data"], payload.get("change", {})
    return current_resource(session, event), payload


def current_resource(session: Session, event: Event) -> dict[str, Any] | None:
    """The subject of an event as the API returns it now (for events recorded before they carried their
    resource), or None when it is gone or the event is about no resource of the API."""
    if event.type.startswith("invoice."):
        invoice = session.get(Invoice, event.subject_id)
        return present_invoice(session, invoice) if invoice else None
    if event.type.startswith("transaction.") or event.type == "suggestion.created":
        tx = session.get(BankTransaction, event.payload.get("transaction_id", event.subject_id))
        return present_transactions(session, [tx])[0] if tx else None
    return None
