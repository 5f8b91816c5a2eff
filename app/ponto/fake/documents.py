"""How the stand-in writes its answers: JSON:API resources (synchronization, account, transaction, financial
institution), cursor-paged lists, JSON:API error documents, and the HTML page of a bad browser request."""

from __future__ import annotations

import html
import uuid
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from app.ponto.fake.records import FakeAccount, FakeError, FakeSynchronization, FakeTransaction
from app.ponto.fake.state import FakePontoState
from app.ponto.fake.values import (
    _FI_IDS,
    _OPTIONAL_ONLY_WHEN_SET,
    API,
    DEFAULT_LIMIT,
    FINANCIAL_INSTITUTIONS,
    JSONAPI,
    MAX_LIMIT,
    SUBTYPES,
    TX_FIELDS,
    _digest,
    booking_day,
    iso,
)


def _sync_resource(sync: FakeSynchronization, api: str, *, embedded: bool = False) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "resourceType": "account",
        "resourceId": sync.account_id,
        "subtype": sync.subtype,
        "status": sync.status,
        "errors": sync.errors,
        "createdAt": iso(sync.created_at),
        "updatedAt": iso(sync.updated_at),
    }
    if sync.customer_ip:
        attributes["customerIpAddress"] = sync.customer_ip
    resource: dict[str, Any] = {"type": "synchronization", "id": sync.id, "attributes": attributes}
    if not embedded:
        base = f"{api}/synchronizations/{sync.id}"
        resource["relationships"] = {
            "updatedTransactions": {
                "links": {"related": f"{base}/updated-transactions", "meta": {"type": "transaction"}}
            },
            "updatedPendingTransactions": {
                "links": {"related": f"{base}/updated-pending-transactions", "meta": {"type": "pendingTransaction"}}
            },
        }
    return resource


def _account_resource(state: FakePontoState, account: FakeAccount, api: str) -> dict[str, Any]:
    latest, _ = state._latest(account.id, SUBTYPES)
    changed = iso(account.balance_changed_at)
    base = f"{api}/accounts/{account.id}"
    return {
        "type": "account",
        "id": account.id,
        "attributes": {
            "subtype": "checking",
            "referenceType": "IBAN",
            "reference": account.iban,
            "product": account.product,
            "internalReference": account.internal_reference,
            "holderName": account.holder_name,
            "description": account.description,
            "deprecated": False,
            "currency": account.currency,
            "currentBalance": float(account.shown_balance),
            "currentBalanceChangedAt": changed,
            "currentBalanceReferenceDate": changed,
            "availableBalance": float(account.shown_balance),
            "availableBalanceChangedAt": changed,
            "availableBalanceReferenceDate": changed,
            "authorizedAt": iso(account.authorized_at),
            "authorizationExpirationExpectedAt": iso(account.expires_at),
        },
        "relationships": {
            "transactions": {"links": {"related": f"{base}/transactions", "meta": {"type": "transaction"}}},
            "pendingTransactions": {
                "links": {"related": f"{base}/pending-transactions", "meta": {"type": "pendingTransaction"}}
            },
            "financialInstitution": {
                "links": {"related": f"{api}/financial-institutions/{account.financial_institution_id}"},
                "data": {"type": "financialInstitution", "id": account.financial_institution_id},
            },
        },
        "meta": {
            "availability": account.availability,
            "synchronizedAt": iso(account.synchronized_at),
            "latestSynchronization": _sync_resource(latest, api, embedded=True) if latest else None,
        },
        "links": {"self": base},
    }


def _transaction_resource(tx: FakeTransaction, api: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for name, api_name in TX_FIELDS.items():
        value = tx.shown_fields.get(name)
        if value is None and name in _OPTIONAL_ONLY_WHEN_SET:
            continue
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = booking_day(value)
        attributes[api_name] = value
    attributes["digest"] = _digest(tx.account_id, tx.shown_fields)
    attributes["createdAt"] = iso(tx.created_at)
    attributes["updatedAt"] = iso(tx.updated_at)
    attributes.update(tx.shown_raw)
    return {
        "type": "pendingTransaction" if tx.pending else "transaction",
        "id": tx.id,
        "attributes": attributes,
        "relationships": {
            "account": {
                "links": {"related": f"{api}/accounts/{tx.account_id}"},
                "data": {"type": "account", "id": tx.account_id},
            }
        },
    }


def _fi_resource(index: int) -> dict[str, Any]:
    bank = FINANCIAL_INSTITUTIONS[index]
    return {
        "type": "financialInstitution",
        "id": _FI_IDS[index],
        "attributes": {
            "name": bank["name"],
            "bic": bank["bic"],
            "country": "BE",
            "status": "stable",
            "deprecated": False,
            "timeZone": "Europe/Brussels",
            "maintenanceType": None,
            "maintenanceFrom": None,
            "maintenanceTo": None,
            "paymentsEnabled": False,
            "bulkPaymentsEnabled": False,
            "periodicPaymentsEnabled": False,
            "futureDatedPaymentsAllowed": False,
        },
    }


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or str(uuid.uuid4())


def error_response(request: Request, exc: FakeError) -> JSONResponse:
    error = {"code": exc.code, "detail": exc.detail, "meta": {"requestId": request_id(request), **exc.meta}}
    return JSONResponse({"errors": [error]}, exc.status, headers=exc.headers, media_type=JSONAPI)


def jsonapi(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, media_type=JSONAPI)


def api_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API


def page_params(request: Request) -> tuple[int, str | None, str | None]:
    query = request.query_params

    def param(name: str) -> str | None:
        return query.get(f"page[{name}]", query.get(name))

    raw_limit = param("limit")
    try:
        limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_LIMIT:
        raise FakeError(
            400, "validationError", f"page[limit] must be an integer from 1 to {MAX_LIMIT}.", parameter="limit"
        )
    before, after = param("before"), param("after")
    if before and after:
        raise FakeError(400, "validationError", "Use page[before] or page[after], not both.")
    return limit, before or None, after or None


def page(
    request: Request, ordered: list[tuple[int, str, Any]], positions: dict[str, int]
) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Cursor paging over ``ordered`` ((key, id, item), highest key first = newest first): the page's items,
    its links and meta.paging. ``positions`` holds the key of every id a cursor may name."""
    limit, before, after = page_params(request)
    cursor = before or after
    if cursor is not None and cursor not in positions:
        raise FakeError(400, "validationError", f"The cursor {cursor!r} names no item of this list.")
    if after is not None:
        chosen = [e for e in ordered if e[0] < positions[after]][:limit]
    elif before is not None:
        chosen = [e for e in ordered if e[0] > positions[before]][-limit:]
    else:
        chosen = ordered[:limit]
    newer = bool(chosen) and any(e[0] > chosen[0][0] for e in ordered)
    older = bool(chosen) and any(e[0] < chosen[-1][0] for e in ordered)
    url = str(request.url.replace(query=""))
    links = {"first": f"{url}?{urlencode({'page[limit]': limit})}"}
    if older:
        links["next"] = f"{url}?{urlencode({'page[limit]': limit, 'page[after]': chosen[-1][1]})}"
    if newer:
        links["prev"] = f"{url}?{urlencode({'page[limit]': limit, 'page[before]': chosen[0][1]})}"
    paging = {
        "limit": limit,
        "before": chosen[0][1] if newer else None,
        "after": chosen[-1][1] if older else None,
    }
    return [e[2] for e in chosen], links, paging


def bad_page(message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><h1>Bad request</h1><p>{html.escape(message)}</p>", 400)
