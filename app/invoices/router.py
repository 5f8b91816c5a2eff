"""HTTP routes for invoices; tenancy and scope come from CompanyDep."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.companies.access import CompanyDep, current_company
from app.companies.service import receiving_account
from app.core.db import SessionDep
from app.core.errors import AppError, Conflict, ValidationFailed, problem
from app.core.json_out import json_bytes
from app.core.pagination import (
    CursorQuery,
    LimitQuery,
    decode_change_cursor,
    decode_cursor,
    encode_change_cursor,
    next_cursor,
)
from app.core.request_routes import CommittingRoute, refuse_unknown_query
from app.core.schemas import Page, free_of_control_characters
from app.core.timeutil import as_utc
from app.identifiers.iban import IbanError, normalize_iban
from app.invoices import reads, service
from app.invoices.payment_qr import PaymentQrError, epc_payload, render
from app.invoices.presenter import invoice_document, present_invoice, present_invoices
from app.invoices.schemas import BatchCreate, BatchResponse, InvoiceCreate, InvoicePublic
from app.reconciliation import decisions
from app.reconciliation.presenter import oldest_first
from app.reconciliation.schemas import WriteOffIn

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}/invoices", tags=["invoices"])

QR_EXAMPLE = "BCD\n002\n1\nSCT\n\nDemo BV\nBE80001000000177\nEUR121.00\n\n090933755493"

InvoiceStatus = Literal["open", "partially_paid", "paid", "overpaid", "cancelled"]


@router.post(
    "",
    status_code=201,
    response_model=InvoicePublic,
    responses={200: {"model": InvoicePublic, "description": "The same invoice was registered before (idempotent)."}},
)
def create_invoice(data: InvoiceCreate, ctx: CompanyDep, session: SessionDep, response: Response) -> dict[str, Any]:
    """Register a sales invoice (idempotent on external_id: the same content again is a 200, other content a 409).

    Send lines (totals and VAT are computed) or the invoice's own UBL document, or at least a total_amount."""
    outcome = service.create_invoice(session, ctx.id, data)
    response.status_code = 201 if outcome.created else 200
    assert outcome.invoice is not None
    return present_invoice(session, outcome.invoice)


@router.post(
    "/batch",
    response_model=BatchResponse,
    responses={207: {"model": BatchResponse, "description": "Some invoices were refused; see each result."}},
)
def create_batch(data: BatchCreate, ctx: CompanyDep, session: SessionDep) -> JSONResponse:
    """Register up to 1000 invoices; each gets its own result. 200 when all succeeded, else 207."""
    checked = free_of_control_characters(data.invoices)
    parsed = [service.parse_batch_item(raw, controls_checked=checked) for raw in data.invoices]
    valid = [p for p in parsed if isinstance(p, InvoiceCreate)]
    outcomes = iter(service.create_invoices(session, ctx.id, valid))
    # Plain JSON, not BatchResult models: a thousand invoices through pydantic cost more than storing them
    # (the invoices' renderer equals the API's InvoicePublic: tests/unit/test_renderers.py).
    results: list[dict[str, Any]] = []
    pending: list[tuple[int, service.Outcome]] = []
    for index, (raw, item) in enumerate(zip(data.invoices, parsed, strict=True)):
        external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
        if isinstance(item, InvoiceCreate):
            outcome = next(outcomes)
            pending.append((len(results), outcome))
            results.append({"index": index, "external_id": external_id, "status": _status(outcome)})
        else:
            results.append({"index": index, "external_id": external_id, "status": 422, "problem": problem_body(item)})
    ok = [o.invoice for _, o in pending if o.invoice is not None]
    presented = {document["id"]: document for document in present_invoices(session, ok)}
    for position, outcome in pending:
        if outcome.invoice is not None:
            results[position]["invoice"] = presented[outcome.invoice.id]
        elif outcome.error is not None:
            results[position]["status"] = outcome.error.status
            results[position]["problem"] = problem_body(outcome.error)
    all_ok = all(r["status"] < 300 for r in results)
    body = {"results": results}
    return Response(json_bytes(body), status_code=200 if all_ok else 207, media_type="application/json")


