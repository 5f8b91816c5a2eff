"""The stand-in's ``/_fake/`` control routes: seed organizations, accounts and transactions, change them at the
bank, move the clock, inject faults, set the webhook target, read the request and webhook logs. Plain JSON;
an unknown id is a 404, a bad value a 400."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.ponto.fake.state import FakePontoState
from app.ponto.fake.values import iso


def control_router(state: FakePontoState) -> APIRouter:
    """The ``/_fake/`` routes over ``state``."""
    router = APIRouter()

    def control_error(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status)

    async def control_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def control(action: Callable[[dict[str, Any], dict[str, str]], Any], status: int = 200):
        async def handler(request: Request) -> Response:
            try:
                result = action(await control_body(request), dict(request.path_params))
            except KeyError as exc:
                return control_error(404, f"unknown id: {exc.args[0] if exc.args else ''}")
            except (ValueError, TypeError) as exc:
                return control_error(400, str(exc))
            return JSONResponse(result, status)

        return handler

    def add_route(path: str, action, status: int = 200, method: str = "POST") -> None:
        router.add_api_route(path, control(action, status), methods=[method])

    add_route(
        "/_fake/organizations",
        lambda b, p: state.add_organization(b.get("name", ""), b.get("accounts") or []),
        201,
    )
    add_route(
        "/_fake/next-authorization",
        lambda b, p: state.set_next_authorization(str(b.get("organization_id"))) or {"ok": True},
    )
    add_route(
        "/_fake/accounts/{account_id}/transactions",
        lambda b, p: {"id": state.add_transaction(p["account_id"], b)},
        201,
    )
    add_route(
        "/_fake/pending/{pending_id}/book",
        lambda b, p: {
            "id": state.book_pending(p["pending_id"], execution_date=b.get("execution_date"), amount=b.get("amount"))
        },
        201,
    )
    add_route(
        "/_fake/transactions/{transaction_id}",
        lambda b, p: state.update_transaction(p["transaction_id"], b) or {"ok": True},
    )
    add_route(
        "/_fake/accounts/{account_id}/consent",
        lambda b, p: (
            state.set_consent(p["account_id"], expires_at=b.get("expires_at"), revoked=b.get("revoked")) or {"ok": True}
        ),
    )
    add_route(
        "/_fake/organizations/{organization_id}/revoke",
        lambda b, p: {"revoked": state.revoke_integration(p["organization_id"])},
    )
    add_route(
        "/_fake/faults",
        lambda b, p: state.inject(str(b.get("route")), str(b.get("kind")), int(b.get("count", 1))) or {"ok": True},
    )
    add_route("/_fake/requests", lambda b, p: state.request_log(), method="GET")
    add_route("/_fake/webhooks", lambda b, p: state.webhook_log(), method="GET")
    add_route("/_fake/webhooks/target", lambda b, p: state.set_webhook_target(b.get("url")) or {"url": b.get("url")})
    add_route("/_fake/clock", lambda b, p: {"now": iso(state.advance(float(b.get("advance_seconds", 0))))})
    add_route("/_fake/synchronizations/complete", lambda b, p: {"completed": state.complete_synchronizations()})
    add_route(
        "/_fake/tokens",
        lambda b, p: state.issue_token(b.get("organization_id"), b.get("scope", "offline_access ai")),
        201,
    )
    return router
