"""A local stand-in for Ponto Connect (Ibanity's bank-data API for partners), with fault injection, so a Ponto
client can be built and tested offline: `serve_fake()` (default http://127.0.0.1:8766), or in-process with
`create_fake_ponto_app(state)`.

From public evidence (../shared/ponto-api.md, which cites Ibanity's official SDKs and their JSON fixtures):

- the routes under ``/ponto-connect``, the nested discovery document of URI templates at ``GET /ponto-connect``,
  OAuth2 authorization code + PKCE (S256) with HTTP Basic client authentication, ``expires_in`` 1799, refresh
  tokens only with ``offline_access`` and rotated on every refresh, revocation by ``POST /oauth2/revoke`` or
  ``DELETE /organizations/{id}/integration`` (client-credentials token), plain-JSON token, userinfo and RFC 6749
  error bodies;
- JSON:API documents (``application/vnd.api+json``): UUID ids, UTC timestamps with milliseconds and ``Z``, amounts
  as JSON numbers, per-resource ``meta`` on accounts (availability, synchronizedAt, latestSynchronization),
  ``{"errors": [{"code", "detail", "meta": {"requestId"}}]}`` errors and an ``ibanity-request-id`` header;
- cursor paging: ``page[limit]`` (default 10, 1..100), ``page[before]``/``page[after]`` by resource id (bare
  ``limit``/``before``/``after`` accepted too), newest first by Ponto's creation order, ``links.first`` always,
  ``links.next``/``links.prev`` only when there is an older/newer page, ``meta.paging`` with the edge cursors
  (null on the side that has no more);
- synchronizations (pending -> running -> success or error), the 400 ``accountRecentlySynchronized`` of a second
  one of the same subtype too soon, pending items refreshed only by ``accountTransactionsWithUnsettled``, the
  ``updated-transactions`` of a synchronization, consent of about 90 days and reauthorization requests;
- Belgian banks give a booking day as local midnight, so day 2026-12-08 arrives as ``2026-12-07T23:00:00.000Z``;
  ``digest`` may be equal for identical same-day transactions;
- webhooks: a JSON:API single resource per event, signed by a ``Signature`` JWT (RS512, app.ponto.signature),
  keys at ``GET /webhooks/keys`` and ``GET /webhooks`` -> ``links.keys``.

Our assumptions and stand-in conveniences (not from the sources): the cool-down length (``cooldown_seconds``,
default 300 s; every created synchronization counts, failed ones too); ``sync_steps`` (how many GETs a
synchronization takes; with 0 it is done when created; `complete_synchronizations()` finishes all pending ones,
for clients that wait for webhooks rather than poll); the auto-approving ``/oauth2/auth`` on the API host and its
``organization`` query parameter; codes single-use for 10 min, a failed code_verifier does not burn the code;
refresh tokens never expire and a reused one is refused without revoking the rest; a cursor id that names no
item of the list is a 400, ``page[before]`` with ``page[after]`` too; an empty page has no next/prev links; the
error codes ``validationError``, ``resourceNotFound``, ``serviceUnavailable`` and ``tooManyRequests``; a revoked
consent fails synchronizations with ``authorizationInvalid``, a lapsed one with ``authorizationExpired``; the
balance moves with booked items and is shown after an ``accountDetails`` synchronization; the digest's inputs;
``integration.created``/``.revoked`` webhooks for every activation/revocation; webhooks are sent once, in order,
from one background thread, without retries. No mTLS, and optional ``Digest``/``Signature`` request headers
are accepted and ignored.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ponto.fake.api import api_router
from app.ponto.fake.control import control_router
from app.ponto.fake.documents import error_response
from app.ponto.fake.oauth import oauth_router
from app.ponto.fake.records import (
    FakeAccount,
    FakeCode,
    FakeError,
    FakeOrganization,
    FakeSynchronization,
    FakeToken,
    FakeTransaction,
    OAuthError,
)
from app.ponto.fake.state import FakePontoState
from app.ponto.fake.values import (
    API,
    BRUSSELS,
    DEFAULT_LIMIT,
    FAULT_KINDS,
    FINANCIAL_INSTITUTIONS,
    JSONAPI,
    MAX_LIMIT,
    ROUTES,
    SCOPES,
    SUBTYPES,
    TX_FIELDS,
    booking_day,
    iso,
)

__all__ = [
    "API",
    "BRUSSELS",
    "DEFAULT_LIMIT",
    "FAULT_KINDS",
    "FINANCIAL_INSTITUTIONS",
    "JSONAPI",
    "MAX_LIMIT",
    "ROUTES",
    "SCOPES",
    "SUBTYPES",
    "TX_FIELDS",
    "FakeAccount",
    "FakeCode",
    "FakeError",
    "FakeOrganization",
    "FakePontoState",
    "FakeSynchronization",
    "FakeToken",
    "FakeTransaction",
    "OAuthError",
    "booking_day",
    "create_fake_ponto_app",
    "iso",
    "serve_fake",
]


def create_fake_ponto_app(state: FakePontoState | None = None) -> FastAPI:
    state = state or FakePontoState()
    app = FastAPI(title="fake Ponto Connect", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = state

    @app.middleware("http")
    async def envelope(request: Request, call_next):
        request.state.request_id = str(uuid.uuid4())
        path = request.scope["path"]
        if len(path) > 1 and path.endswith("/"):  # the SDKs fill "{accountId}" with "" and call ".../accounts/"
            request.scope["path"] = path = path.rstrip("/") or "/"
        if not path.startswith("/_fake"):
            state.log_request(request.method, path, dict(request.query_params))
        response = await call_next(request)
        response.headers["ibanity-request-id"] = request.state.request_id
        return response

    @app.exception_handler(FakeError)
    async def on_fake_error(request: Request, exc: FakeError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(OAuthError)
    async def on_oauth_error(request: Request, exc: OAuthError) -> Response:
        headers = {"Cache-Control": "no-store"}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ponto-connect"'
        return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_fake"):
            return JSONResponse({"detail": exc.detail}, exc.status_code)
        code = {404: "resourceNotFound", 405: "methodNotAllowed"}.get(exc.status_code, "invalidRequest")
        return error_response(request, FakeError(exc.status_code, code, str(exc.detail)))

    app.include_router(oauth_router(state))
    app.include_router(api_router(state))
    app.include_router(control_router(state))
    return app


def serve_fake(host: str = "127.0.0.1", port: int = 8766, **state_kwargs: Any) -> None:
    import uvicorn

    uvicorn.run(create_fake_ponto_app(FakePontoState(**state_kwargs)), host=host, port=port, log_level="warning")