@router.get("", response_model=Page[InvoicePublic])
def list_invoices(
    ctx: CompanyDep,
    session: SessionDep,
    status: Annotated[list[InvoiceStatus] | None, Query(description="Filter; repeat for several.")] = None,
    external_id: str | None = None,
    due_before: Annotated[date | None, Query(description="Only invoices due strictly before this date.")] = None,
    paid_since: Annotated[
        date | None, Query(description="Only invoices settled on or after this day (paid_at, the booking day).")
    ] = None,
    updated_since: Annotated[
        datetime | None,
        Query(
            description="Polling for changes: only invoices changed at or after this instant (RFC 3339; without a "
            "zone, UTC), ordered and paged by change (updated_at, then id). Poll again from the last updated_at "
            "you saw: it is inclusive, so nothing committed at that instant is missed (de-duplicate by id and "
            "updated_at)."
        ),
    ] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[InvoicePublic]:
    """The company's invoices, oldest first, a page at a time; filter by status, external_id, due date or paid
    day; or, with updated_since, the invoices that changed, in the order they changed."""
    since = updated_since.replace(tzinfo=UTC) if updated_since and updated_since.tzinfo is None else updated_since
    rows = service.list_invoices(
        session,
        ctx.id,
        limit=limit,
        after=decode_cursor(cursor) if since is None else None,
        status=list(status) if status else None,
        external_id=external_id,
        due_before=due_before,
        paid_since=paid_since,
        updated_since=since,
        after_change=decode_change_cursor(cursor) if since is not None else None,
    )
    page = present_invoices(session, rows[:limit])
    if since is None:
        return Page(items=page, next_cursor=next_cursor([r.id for r in rows], limit))
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(items=page, next_cursor=encode_change_cursor(as_utc(last.updated_at), last.id) if last else None)


async def get_invoice(request: Request) -> Response:
    """The invoice with its paid status; the hot path of invoicing apps and dashboards."""
    # The path's two strings are read as routing matched them: declared as parameters, FastAPI validates each
    # (plain strings, nothing to refuse) through several steps per request, an eighth of this read's time.
    vat, invoice_id = request.path_params["vat"], request.path_params["invoice_id"]
    if request.scope["query_string"]:  # this read takes none (a filter that seemed to work would mislead)
        refuse_unknown_query(request, frozenset())
    # The company check is called, not declared as a dependency: FastAPI solves each dependency level per
    # request, and this read is mostly that overhead (the same check as CompanyDep, from app.companies.access).
    ctx = await current_company(vat, request)
    # On the event loop, with cached authentication and no ORM session (invoices/reads.py, app/core/prepared.py): a
    # hand-off to the thread pool, and the GIL back and forth, cost more than the read itself.
    invoice, allocations, write_offs, documents = await reads.invoice_rows(ctx.id, invoice_id)
    # Rendered as JSON directly by the invoice's one renderer: pydantic's model and dump were most of the read's
    # own time, and FastAPI's re-validation adds nothing to a document built from our own rows.
    body = json_bytes(invoice_document(invoice, oldest_first(allocations), write_offs, documents))
    return Response(body, media_type="application/json")


class _RequestRoute(APIRoute):
    """An API route whose endpoint takes the request and returns the response itself (FastAPI's documented
    custom route class): it declares nothing for FastAPI to solve, so its handler is the endpoint, without
    the per-request pass over dependencies, body and response model (a tenth of the hot read's time)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def add_hot_read(app: FastAPI) -> None:
    """GET invoice as a route of the application itself: FastAPI matches an included router's routes twice
    per request (once to pick the router, once inside it), a route of the app once. Same path, operation and
    document as if it were declared on ``router``."""
    app.router.add_api_route(
        f"{router.prefix}/{{invoice_id}}",
        get_invoice,
        methods=["GET"],
        response_model=InvoicePublic,
        tags=["invoices"],
        openapi_extra={"parameters": _PATH_PARAMETERS},
        route_class_override=_RequestRoute,
    )


#: What FastAPI documents for path parameters ``invoice_id: str, vat: str``.
_PATH_PARAMETERS = [
    {"in": "path", "name": name, "required": True, "schema": {"title": title, "type": "string"}}
    for name, title in (("invoice_id", "Invoice Id"), ("vat", "Vat"))
]


@router.get(
    "/{invoice_id}/payment-qr",
    response_class=Response,
    responses={
        200: {
            "description": "The EPC QR code (EPC069-12 v002, SEPA credit transfer) of the amount due, or its payload.",
            "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}, "example": QR_EXAMPLE},
            },
        },
        409: {
            "description": "Nothing to pay by QR: the invoice is paid, cancelled or a credit note, or the company "
            "has no bank account."
        },
    },
)
def get_payment_qr(
    invoice_id: str,
    ctx: CompanyDep,
    session: SessionDep,
    format: Annotated[
        Literal["svg", "png", "text"],
        Query(description="svg (default), png, or text: the payload itself, to print a code of your own."),
    ] = "svg",
    iban: Annotated[
        str | None, Query(description="The company's account to be paid into; default the one registered first.")
    ] = None,
    scale: Annotated[int, Query(ge=1, le=40, description="Pixels (SVG: units) per module.")] = 8,
) -> Response:
    """A QR code a banking app scans to pay the invoice: the company's name and IBAN, the **amount due** (not the
    total, once part is paid) and the structured reference (an OGM as its 12 digits, or the RF reference) in the
    structured remittance line, the free text left empty. 409 when nothing is due (paid, cancelled, a credit
    note) or the company has no bank account."""
    invoice = service.get_invoice(session, ctx.id, invoice_id)
    if invoice.kind != "invoice" or invoice.status in ("paid", "overpaid", "cancelled") or invoice.outstanding <= 0:
        raise Conflict(f"invoice {invoice.number} has nothing to pay (status {invoice.status})")
    try:
        wanted = normalize_iban(iban) if iban else None
    except IbanError as exc:
        raise ValidationFailed(str(exc), errors=[{"loc": "query.iban", "message": str(exc)}]) from None
    account = receiving_account(session, ctx.id, wanted)
    if account is None:
        if iban:
            raise ValidationFailed(
                f"{iban} is not an account of this company",
                errors=[{"loc": "query.iban", "message": "not an account of this company"}],
            )
        raise Conflict("the company has no bank account to be paid into; add one (PATCH /v1/companies/{vat})")
    try:
        payload = epc_payload(
            name=ctx.company.name,
            iban=account,
            amount_due=invoice.outstanding,
            structured_reference=invoice.structured_reference,
        )
        if format == "text":
            return Response(payload, media_type="text/plain; charset=utf-8")
        image, media_type = render(payload, format, scale)
    except PaymentQrError as exc:
        raise Conflict(str(exc)) from None
    return Response(image, media_type=media_type)


@router.post("/{invoice_id}/cancel", response_model=InvoicePublic)
def cancel_invoice(invoice_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Cancel an invoice with nothing paid or written off; its open suggestions are withdrawn."""
    return present_invoice(session, service.cancel_invoice(session, ctx.id, invoice_id, ctx.actor))


