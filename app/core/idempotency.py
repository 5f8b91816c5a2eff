"""Idempotency-Key on every POST, per the IETF httpapi draft.

The first request under a key is run and its response kept; the same key with the same request replays
that response; the same key with another body is 422; while the first is still running, 409. Keys are
scoped by credential, so two tenants never share a key space. 5xx responses are not kept: retry freely.

Nothing is read or recorded before the credential is checked: an unknown or revoked key gets its 401 and
leaves no record (and a revoked key's old answers are never replayed). Records expire after 24 hours. A
route whose answer carries a secret (a new API key, a webhook signing secret) names those fields in
``request.state.idempotency_secret_fields``: the record keeps the answer without them, so a replay shows the
resource and the secret is handed out once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import bearer, header, replay_body
from app.core.auth import principal_for
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import Unauthorized, problem
from app.core.ids import new_id
from app.core.outbox_models import IdempotencyRecord
from app.core.timeutil import utcnow

HEADER = b"idempotency-key"
#: Answers that say "try again later", depend on the credential, or come from routing (no route produced
#: them) are not replayed.
_NOT_KEPT = {401, 403, 404, 405, 409, 413, 429}
#: How long a key is remembered; after that the same key starts a new request.
EXPIRY = timedelta(hours=24)
#: The ``request.state`` entry in which a route names the fields of its answer that hold a secret.
SECRET_FIELDS = "idempotency_secret_fields"


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or header(scope, HEADER) is None:
            await self.app(scope, receive, send)
            return
        key = header(scope, HEADER) or ""
        credential = bearer(scope)
        try:
            await principal_for(credential)
        except Unauthorized:
            await self.app(scope, receive, send)  # the route answers 401 itself; nothing is recorded
            return
        if not 1 <= len(key) <= 255:
            await problem(422, "Invalid input", "Idempotency-Key must be 1 to 255 characters")(scope, receive, send)
            return
        body, too_large = await _read_body(receive, get_settings().max_upload_bytes + 64 * 1024)
        if too_large:
            await problem(413, "Payload too large", "the request body is larger than the upload limit")(
                scope, receive, send
            )
            return
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
            secret_fields = scope.get("state", {}).get(SECRET_FIELDS, ())
            await anyio.to_thread.run_sync(_finish, scope_key, captured, tuple(secret_fields))

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
    """Insert an in-flight record; return the existing one when the key was seen (and has not expired)."""
    for _ in range(2):
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
            with unit_of_work() as session:
                record = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.scope_key == scope_key)).first()
                if record is None:
                    continue  # finished and forgotten meanwhile: claim again
                if record.created_at > utcnow() - EXPIRY:
                    return record
                session.delete(record)  # expired: this key starts afresh
    raise RuntimeError("could not claim an idempotency key")  # pragma: no cover (two expiries in a row)


def _finish(scope_key: str, captured: dict[str, Any], secret_fields: tuple[str, ...] = ()) -> None:
    status = captured["status"]
    with unit_of_work() as session:
        record = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.scope_key == scope_key)).one()
        if status >= 500 or status in _NOT_KEPT:
            session.delete(record)
            return
        content_type = next((v.decode("latin-1") for k, v in captured["headers"] if k.lower() == b"content-type"), None)
        body = b"".join(captured["body"])
        if secret_fields:
            body = _without(body, secret_fields)
        record.status_code = status
        record.response_body = body
        record.content_type = content_type
        session.add(record)


def _without(body: bytes, fields: tuple[str, ...]) -> bytes:
    """The answer with its secrets set to null: a replay names the resource, the secret was shown once."""
    document = json.loads(body)
    for name in fields:
        if name in document:
            document[name] = None
    return json.dumps(document, separators=(",", ":")).encode()


def purge_expired() -> int:
    """Periodic: forget the records older than EXPIRY; returns how many."""
    with unit_of_work() as session:
        result = session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < utcnow() - EXPIRY))
        return result.rowcount or 0
