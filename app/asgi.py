"""Small ASGI helpers shared by middleware and routes."""

from __future__ import annotations

from starlette.types import Message, Receive


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