@router.post("/{invoice_id}/write-offs", status_code=201, response_model=InvoicePublic)
def write_off(invoice_id: str, data: WriteOffIn, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Settle (part of) what the invoice has due without money: a discount, a bank fee, a small difference."""
    decisions.write_off_invoice(
        session,
        ctx.id,
        invoice_id,
        data.amount,
        data.reason,
        ctx.actor,
        transaction_id=data.transaction_id,
        note=data.note,
    )
    return present_invoice(session, service.read_invoice(session, ctx.id, invoice_id))


@router.delete("/{invoice_id}/write-offs/{write_off_id}", status_code=204)
def undo_write_off(invoice_id: str, write_off_id: str, ctx: CompanyDep, session: SessionDep) -> Response:
    """Undo a write-off; the invoice's status follows at once."""
    decisions.undo_write_off(session, ctx.id, write_off_id, ctx.actor, invoice_id=invoice_id)
    return Response(status_code=204)


def _status(outcome: service.Outcome) -> int:
    if outcome.error is not None:
        return outcome.error.status
    return 201 if outcome.created else 200


def problem_body(error: AppError) -> dict[str, Any]:
    """A refused invoice's problem+json, as a batch result carries it."""
    return json.loads(problem(error.status, error.title, error.detail, slug=error.slug, errors=error.errors).body)
