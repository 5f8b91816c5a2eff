"""Limits that hold before any route runs: the credential is checked before a byte of the body is read, and
bodies are capped per route before they are parsed.

A 300 MiB JSON body would otherwise be read into memory (and parsed) before the route's dependencies find
out that the caller has no key. Here an API request without a valid credential gets its 401 at once, a body
announced larger than the route's cap gets 413 at once, and one that turns out larger while streaming is cut
off at the cap and answered 413, whatever the route was doing with it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import bearer, header
from app.core.auth import principal_for
from app.core.config import MAX_UBL_BYTES, get_settings
from app.core.errors import Unauthorized, problem

#: JSON routes that carry no documents.
JSON_LIMIT = 1024 * 1024
#: Inbound CodaBox notifications are small; checked before their signature is verified.
INBOUND_LIMIT = 64 * 1024
INBOUND_PATH = "/v1/webhooks/inbound"
#: Signed webhooks from outside (the integrator's own systems, Ponto Connect): no API key, small bodies.
INBOUND_PATHS = frozenset({INBOUND_PATH, "/v1/webhooks/ponto"})
#: API paths that take no key: those, and the page Ponto sends a company's user back to (a GET; any other
#: method there is the route's 405, not a 401).
KEYLESS_PATHS = INBOUND_PATHS | {"/v1/ponto/callback"}
#: Routes that carry documents: CODA uploads, and invoices with their PDF or UBL (also in batches).
_DOCUMENT_ROUTES = re.compile(r"^/v1/companies/[^/]+/(statements|invoices(/batch)?)$")
#: Routes that cap their own body and answer an excess themselves (the review page's upload shows its notice
#: on the page, where this middleware's answer would be JSON).
_READS_ITS_OWN_BODY = {"/ui/statements"}
_WITH_BODY = {"POST", "PUT", "PATCH"}


#: A UBL document to check: up to the UBL cap (app/core/config.py), not the JSON bodies' megabyte.
UBL_VALIDATE_PATH = "/v1/ubl/validate"


def body_limit(path: str) -> int:
    if path in INBOUND_PATHS:
        return INBOUND_LIMIT
    if path == UBL_VALIDATE_PATH:
        return MAX_UBL_BYTES
    if _DOCUMENT_ROUTES.match(path):
        return get_settings().max_upload_bytes + 64 * 1024  # multipart framing around the file
    return JSON_LIMIT


def _too_large(limit: int) -> Any:
    return problem(
        413,
        "Payload too large",
        f"the request body is larger than this route's limit of {limit} bytes",
        slug="too-large",
    )


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY or scope["path"] in _READS_ITS_OWN_BODY:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v1/") and path not in KEYLESS_PATHS:
            credential = bearer(scope)
            try:
                if not credential:
                    raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
                await principal_for(credential)
            except Unauthorized as exc:
                await problem(401, exc.title, exc.detail, slug=exc.slug)(scope, receive, send)
                return
            except (OperationalError, InterfaceError) as exc:
                # A key not cached yet is looked up in the database; down, it is the app's 503 (Retry-After).
                await _answered_by_the_app(exc, scope, receive, send)
                return
        limit = body_limit(path)
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        await self._capped(scope, receive, send, limit)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    # Stop the stream here: whatever the route makes of a truncated body, the answer is 413.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(limit)(scope, _no_body, send)
                return  # the route's own answer to a cut-off body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        # The route gave up on the cut-off body (say, with ClientDisconnect) without answering: answer for it.
        if exceeded and not started:
            await _too_large(limit)(scope, _no_body, send)


async def _answered_by_the_app(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """``exc`` answered by the app's own handler for it: middleware runs outside the app's error handlers."""
    handlers = getattr(scope.get("app"), "exception_handlers", {})
    handler = next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
    if handler is None:
        raise exc
    response = await handler(Request(scope, receive), exc)
    await response(scope, receive, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
