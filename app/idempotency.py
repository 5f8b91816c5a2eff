"""Idempotency-Key on every POST, per the IETF httpapi draft.

The first request under a key is run and its response kept; the same key with the same request replays
that response; the same key with another body is 422; while the first is still running, 409. Keys are
scoped by credential, so two tenants never share a key space. 5xx responses are not kept: retry freely.
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.asgi import replay_body
from app.config import get_settings
from app.db import unit_of_work
from app.errors import problem
from app.ids import new_id
from app.outbox_models import IdempotencyRecord

HEADER = b"idempotency-key"
#: Answers that say "try again later" or depend on the credential are not replayed.
_NOT_KEPT = {401, 403, 409, 429}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or _header(scope, HEADER) is None:
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER) or ""
        if not 1 <= len(key) <= 255:
            await problem(422, "Invalid input", "Idempotency-Key must be 1 to 255 characters")(scope, receive, send)
            return
        body, too_large = await _read_body(receive, get_settings().max_upload_bytes + 64 * 1024)
        if too_large:
            await problem(413, "Payload too large", "the request body is larger than the upload limit")(
                scope, receive, send
            )
            return
        credential = _header(scope, b"authorization") or ""
        scope_key = hashlib.sha256(f"{credential}\0{key}".encode()).hexdigest()
        request_hash = hashlib.sha256(scope["method"].encode() + scope["path"].encode() + b"\0" + body).hexdigest()

        record = await anyio.to_thread.run_sync(_claim, scope_key, request_hash, scope)
        if record is not None:
            await self._answer_existing(record, request_hash, scope, receive, send)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body(body), capture)
        finally:
            await anyio.to_thread.run_sync(_finish, scope_key, captured)

    async def _answer_existing(
        self, record: IdempotencyRecord, request_hash: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if record.request_hash != request_hash:
            response = problem(
                422,
                "Idempotency key reused",
                "this Idempotency-Key was used for a different request; use a new key",
                slug="idempotency-key-reused",
            )
        elif record.status_code is None:
            response = problem(
                409,
                "Request in progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
                slug="idempotency-in-progress",
            )
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": record.status_code,
                    "headers": [
                        (b"content-type", (record.content_type or "application/json").encode()),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": record.response_body or b""})
            return
        await response(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _claim(scope_key: str, request_hash: str, scope: Scope) -> IdempotencyRecord | None:
    """Insert an in-flight record; return the existing one when the key was seen before."""
    try:
        with unit_of_work() as session:
            session.add(
                IdempotencyRecord(
                    id=new_id("idem"),
                    scope_key=scope_key,
                    request_hash=request_hash,
                    method=scope["method"],
                    path=scope["path"][:500],
                )
            )
        return None
    except IntegrityError:
        with unit_of_work(read_only=True) as session:
            return session.exec(select(IdempotencyRecord).where(IdempotencyRecord.scope_key == scope_key)).one()


def _finish(scope_key: str, captured: dict[str, Any]) -> None:
    status = captured["status"]
    with unit_of_work() as session:
        record = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.scope_key == scope_key)).one()
        if status >= 500 or status in _NOT_KEPT:
            session.delete(record)
            return
        content_type = next((v.decode("latin-1") for k, v in captured["headers"] if k.lower() == b"content-type"), None)
        record.status_code = status
        record.response_body = b"".join(captured["body"])
        record.content_type = content_type
        session.add(record)
