"""Writing requests queue before they take a thread, so that one company's burst holds few of them.

A writing request takes a pool thread for its whole transaction, and a company's writes wait for each other
(its ledger lock on PostgreSQL; SQLite's one writer). Left alone, fifty parallel writes of one company fill the
pool with requests waiting for one lock, and every other company's requests wait for a thread. Here writes
queue first, in the event loop, where waiting costs no thread:

- PostgreSQL: at most ``CODARECON_COMPANY_WRITE_SLOTS`` writes of one company run at a time in a process (the
  company is the ``{vat}`` of ``/v1/companies/{vat}/...``; other writes queue by credential);
- SQLite: one write at a time in the process, start to commit (SQLite has one writer: a request waiting for
  its lock inside a thread would hold the thread). Other processes on the same file meet at SQLite's busy
  timeout.

A write that waits longer than ``CODARECON_WRITE_QUEUE_SECONDS`` answers 503 with ``Retry-After``: bounded
waiting, never a hung client. Reads (GET, HEAD, OPTIONS) never queue.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from functools import lru_cache

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import get_settings
from app.core.db import is_sqlite
from app.core.errors import problem

_READS = {"GET", "HEAD", "OPTIONS"}
_COMPANY_PATH = "/v1/companies/"


@lru_cache
def _on_sqlite(url: str) -> bool:
    return is_sqlite(url)


def queue_key(scope: Scope) -> str:
    """Whose writes wait for each other: the company in the path, else the credential (or address)."""
    path: str = scope["path"]
    if path.startswith(_COMPANY_PATH):
        vat = path[len(_COMPANY_PATH) :].split("/", 1)[0]
        if vat:
            return "company:" + vat.upper()
    for name, value in scope["headers"]:
        if name in (b"authorization", b"cookie"):
            return "credential:" + hashlib.sha256(value).hexdigest()[:32]
    return "address:" + str((scope.get("client") or ("?",))[0])


class _Slots:
    """Per key, a semaphore made on first use; idle ones are forgotten so that the map stays small."""

    def __init__(self, per_key: int, remembered: int = 4096) -> None:
        self.per_key = per_key
        self.remembered = remembered
        self._slots: OrderedDict[str, anyio.Semaphore] = OrderedDict()

    def get(self, key: str) -> anyio.Semaphore:
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = anyio.Semaphore(self.per_key)
            while len(self._slots) > self.remembered:
                oldest, held = next(iter(self._slots.items()))
                if held.value < self.per_key:  # in use: keep it, stop pruning for now
                    break
                del self._slots[oldest]
        else:
            self._slots.move_to_end(key)
        return slots


class WriteQueues:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sqlite: anyio.Lock | None = None  # made on first use, in the event loop that serves
        self._companies: _Slots | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if _on_sqlite(settings.database_url):
            if self._sqlite is None:
                self._sqlite = anyio.Lock()
            gate: anyio.Lock | anyio.Semaphore = self._sqlite
        else:
            if self._companies is None:
                self._companies = _Slots(settings.company_write_slots)
            gate = self._companies.get(queue_key(scope))
        waited = settings.write_queue_seconds
        with anyio.move_on_after(waited) as queued:
            await gate.acquire()
        if queued.cancelled_caught:
            await problem(
                503,
                "Service unavailable",
                f"too many writes of this company at once: none could start within {waited:g} s; retry shortly",
                slug="unavailable",
                headers={"Retry-After": str(max(1, math.ceil(waited / 4)))},
            )(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.release()
