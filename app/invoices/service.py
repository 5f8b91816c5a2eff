"""Invoice registration (idempotent, single and batch), listing and cancellation; no HTTP here."""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.companies.models import Company
from app.core.db import insert_missing_rows, insert_rows
from app.core.errors import AppError, Conflict, NotFound, ValidationFailed
from app.core.ids import new_id, new_ids
from app.core.json_out import canonical_json
from app.core.one_of import one_of
from app.core.schemas import CONTROLS_CHECKED
from app.core.timeutil import utcnow
from app.identifiers.references import generate_ogms
from app.invoices.models import CustomerNameToken, Invoice, InvoiceDocument
from app.invoices.schemas import InvoiceCreate
from app.peppol import work as xml_work
from app.peppol.lines import line_dict
from app.reconciliation.keys import invoice_key_columns, name_tokens
from app.reconciliation.ledger import Ledger
from app.reconciliation.locks import for_update
from app.reconciliation.models import Suggestion

_INVOICE_TABLE = Invoice.__table__  # type: ignore[attr-defined]

#: Hooks run after invoices are created in the same transaction (delivery outbox, late matching).
#: Each receives the session, the company id and the new invoices, and returns whether it may have changed
#: their money state (then they are read again for the answer).
after_create_hooks: list[Callable[[Session, str, list[Any]], bool]] = []


#: Fields added after invoices were stored with their hash: left out when absent, so that re-sending an invoice
#: stored before them is still the same content.
_ADDED_LATER = ("mandate_reference", "collection_reference")


