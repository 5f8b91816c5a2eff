"""The hot read of invoicing apps and dashboards, ``GET /v1/companies/{vat}/invoices/{id}``, served without
FastAPI's per-request machinery (dependency solving, response re-validation), which costs several times the
database work here.

Only the successful case is served here, with the same authentication, tenancy check and presenter as the
regular route; anything else (no or bad key, unknown invoice, another method) falls through to that route,
so errors and edge cases behave exactly as everywhere else.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import unit_of_work
from app.errors import AppError
from app.invoices.presenter import present_invoice
from app.invoices.service import read_invoice
from app.security import authenticate, current_company

_INVOICE_PATH = re.compile(r"^/v1/companies/([^/]+)/invoices/(inv_[0-9a-f]{28})$")


def render_invoice(company_id: str, invoice_id: str) -> bytes | None:
    with unit_of_work(read_only=True) as session:
        try:
            row = read_invoice(session, company_id, invoice_id)
        except AppError:
            return None
        return present_invoice(session, row).model_dump_json().encode()


class InvoiceReadFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _INVOICE_PATH.match(scope["path"])
            if match is not None:
                body = await self._serve(scope, match.group(1), match.group(2))
                if body is not None:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, vat: str, invoice_id: str) -> bytes | None:
        request = Request(scope)
        try:
            principal = await authenticate(request)
            ctx = await current_company(vat, request, principal)
        except AppError:
            return None  # the regular route answers with the proper problem
        return await run_in_threadpool(render_invoice, ctx.id, invoice_id)
