"""One error hierarchy rendered as RFC 9457 problem+json by one set of handlers."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://codarecon.dev/problems/"
#: One vocabulary of problem types (README, "Errors"): a status's own type unless a route names a finer one
#: (idempotency-key-reused, idempotency-in-progress).
STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}
#: Every problem type the service answers (the OpenAPI document's enum; a test holds the code to it).
PROBLEM_TYPES = tuple(
    sorted({*STATUS_SLUGS.values(), "codabox-unavailable", "idempotency-in-progress", "idempotency-key-reused"})
)
#: What a 503 asks clients to wait before retrying.
RETRY_AFTER_SECONDS = 5
#: PostgreSQL's SQLSTATEs for lock_timeout (lock_not_available) and statement_timeout (query_canceled).
WAITED_TOO_LONG = {"55P03", "57014"}


class AppError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class ValidationFailed(AppError):
    status, title, slug = 422, "Invalid input", "validation"


class BadRequest(AppError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(AppError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(AppError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(AppError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class TooManyRequests(AppError):
    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=max(1, retry_after))
        self.headers = {"Retry-After": str(max(1, retry_after))}


class PayloadTooLarge(AppError):
    status, title, slug = 413, "Payload too large", "too-large"


class UnsupportedMediaType(AppError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or STATUS_SLUGS.get(status, f"http-{status}")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid"))
        # pydantic prefixes messages from our own validators with "Value error, "; drop the noise.
        message = message.removeprefix("Value error, ")
        out.append({"loc": _loc(err.get("loc", ())), "message": message})
    return out


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        about_body = any(tuple(err.get("loc", ()))[:1] == ("body",) for err in exc.errors())
        content_type = request.headers.get("content-type", "")
        if about_body and content_type and not _is_json(content_type):
            # A JSON route sent something else (a form, text): the content type is wrong, not a field.
            return problem(
                415,
                "Unsupported media type",
                f"send the body as application/json, not {content_type.split(';')[0].strip()}",
                slug="unsupported-media-type",
            )
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            # Not well-formed JSON: nothing of it can be read, so no field can be named (RFC 9110: 400).
            errors = validation_errors(exc)
            return problem(
                400,
                "Bad request",
                f"the body is not well-formed JSON: {errors[0]['message']}",
                slug="bad-request",
                errors=errors,
            )
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['loc']}: {e['message']}" for e in errors[:5]) or "invalid request"
        return problem(422, "Invalid input", detail, slug="validation", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such resource"
        if exc.status_code == 405:
            # Paths outside the API document (the review page, probes) keep the Allow Starlette gave.
            allowed = allowed_methods(request) or [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        return problem(exc.status_code, titles.get(exc.status_code, detail), detail, headers=headers or None)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is down, restarting or (SQLite) busy past its timeout, or (PostgreSQL) a lock or a
        # statement took longer than its bound: the request can be retried as it is. The SQL and its parameters
        # stay out of the log (IBANs, names); the driver's class says enough.
        orig = getattr(exc, "orig", None)
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, type(orig or exc).__name__)
        busy = getattr(orig, "sqlstate", None) in WAITED_TOO_LONG
        return problem(
            503,
            "Service unavailable",
            "the company's data is busy with other requests (a lock or a statement waited past its bound); retry"
            if busy
            else "the database is not reachable right now; retry shortly",
            slug="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def allowed_methods(request: Request) -> list[str]:
    """Every method the API document gives the request's path. Starlette's own 405 names only the first route
    that matched the path, so GET and POST on /v1/companies answered ``Allow: POST`` (RFC 9110 15.5.6: all)."""
    table = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = [
            (path.count("{"), re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), methods)
            for path, methods in _document_methods(request.app.openapi()).items()
        ]
        request.app.state.allowed_methods = table
    matches = [(parameters, methods) for parameters, pattern, methods in table if pattern.match(request.url.path)]
    # The path the document names most literally: .../invoices/batch is the batch's, not an invoice id's.
    fewest = min((parameters for parameters, _ in matches), default=0)
    return sorted({m for parameters, methods in matches if parameters == fewest for m in methods})


def _document_methods(document: dict[str, Any]) -> dict[str, set[str]]:
    verbs = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {path: {m.upper() for m in ops if m in verbs} for path, ops in document.get("paths", {}).items()}
