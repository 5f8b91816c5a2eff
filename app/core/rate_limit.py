"""Rate limits: ``RATE_LIMIT`` requests per second per known credential (default 100, ``0`` turns every limit
off); over it, 429 with ``Retry-After``.

A credential has a window of its own only once it is known to be valid: the admin token, or a key this process
has checked (found in the key cache with a matching secret). Anything else, no credential or one never seen
valid, counts against the client's address with a smaller budget, ``UNKNOWN_PER_SECOND``: made-up keys cannot
each open a fresh window, and a flood of them is 429ed before its lookups reach the database. A valid key is
unknown for one request per process; it then counts in its own window, which no other key or address touches.

The review page (``/ui/``) counts per address: its sign-in form takes a key, so sign-ins share the budget of
unknown credentials; its other pages have ``RATE_LIMIT`` per address. Signed inbound webhooks (checked before
any database work) also have ``RATE_LIMIT`` per address.

Counted with the maintained ``limits`` library, in fixed one-second windows kept in each process's memory: with
N API processes a key may reach N times the limit in total. That is the documented trade-off: no shared store
to run. Nothing here queries the database: a known credential costs its digest and one dictionary lookup more
than the limiter's own count. The address is the connection's (``scope["client"]``), as uvicorn reports it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from limits import RateLimitItemPerSecond, storage, strategies
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.asgi import bearer
from app.core.auth import _admin_hash, hash_secret, key_cache
from app.core.config import get_settings
from app.core.errors import problem
from app.core.limits import INBOUND_PATHS

#: Requests per second per client address whose credential is missing or not known valid (and sign-ins to the
#: review page): plenty for a client's first request or a person signing in, too few to feed a key-guessing loop.
UNKNOWN_PER_SECOND = 10
#: How long a credential seen valid keeps its own window without being seen valid again. The key cache confirms
#: a key in use every second or so; a revoked key falls back to its address's budget within this.
KNOWN_SECONDS = 60.0
#: Known credentials remembered at most (digests only); past it the memory starts again.
KNOWN_MAX = 10_000
UI_LOGIN_PATH = "/ui/login"


class RateLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiter = strategies.FixedWindowRateLimiter(storage.MemoryStorage())
        self._items: dict[float, RateLimitItemPerSecond] = {}
        #: Digest of a credential seen valid -> until when it counts as known (time.monotonic()).
        self._known: dict[str, float] = {}

    def _item(self, per_second: float) -> RateLimitItemPerSecond:
        if per_second not in self._items:
            self._items[per_second] = RateLimitItemPerSecond(max(1, math.ceil(per_second)))
        return self._items[per_second]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        per_second = get_settings().rate_limit
        if scope["type"] != "http" or per_second <= 0:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v1/") and path not in INBOUND_PATHS:
            await self._api(scope, receive, send, per_second)
            return
        window = self._address_window(scope, path, per_second)
        if window is None:
            await self.app(scope, receive, send)
        else:
            await self._counted(scope, receive, send, *window, "from this address")

    def _address_window(self, scope: Scope, path: str, per_second: float) -> tuple[str, RateLimitItemPerSecond] | None:
        """Where a request without a bearer credential counts: in its address's window for its kind; None for the
        paths not limited (probes, metrics, documentation)."""
        address = (scope.get("client") or ("?",))[0]
        if path in INBOUND_PATHS:
            return f"inbound:{address}", self._item(per_second)
        if path == UI_LOGIN_PATH and scope["method"] == "POST":
            return f"unknown:{address}", self._unknown(per_second)  # a key tried: the budget of unknown ones
        if path == "/ui" or path.startswith("/ui/"):
            return f"ui:{address}", self._item(per_second)
        return None

    async def _api(self, scope: Scope, receive: Receive, send: Send, per_second: float) -> None:
        credential = bearer(scope)
        # A digest, not the key itself: the limiter's memory never holds a usable credential.
        digest = hashlib.sha256(credential.encode()).hexdigest() if credential else ""
        if digest and (self._known.get(digest, 0.0) > time.monotonic() or self._seen_valid(credential, digest)):
            await self._counted(scope, receive, send, digest, self._item(per_second), "with this credential")
            return
        address = (scope.get("client") or ("?",))[0]
        unknown = self._unknown(per_second)
        await self._counted(scope, receive, send, f"unknown:{address}", unknown, "from this address")
        if digest and self._seen_valid(credential, digest):
            # The app has just checked the key: from now on it counts in its own window, this request included.
            self._limiter.hit(self._item(per_second), digest)

    def _unknown(self, per_second: float) -> RateLimitItemPerSecond:
        return self._item(min(per_second, UNKNOWN_PER_SECOND))

    def _seen_valid(self, credential: str, digest: str) -> bool:
        """Whether the credential is the admin token or a key in this process's key cache with a matching secret
        (no database query); if so, it is remembered as known for KNOWN_SECONDS."""
        # The digest is the credential's hash_secret(), as app.core.auth compares it with the admin token's.
        if not hmac.compare_digest(digest, _admin_hash(get_settings())):
            key_id, _, secret = credential.partition(".")
            cached = key_cache.get(key_id)
            if cached is None or not hmac.compare_digest(hash_secret(secret), cached[2]):
                return False
        if len(self._known) >= KNOWN_MAX:
            self._known.clear()
        self._known[digest] = time.monotonic() + KNOWN_SECONDS
        return True

    async def _counted(
        self, scope: Scope, receive: Receive, send: Send, who: str, item: RateLimitItemPerSecond, per: str
    ) -> None:
        """The request, if ``who`` has budget left in its window; else 429 with Retry-After."""
        if self._limiter.hit(item, who):
            await self.app(scope, receive, send)
            return
        reset = self._limiter.get_window_stats(item, who).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        await problem(
            429,
            "Too many requests",
            f"more than {item.amount} requests per second {per}; retry after {retry_after} s",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )(scope, receive, send)
