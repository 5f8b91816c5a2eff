"""The embedded default under load: one writing request at a time per process on SQLite.

SQLite has one writer. Left to itself, every writing request takes a pool thread, opens ``BEGIN IMMEDIATE``
and waits inside SQLite's busy handler; with more writers than threads, the one that holds the lock cannot
get a thread to commit, and everyone waits until "database is locked". Here writers queue before they take a
thread (an async lock, so a waiting request costs no thread), and each runs alone, start to commit. Reads
(GET, HEAD) never wait: under WAL they run beside the writer. Other processes on the same file (a separate
worker) still meet at SQLite's busy timeout. PostgreSQL needs none of this and skips it.
"""

from __future__ import annotations

from functools import lru_cache

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings
from app.db import is_sqlite

_READS = {"GET", "HEAD", "OPTIONS"}


@lru_cache
def _on_sqlite(url: str) -> bool:
    return is_sqlite(url)


class SqliteWriters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock: anyio.Lock | None = None  # made on first use, in the event loop that serves

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS or not _on_sqlite(get_settings().database_url):
            await self.app(scope, receive, send)
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            await self.app(scope, receive, send)
