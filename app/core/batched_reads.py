"""Lookups by key that arrive together, answered by one query.

PostgreSQL's hot read is a round trip, and most of its cost is the same whatever the rows: the driver's work per
query, the server's per statement, the wake-ups. When many reads come at once, a few queries in flight (the
lanes) answer them all: a read that arrives while every lane is busy waits in a queue, and the next query a lane
sends takes the whole queue (up to ``most`` keys). A lone read goes at once, as before; under load, reads share
queries instead of queueing for connections. A read is only ever answered by a query that started after it was
asked, so it sees every write committed before it (a client reads its own writes). SQLite's reads answer at once
on the event loop: nothing ever waits there to be batched with, so they do not come here.

One event loop uses a lookup at a time (a server process's); a lookup first used on another loop (a test
client's, a forked child's) starts afresh there, since the old loop's lanes will never run again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

#: One query for a list of keys: rows whose first value is the key they belong to.
Query = Callable[[list[Any]], Awaitable[Sequence[Sequence[Any]]]]


class BatchedLookup:
    """``rows(key)`` gives the rows whose first value is ``key``, from one query per batch."""

    def __init__(self, query: Query, *, lanes: int = 4, most: int = 200) -> None:
        self._query = query
        self._lanes = lanes
        self._most = most
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[Hashable, asyncio.Future[list[Sequence[Any]]]]] = []
        self._busy = 0
        self._lanes_running: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    async def rows(self, key: Hashable) -> list[Sequence[Any]]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (a test client's): the old one's queue and lanes ended with it
            self._loop, self._waiting, self._busy = loop, [], 0
        answer: asyncio.Future[list[Sequence[Any]]] = loop.create_future()
        self._waiting.append((key, answer))
        if self._busy < self._lanes:
            self._busy += 1
            lane = loop.create_task(self._lane(loop))
            self._lanes_running.add(lane)
            lane.add_done_callback(self._lanes_running.discard)
        return await answer

    async def _lane(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._waiting and self._loop is loop:
                batch, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                await self._answer(batch)
        finally:
            if self._loop is loop:
                self._busy -= 1

    async def _answer(self, batch: list[tuple[Hashable, asyncio.Future[list[Sequence[Any]]]]]) -> None:
        keys = list(dict.fromkeys(key for key, _ in batch))
        try:
            rows = await self._query(keys)
        except Exception as exc:
            if len(keys) == 1:
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                return
            # One read's key may be what failed the query (a value the database refuses): each read is asked
            # again alone, so that a failure is only ever the failing read's own.
            for key in keys:
                await self._answer([(k, answer) for k, answer in batch if k == key])
            return
        except asyncio.CancelledError:  # the lane was cancelled (the loop is closing): so are its reads
            for _, answer in batch:
                answer.cancel()
            raise
        found: dict[Hashable, list[Sequence[Any]]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(row)
        for key, answer in batch:
            if not answer.done():  # a read cancelled while it waited (its client left) is skipped
                answer.set_result(found.get(key, []))
