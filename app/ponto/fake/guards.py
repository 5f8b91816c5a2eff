"""What every real-API route of the stand-in does first: `guard` answers an injected fault (503, 429 or a slow
answer), `bearer` checks the access token."""

from __future__ import annotations

import asyncio

from fastapi import Request

from app.ponto.fake.records import FakeError, FakeToken
from app.ponto.fake.state import FakePontoState


async def guard(state: FakePontoState, request: Request, route: str) -> None:
    fault = state.next_fault(route)
    if fault == "503":
        raise FakeError(503, "serviceUnavailable", "The service is temporarily unavailable.")
    if fault == "429":
        raise FakeError(429, "tooManyRequests", "Too many requests.", headers={"Retry-After": "1"})
    if fault == "timeout":
        await asyncio.sleep(state.slow_seconds)


def bearer(state: FakePontoState, request: Request, *, client: bool = False) -> FakeToken:
    header = request.headers.get("authorization", "")
    value = header[7:].strip() if header[:7].lower() == "bearer " else ""
    with state.lock:
        token = state._live(value, "access") if value else None
    if token is None or token.client != client:
        raise FakeError(401, "invalidAccessToken", "Your access token is invalid.")
    return token
