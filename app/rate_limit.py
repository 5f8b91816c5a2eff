"""Per-key rate limits: ``RATE_LIMIT`` requests per second per API key (default 100, ``0`` turns it off);
over it, 429 with ``Retry-After``.

Counted with the maintained ``limits`` library, in a fixed one-second window kept in each process's memory:
with N API processes a key may reach N times the limit in total. That is the documented trade-off: no
shared store to run, and a flood from one key still never throttles another key, because every key has
its own window. Requests without a credential are counted per client address.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItemPerSecond, storage, strategies
from starlette.types import ASGIApp, Receive, Scope, Send

from app.asgi import bearer
from app.config import get_settings
from app.errors import problem


class RateLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiter = strategies.FixedWindowRateLimiter(storage.MemoryStorage())
        self._items: dict[float, RateLimitItemPerSecond] = {}

    def _item(self, per_second: float) -> RateLimitItemPerSecond:
        if per_second not in self._items:
            self._items[per_second] = RateLimitItemPerSecond(max(1, math.ceil(per_second)))
        return self._items[per_second]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        per_second = get_settings().rate_limit
        if scope["type"] != "http" or per_second <= 0 or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        credential = bearer(scope)
        # A digest, not the key itself: the limiter's memory never holds a usable credential.
        who = (
            hashlib.sha256(credential.encode()).hexdigest()
            if credential
            else f"ip:{(scope.get('client') or ('?',))[0]}"
        )
        item = self._item(per_second)
        if self._limiter.hit(item, who):
            await self.app(scope, receive, send)
            return
        reset = self._limiter.get_window_stats(item, who).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        await problem(
            429,
            "Too many requests",
            f"more than {item.amount} requests per second with this credential; retry after {retry_after} s",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )(scope, receive, send)