def content_hash(data: InvoiceCreate) -> str:
    content = data.model_dump(mode="json")
    for name in _ADDED_LATER:
        if content.get(name) is None:
            content.pop(name, None)
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _row(
    invoice_id: str,
    company_id: str,
    data: InvoiceCreate,
    reference: str,
    digest: str,
    codabox_enabled: bool,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "company_id": company_id,
        "external_id": data.external_id,
        "number": data.number,
        "kind": data.kind,
        "issue_date": data.issue_date,
        "due_date": data.due_date,
        "currency": data.currency,
        "total_amount": data.total,
        "customer_name": data.customer.name,
        "customer_vat": data.customer.vat,
        "customer_iban": data.customer.iban,
        "customer_email": data.customer.email,
        "customer_address": data.customer.address.model_dump() if data.customer.address else None,
        "customer_peppol_id": data.customer.derived_peppol_id(),
        "buyer_reference": data.buyer_reference,
        "billing_reference": data.billing_reference,
        "mandate_reference": data.mandate_reference,
        "collection_reference": data.collection_reference,
        **_line_columns(data),
        "structured_reference": reference,
        "status": "open",
        "amount_paid": Decimal("0.00"),
        "pending_amount": Decimal("0.00"),
        "outstanding": data.total,
        **invoice_key_columns(data.number, data.customer.vat, data.customer.name),
        "content_hash": digest,
        "document_count": len(data.documents),
        **dict(zip(("delivery_status", "delivery_last_error"), delivery_state(data, codabox_enabled), strict=True)),
        "delivery_attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def company_vat(session: Session, company_id: str) -> str:
    return session.get_one(Company, company_id).vat


def ubl_problem(item: InvoiceCreate, vat: str) -> AppError | None:
    """The client's own UBL must pass the official rules (EN 16931 and Peppol BIS 3) and be the company's."""
    if item.ubl_unreadable is not None:
        finding = item.ubl_unreadable
        return ValidationFailed(f"the UBL document cannot be read: {finding.message}", errors=[finding.as_dict()])
    report = item.ubl_report
    assert report is not None and item.ubl is not None
    if not report.valid:
        return ValidationFailed(
            f"the UBL document fails the official rules: {report.failed_rules}",
            errors=[e.as_dict() for e in report.errors],
        )
    seller = item.ubl.seller_vat
    ours = {vat, f"0208:{vat[2:]}", f"9925:{vat}"}
    if (seller or "").replace(" ", "").upper() not in ours and item.ubl.seller_endpoint not in ours:
        return ValidationFailed(
            f"the document's seller is {seller or item.ubl.seller_endpoint or 'not named'}, not this company ({vat})",
            errors=[
                {
                    "rule": "SELLER",
                    "message": f"the seller's VAT number must be the company's, {vat}",
                    "location": "AccountingSupplierParty",
                }
            ],
        )
    return None


def _line_columns(data: InvoiceCreate) -> dict[str, Any]:
    if data.ubl is not None:  # shown as the document states them: its own amounts are the invoice's
        return {
            "lines": data.ubl.lines,
            "vat_breakdown": data.ubl.vat_breakdown,
            "tax_exclusive_amount": data.ubl.tax_exclusive_amount,
            "tax_amount": data.ubl.tax_amount,
        }
    if not data.lines:
        return {"lines": None, "vat_breakdown": None, "tax_exclusive_amount": None, "tax_amount": None}
    totals = data.totals()
    return {
        "lines": [line_dict(line) for line in totals.lines],
        "vat_breakdown": [sub.as_dict() for sub in totals.breakdown],
        "tax_exclusive_amount": totals.tax_exclusive,
        "tax_amount": totals.tax,
    }


@dataclass
class Outcome:
    """The result for one invoice of a create or batch call: registered now, found registered before, or refused
    (``error``); the router says which in HTTP."""

    created: bool = False
    invoice_id: str | None = None
    error: AppError | None = None
    invoice: Any = None  # the stored invoice (an ORM object or a plain row; read it, don't modify it)


#: Why an invoice without lines or a UBL document is kept for reconciliation but never forwarded.
NEEDS_DOCUMENT = (
    "not forwarded: send lines (with their VAT categories and rates) or the invoice's own UBL document "
    "(application/xml); without them there is no correct e-invoice to send. It is reconciled all the same."
)


def delivery_state(item: InvoiceCreate, codabox_enabled: bool) -> tuple[str, str | None]:
    """How an invoice starts out towards CodaBox: pending, disabled, or waiting for a document."""
    if not codabox_enabled:
        return "disabled", None
    if item.lines or item.ubl is not None:
        return "pending", None
    return "needs_document", NEEDS_DOCUMENT


def read_documents(items: Sequence[InvoiceCreate]) -> dict[int, AppError]:
    """Read every attached UBL document and check it against the official rules, in the worker processes
    (app/peppol/work.py), before any query: no lock is held meanwhile. What a document refuses, by position."""
    documents = {position: item.ubl_document() for position, item in enumerate(items) if not item.ubl_taken}
    documents = {position: document for position, document in documents.items() if document is not None}
    refused: dict[int, AppError] = {}
    for position, (facts, report) in zip(documents, xml_work.read_ubls(list(documents.values())), strict=True):
        try:
            items[position].take_ubl(facts, report)
        except ValidationFailed as exc:
            refused[position] = exc
    return refused


def create_invoices(session: Session, company_id: str, items: Sequence[InvoiceCreate]) -> list[Outcome]:
    """Register invoices in one transaction with a constant number of queries per call, not per invoice.

    Same external_id and content: the existing invoice (200). Other content: 409. A reference used by
    another invoice: 409. Absent reference: a fresh unique OGM.

    Optimistic first: most calls register invoices nobody has sent before, with references nobody uses, and
    then looking that up (three lookups of up to a thousand keys) cost more than the insert itself. The
    unique constraints say when the guess is wrong; the insert is then undone and the careful pass looks up
    what is stored and answers invoice by invoice.
    """
    unread = read_documents(items)
    if unread:  # answered apart, in their places: the others are registered as if they came alone
        kept = [item for position, item in enumerate(items) if position not in unread]
        answers = iter(create_invoices(session, company_id, kept) if kept else [])
        return [
            Outcome(error=unread[position]) if position in unread else next(answers) for position in range(len(items))
        ]
    digests = [content_hash(item) for item in items]
    wanted_refs = {item.structured_reference for item in items if item.structured_reference}
    fresh_count = sum(1 for item in items if not item.structured_reference)
    plan = _Plan(session, company_id, items, digests)
    outcomes, rows, documents = plan.register({}, {}, _unique_ogms(fresh_count, avoid=wanted_refs))
    existing: dict[str, Any] = {}
    try:
        _insert(session, company_id, rows, documents)
    except IntegrityError:
        existing = {
            inv.external_id: inv
            for inv in _chunked_in(
                session,
                Invoice,
                Invoice.external_id,
                list({i.external_id for i in items}),
                Invoice.company_id == company_id,
            )
        }
        used_refs = dict(_chunked_pairs(session, list(wanted_refs), company_id))
        outcomes, rows, documents = plan.register(
            existing, used_refs, _fresh_references(session, company_id, fresh_count, used_refs)
        )
        try:
            _insert(session, company_id, rows, documents)
        except IntegrityError:
            # A concurrent request registered one of these first; the client may simply retry.
            raise Conflict("a concurrent request registered the same invoice or reference; retry") from None
    created = [_stored(row) for row in rows]
    by_id = {inv.id: inv for inv in created} | {inv.id: inv for inv in existing.values()}
    if created:
        settled = [hook(session, company_id, created) for hook in after_create_hooks]
        if any(settled):  # a payment that was waiting for a new invoice settled it at once: read those again
            by_id |= {
                inv.id: inv for inv in _load(session, [inv.id for inv in created], _INVOICE_TABLE.c.status != "open")
            }
    for outcome in outcomes:
        if outcome.invoice_id is not None:
            outcome.invoice = by_id[outcome.invoice_id]
    return outcomes


@dataclass
class _Plan:
    """The rows and answers for a call's invoices, given what is already stored."""

    session: Session
    company_id: str
    items: Sequence[InvoiceCreate]
    digests: list[str]
    #: Each UBL document's verdict, by item position: the official rules are slow, and a careful pass after an
    #: optimistic one must not run them twice.
    ubl_verdicts: dict[int, AppError | None] = field(default_factory=dict)

    def register(
        self, existing: dict[str, Any], used_refs: dict[str, str], fresh_refs: list[str]
    ) -> tuple[list[Outcome], list[dict[str, Any]], list[dict[str, Any]]]:
        """``existing``: stored invoices by external id; ``used_refs``: stored references and their invoice's
        external id; ``fresh_refs``: unused OGMs for the invoices that bring none."""
        from app.core.config import get_settings

        codabox_enabled = get_settings().codabox_enabled
        now = utcnow()
        fresh = iter(fresh_refs)
        used_refs = dict(used_refs)
        invoice_ids = iter(new_ids("inv", len(self.items)))
        outcomes: list[Outcome] = []
        rows: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        batch_by_external: dict[str, tuple[str, str]] = {}
        for position, (item, digest) in enumerate(zip(self.items, self.digests, strict=True)):
            previous = existing.get(item.external_id)
            if previous is not None:
                outcomes.append(_replay(previous.content_hash, digest, item.external_id, previous.id))
                continue
            if item.external_id in batch_by_external:
                earlier_digest, earlier_id = batch_by_external[item.external_id]
                outcomes.append(_replay(earlier_digest, digest, item.external_id, earlier_id))
                continue
            if item.ubl is not None or item.ubl_unreadable is not None:
                if position not in self.ubl_verdicts:
                    self.ubl_verdicts[position] = ubl_problem(item, company_vat(self.session, self.company_id))
                refused = self.ubl_verdicts[position]
                if refused is not None:
                    outcomes.append(Outcome(error=refused))
                    continue
            reference = item.structured_reference
            if reference is not None and reference in used_refs:
                outcomes.append(
                    Outcome(
                        error=Conflict(
                            f"structured_reference {reference} is already used by invoice {used_refs[reference]}"
                        ),
                    )
                )
                continue
            if reference is None:
                reference = next(fresh)
            used_refs[reference] = item.external_id
            row = _row(next(invoice_ids), self.company_id, item, reference, digest, codabox_enabled, now)
            rows.append(row)
            batch_by_external[item.external_id] = (digest, row["id"])
            documents.extend(_document_rows(row["id"], item))
            outcomes.append(Outcome(created=True, invoice_id=row["id"]))
        return outcomes, rows, documents


def _insert(session: Session, company_id: str, rows: list[dict[str, Any]], documents: list[dict[str, Any]]) -> None:
    """All of it or nothing (a savepoint): a refused row leaves the transaction as it was."""
    if rows:
        with session.begin_nested():
            insert_rows(session, Invoice, rows)
            insert_missing_rows(session, CustomerNameToken, _name_token_rows(company_id, rows))
            if documents:
                insert_rows(session, InvoiceDocument, documents)


#: An invoice row as a read gives it (the columns, in order, as attributes).
_StoredInvoice = namedtuple("_StoredInvoice", [c.key for c in _INVOICE_TABLE.c])  # type: ignore[misc]
_UNSET = {c.key: (None if c.default is None or c.default.is_callable else c.default.arg) for c in _INVOICE_TABLE.c}


def _stored(row: dict[str, Any]) -> Any:
    """A just-inserted row as reading it back would give it, without reading it back: every value is the one
    bound (amounts with two decimals, aware UTC datetimes), the columns it leaves out their defaults."""
    return _StoredInvoice(**(_UNSET | row))


def _name_token_rows(company_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocking keys of the fuzzy name step, once per word and customer."""
    tokens: dict[tuple[str, str], str] = {}
    for row in rows:
        for token in name_tokens(row["customer_name"]):
            tokens.setdefault((token, row["customer_key"]), row["customer_name"])
    return [
        {"company_id": company_id, "token": token, "customer_key": key, "customer_name": name}
        for (token, key), name in tokens.items()
    ]


def _replay(earlier_digest: str, digest: str, external_id: str, invoice_id: str) -> Outcome:
    if earlier_digest != digest:
        return Outcome(error=Conflict(f"invoice {external_id} already exists with other content"))
    return Outcome(invoice_id=invoice_id)


def _document_rows(invoice_id: str, item: InvoiceCreate) -> list[dict[str, Any]]:
    out = []
    for doc in item.documents:
        content = doc.content()
        out.append(
            {
                "id": new_id("doc"),
                "invoice_id": invoice_id,
                "filename": doc.filename,
                "content_type": doc.content_type,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": content,
            }
        )
    return out


def _fresh_references(session: Session, company_id: str, count: int, used: dict[str, str]) -> list[str]:
    """``count`` new OGMs used by no invoice of the company, checked with one query per 500, not one each.

    10^10 random bases make a collision rare, but a duplicate OGM would make payments ambiguous.
    """
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = set(_unique_ogms(count - len(chosen), avoid=chosen | used.keys()))
        taken = {ref for ref, _ in _chunked_pairs(session, list(candidates), company_id)}
        chosen |= candidates - taken
    return list(chosen)


def _unique_ogms(count: int, avoid: set[str]) -> list[str]:
    """``count`` distinct random OGMs, none of them in ``avoid`` (not checked against the database)."""
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen |= set(generate_ogms(count - len(chosen))) - avoid
    return list(chosen)


_CHUNK = 500


def _chunked_in(session: Session, model: Any, column: Any, values: list[Any], *where: Any) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        out.extend(session.exec(select(model).where(one_of(column, values[start : start + _CHUNK]), *where)).all())
    return out


def _chunked_pairs(session: Session, refs: list[str], company_id: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for start in range(0, len(refs), _CHUNK):
        out.extend(
            session.exec(
                select(Invoice.structured_reference, Invoice.external_id).where(
                    Invoice.company_id == company_id,
                    one_of(Invoice.structured_reference, refs[start : start + _CHUNK]),
                )
            ).all()
        )
    return out


def _load(session: Session, ids: list[str], *where: Any) -> list[Any]:
    """Plain rows, not ORM objects: presenting only reads them, and rows are much cheaper."""
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        rows.extend(
            session.execute(
                _INVOICE_TABLE.select().where(one_of(_INVOICE_TABLE.c.id, ids[start : start + _CHUNK]), *where)
            ).all()
        )
    return rows


def create_invoice(session: Session, company_id: str, data: InvoiceCreate) -> Outcome:
    outcome = create_invoices(session, company_id, [data])[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def parse_batch_item(raw: dict[str, Any], *, controls_checked: bool = False) -> InvoiceCreate | AppError:
    """``controls_checked``: the whole batch was found free of control characters (one scan, not one walk per
    invoice and nested model)."""
    try:
        return InvoiceCreate.model_validate(raw, context={CONTROLS_CHECKED: True} if controls_checked else None)
    except ValidationError as exc:
        errors = [
            {
                "loc": ".".join(str(p) for p in e["loc"]),
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['loc']}: {e['message']}" for e in errors[:5])
        return ValidationFailed(detail, errors=errors)


def get_invoice(session: Session, company_id: str, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.company_id != company_id:
        raise NotFound(f"no invoice {invoice_id}")
    return invoice


def read_invoice(session: Session, company_id: str, invoice_id: str) -> Any:
    """One invoice as a plain row (no ORM identity map): the hot read path of GET invoice."""
    row = session.execute(
        _INVOICE_TABLE.select().where(_INVOICE_TABLE.c.id == invoice_id, _INVOICE_TABLE.c.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    return row


def list_invoices(
    session: Session,
    company_id: str,
    *,
    limit: int,
    after: str | None,
    status: list[str] | None = None,
    external_id: str | None = None,
    due_before: date | None = None,
    paid_since: date | None = None,
    updated_since: datetime | None = None,
    after_change: tuple[datetime, str] | None = None,
) -> list[Invoice]:
    """A page of the company's invoices: by id, or, with ``updated_since``, by change (``updated_at``, then id),
    continuing after ``after_change``."""
    query = select(Invoice).where(Invoice.company_id == company_id)
    if paid_since:
        query = query.where(col(Invoice.paid_at) >= paid_since)
    if updated_since is not None:
        query = query.where(col(Invoice.updated_at) >= updated_since)
        if after_change is not None:
            changed_at, last_id = after_change
            query = query.where(
                or_(
                    col(Invoice.updated_at) > changed_at,
                    and_(col(Invoice.updated_at) == changed_at, col(Invoice.id) > last_id),
                )
            )
        query = query.order_by(col(Invoice.updated_at), col(Invoice.id))
    if status:
        query = query.where(col(Invoice.status).in_(status))
    if external_id:
        query = query.where(Invoice.external_id == external_id)
    if due_before:
        query = query.where(col(Invoice.due_date) < due_before)
    if updated_since is not None:
        return list(session.exec(query.limit(limit + 1)).all())
    if after:
        query = query.where(col(Invoice.id) > after)
    return list(session.exec(query.order_by(col(Invoice.id)).limit(limit + 1)).all())


def cancel_invoice(session: Session, company_id: str, invoice_id: str, actor: str) -> Invoice:
    ledger = Ledger(session, company_id, actor)
    invoice = session.exec(for_update(session, select(Invoice).where(Invoice.id == invoice_id))).first()
    if invoice is None or invoice.company_id != company_id:
        raise NotFound(f"no invoice {invoice_id}")
    if invoice.status == "cancelled":
        return invoice
    if invoice.amount_paid != 0 or invoice.write_off_amount != 0:
        raise Conflict(
            f"invoice {invoice.number} has payments allocated ({invoice.amount_paid}) or amounts written off "
            f"({invoice.write_off_amount}); undo them or issue a credit note"
        )
    invoice.cancelled_at = utcnow()
    session.add(invoice)
    # Open proposals to pay it are withdrawn: a cancelled invoice is never paid.
    for suggestion in session.exec(
        select(Suggestion).where(Suggestion.company_id == company_id, Suggestion.status == "open")
    ):
        if any(part["invoice_id"] == invoice.id for part in suggestion.allocations):
            suggestion.status, suggestion.decided_by, suggestion.decided_at = "superseded", actor, utcnow()
            session.add(suggestion)
            ledger.touch(transaction_id=suggestion.transaction_id)
    ledger.audit("invoice.cancelled", invoice.id, {"number": invoice.number})
    ledger.touch(invoice_id=invoice.id)
    ledger.settle()
    return session.get(Invoice, invoice.id)  # type: ignore[return-value]
