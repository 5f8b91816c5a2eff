"""POST /v1/webhooks/inbound: signed (Standard Webhooks) notifications from the integrator's own systems.

invoice.created / invoice.updated / invoice.cancelled carry {company_vat, invoice} (the invoice as in the
contract); codabox.sync_requested carries {company_vat} and asks for a CodaBox sync of that company now, as
``POST .../codabox/sync`` does (CodaBox's API is pull-only and sends no webhooks: this is a trigger for an
integrator's own relay or scheduler). ``codabox.documents_available``, its earlier name, is still accepted.
Each webhook-id is processed once. A bad signature or a stale timestamp is 401.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.codabox.models import InboundWebhook
from app.codabox.service import request_sync
from app.companies.access import company_by_vat, given_vat
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from app.core.request_routes import CommittingRoute
from app.invoices import service as invoices
from app.invoices.schemas import InvoiceCreate

router = APIRouter(route_class=CommittingRoute, tags=["webhooks"])
SYNC_TYPES = ("codabox.sync_requested", "codabox.documents_available")
TYPES = ("invoice.created", "invoice.updated", "invoice.cancelled", *SYNC_TYPES)


def _verify(body: bytes, headers: dict[str, str]) -> None:
    settings = get_settings()
    if not settings.inbound_webhook_secret:
        raise Unauthorized("inbound webhooks are not configured (CODARECON_INBOUND_WEBHOOK_SECRET)")
    try:
        Webhook(settings.inbound_webhook_secret).verify(body, headers)
    except (WebhookVerificationError, ValueError) as exc:
        raise Unauthorized(f"webhook signature or timestamp not accepted: {exc}") from None
    stamp = int(headers.get("webhook-timestamp", "0"))
    if abs(datetime.now(UTC) - datetime.fromtimestamp(stamp, UTC)) > timedelta(
        seconds=settings.inbound_webhook_tolerance_seconds
    ):
        raise Unauthorized("webhook timestamp is too old or too far in the future")


def _process(message_id: str, event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("type")
    data = event.get("data") or {}
    if not isinstance(data, dict) or not isinstance(data.get("invoice") or {}, dict):
        raise ValidationFailed(
            "data (and data.invoice) must be JSON objects",
            errors=[{"loc": "body.data", "message": "must be an object"}],
        )
    if not isinstance(data.get("company_vat", ""), str):
        raise ValidationFailed(
            "data.company_vat must be a string",
            errors=[{"loc": "body.data.company_vat", "message": "must be a string"}],
        )
    if not isinstance(kind, str) or kind not in TYPES:
        raise ValidationFailed(
            f"unknown webhook type {kind!r}", errors=[{"loc": "body.type", "message": f"one of {TYPES}"}]
        )
    with unit_of_work() as session:
        try:
            with session.begin_nested():
                session.add(InboundWebhook(id=message_id[:200], type=kind))
                session.flush()
        except IntegrityError:
            return {"status": "duplicate", "webhook_id": message_id}
        company = company_by_vat(session, given_vat(str(data.get("company_vat", "")), "body.data.company_vat"))
        if company is None:
            raise NotFound("no such company")
        if kind in SYNC_TYPES:
            request_sync(session, company.id)
            return {"status": "sync_queued"}
        raw = data.get("invoice") or {}
        if kind == "invoice.cancelled":
            existing = session.exec(
                invoices.select(invoices.Invoice).where(
                    invoices.Invoice.company_id == company.id, invoices.Invoice.external_id == raw.get("external_id")
                )
            ).first()
            if existing is None:
                raise NotFound(f"no invoice {raw.get('external_id')}")
            invoices.cancel_invoice(session, company.id, existing.id, "webhook")
            return {"status": "cancelled", "invoice_id": existing.id}
        try:
            parsed = InvoiceCreate.model_validate(raw)
        except ValidationError as exc:
            raise ValidationFailed(
                "invalid invoice",
                errors=[{"loc": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()],
            ) from None
        outcome = invoices.create_invoices(session, company.id, [parsed])[0]
        if outcome.error is not None:
            if kind == "invoice.updated" and isinstance(outcome.error, Conflict):
                raise Conflict(
                    f"{outcome.error.detail}; changing a registered invoice is not supported, cancel it and register a new one"
                )
            raise outcome.error
        return {"status": "created" if outcome.created else "unchanged", "invoice_id": outcome.invoice.id}


@router.post(
    "/v1/webhooks/inbound",
    responses={
        401: {"description": "Bad signature or stale timestamp."},
        429: {"description": "codabox.sync_requested within CodaBox's fetch_delay: retry after `Retry-After`."},
    },
)
async def inbound(request: Request) -> JSONResponse:
    """Notifications from the integrator's own systems, signed per Standard Webhooks with
    CODARECON_INBOUND_WEBHOOK_SECRET: invoice.created/updated/cancelled, and codabox.sync_requested, which
    queues a CodaBox sync of the company (429 within CodaBox's fetch_delay; CodaBox itself sends no webhooks)."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    _verify(body, headers)
    try:
        event = json.loads(body)
    except ValueError:
        raise ValidationFailed("the body is not JSON") from None
    if not isinstance(event, dict):
        raise ValidationFailed("the body must be a JSON object")
    result = await run_in_threadpool(_process, headers["webhook-id"], event)
    return JSONResponse(result, status_code=200)
