"""The lanes of a BatchedLookup (app/core/batched_reads.py) are a limit: with every lane busy, one more read starts no
query of its own; it waits in the queue and the next query a lane sends, once that lane is free, answers it."""

from __future__ import annotations

import asyncio

import pytest

from app.core.batched_reads import BatchedLookup

ROWS = [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
TIMEOUT = 5  # seconds: a scenario that hangs fails instead


class _HeldTable:
    """A fake query over rows (key, value) whose every query waits for its own gate, opened one at a time."""

    def __init__(self, rows: list[tuple[str, int]]) -> None:
        self.rows = rows
        self.queries: list[list[str]] = []
        self.gates: list[asyncio.Event] = []

    async def query(self, keys: list[str]) -> list[tuple[str, int]]:
        self.queries.append(keys)
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return [row for row in self.rows if row[0] in keys]


async def _settle() -> None:
    """Long enough for every runnable task (a lane starting, a query being sent) to get its turn."""
    for _ in range(5):
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("lanes", [2, 3])
def test_with_every_lane_busy_one_more_read_waits_for_a_lane_and_starts_no_query(lanes):
    table = _HeldTable(ROWS)
    lookup = BatchedLookup(table.query, lanes=lanes)
    holding = [key for key, _ in ROWS[:lanes]]
    extra = ROWS[lanes][0]

    async def scenario():
        # Each read alone while a lane is free: each takes a lane of its own, and every lane is then held.
        held = []
        for key in holding:
            held.append(asyncio.create_task(lookup.rows(key)))
            await _settle()
        assert table.queries == [[key] for key in holding]

        waiting = asyncio.create_task(lookup.rows(extra))
        await _settle()
        assert table.queries == [[key] for key in holding]  # no new query while every lane is busy
        assert not waiting.done()

        table.gates[0].set()  # the first lane's query answers: that lane is free, and sends the queue's read
        assert await held[0] == [r for r in ROWS if r[0] == holding[0]]
        await _settle()
        assert table.queries == [[key] for key in holding] + [[extra]]
        assert not waiting.done()  # answered by that query only, which is held too

        for gate in table.gates:
            gate.set()
        assert await waiting == [r for r in ROWS if r[0] == extra]
        assert [await read for read in held[1:]] == [[r for r in ROWS if r[0] == key] for key in holding[1:]]
        assert len(table.queries) == lanes + 1

    asyncio.run(asyncio.wait_for(scenario(), timeout=TIMEOUT))
