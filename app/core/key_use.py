"""When each company key was last used, without a write per request.

A request only notes the time in this process's memory; every ``KEY_USE_FLUSH_SECONDS`` (and when the process
stops) the notes are written in one transaction, one UPDATE per key used since, never moving a time back. A
write per authenticated request would queue every read behind the uploads on SQLite's single writer, and cost
a row lock per request on PostgreSQL. So ``last_used_at`` lags by up to that interval (a minute by default):
enough to tell a key in use from a forgotten one, which is what the list is for.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import String, column, or_, table, update
from sqlmodel.sql.sqltypes import UTCDateTime

from app.core.db import unit_of_work
from app.core.timeutil import utcnow

log = logging.getLogger(__name__)

#: The two columns of api_keys this writes, typed as the model's (one spelling of a time on SQLite), named here: app.core.auth (the model) notes uses through this module.
_API_KEYS = table("api_keys", column("id", String), column("last_used_at", UTCDateTime()))


class KeyUse:
    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def seen(self, key_id: str) -> None:
        self._seen[key_id] = utcnow()  # one dictionary store: the request path pays nothing more

    def flush(self) -> int:
        """Write what was noted since the last flush; the number of keys written."""
        with self._lock:
            noted, self._seen = self._seen, {}
        if not noted:
            return 0
        with unit_of_work() as session:
            for key_id, when in sorted(noted.items()):  # one order everywhere: two processes never deadlock
                last = _API_KEYS.c.last_used_at
                session.execute(
                    update(_API_KEYS)
                    .where(_API_KEYS.c.id == key_id, or_(last.is_(None), last < when))
                    .values(last_used_at=when)
                )
        return len(noted)


key_use = KeyUse()


async def flush_every(seconds: float) -> None:
    """The API process's background flush, until cancelled; a failed flush is logged and its notes dropped
    (the next use of the key notes it again)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(key_use.flush)
        except Exception:
            log.exception("could not record when API keys were last used")
