"""Small ASGI helpers shared by middleware and routes."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope


def replay_body(body: bytes) -> Receive:
    """A receive callable that hands out an already-read request body once, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (``name`` in lower case), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def bearer(scope: Scope) -> str:
    """The credential of an ``Authorization: Bearer`` header, or "" when there is none."""
    scheme, _, credential = (header(scope, b"authorization") or "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""
