"""Lookups that arrive together share a query (app/core/batched_reads.py): each read gets exactly its own rows, a lone
read is not held back, failures reach the reads of their batch only, and a read that leaves does not disturb the
others."""

from __future__ import annotations

import asyncio

import pytest

from app.core.batched_reads import BatchedLookup


class _Table:
    """A fake query over rows (key, value); records the keys of every query and can hold or fail them."""

    def __init__(self, rows: list[tuple[str, int]]) -> None:
        self.rows = rows
        self.queries: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.fail_next: Exception | None = None
        self.down = False  # every query fails (the server is gone)
        self.refused = "\x00"  # a key the database refuses outright: any query holding it fails

    async def query(self, keys: list[str]) -> list[tuple[str, int]]:
        self.queries.append(keys)
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)  # a round trip: other reads get their turn meanwhile
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        if self.down:
            raise ConnectionError("server gone")
        if self.refused in keys:
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return [row for row in self.rows if row[0] in keys]


ROWS = [("a", 1), ("a", 2), ("b", 3), ("c", 4)]


async def _queued_behind_a_held_read(table: _Table, lookup: BatchedLookup, keys: tuple[str, ...]):
    """The one lane held by a read of "c", then reads of ``keys``: they wait in the queue until the gate opens."""
    table.gate = asyncio.Event()
    first = asyncio.create_task(lookup.rows("c"))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(lookup.rows(key)) for key in keys]
    await asyncio.sleep(0.01)
    return first, later


def test_a_lone_read_goes_at_once_and_gets_its_rows():
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)
    assert asyncio.run(lookup.rows("a")) == [("a", 1), ("a", 2)]
    assert table.queries == [["a"]]


def test_reads_that_arrive_while_the_lanes_are_busy_share_the_next_query_and_each_gets_its_own_rows():
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)

    async def scenario():
        first, later = await _queued_behind_a_held_read(table, lookup, ("a", "b", "a", "x"))
        table.gate.set()
        return await first, await asyncio.gather(*later)

    first, later = asyncio.run(scenario())
    assert first == [("c", 4)]
    assert later == [[("a", 1), ("a", 2)], [("b", 3)], [("a", 1), ("a", 2)], []]
    # One query for the four that waited, each key once; none answered by the query already in flight when it
    # came (that query may have started before a write the reader just made).
    assert table.queries == [["c"], ["a", "b", "x"]]


def test_a_batch_takes_at_most_its_number_of_keys():
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1, most=2)

    async def scenario():
        first, later = await _queued_behind_a_held_read(table, lookup, ("a", "b", "c", "x", "y"))
        table.gate.set()
        await first
        return await asyncio.gather(*later)

    assert asyncio.run(scenario()) == [[("a", 1), ("a", 2)], [("b", 3)], [("c", 4)], [], []]
    assert table.queries == [["c"], ["a", "b"], ["c", "x"], ["y"]]


def test_a_read_the_database_refuses_fails_alone_and_the_reads_beside_it_get_their_rows():
    """One company's malformed key must not fail other companies' reads that shared its query."""
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)

    async def scenario():
        first, later = await _queued_behind_a_held_read(table, lookup, ("a", table.refused, "b"))
        table.gate.set()
        await first
        return await asyncio.gather(*later, return_exceptions=True)

    a, refused, b = asyncio.run(scenario())
    assert (a, b) == ([("a", 1), ("a", 2)], [("b", 3)])
    assert isinstance(refused, ValueError)
    assert table.queries[1] == ["a", table.refused, "b"]  # shared first, then each asked alone


def test_when_every_query_fails_every_read_gets_the_failure_and_the_next_reads_go_on():
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)

    async def scenario():
        table.down = True
        together = await asyncio.gather(lookup.rows("a"), lookup.rows("b"), return_exceptions=True)
        table.down = False
        return together, await lookup.rows("b")

    together, after = asyncio.run(scenario())
    assert [type(result) for result in together] == [ConnectionError, ConnectionError]
    assert after == [("b", 3)]


def test_a_read_that_leaves_while_it_waits_does_not_disturb_the_others():
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)

    async def scenario():
        first, (leaving, staying) = await _queued_behind_a_held_read(table, lookup, ("a", "b"))
        leaving.cancel()
        table.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await first, await staying

    assert asyncio.run(scenario()) == ([("c", 4)], [("b", 3)])


def test_each_event_loop_starts_with_its_own_queue_and_lanes():
    """A loop stopped with reads in flight (a test client's portal) leaves nothing behind for the next one."""
    table = _Table(ROWS)
    lookup = BatchedLookup(table.query, lanes=1)

    async def stuck():
        table.gate = asyncio.Event()  # never set: the loop stops with its one lane busy
        reading = asyncio.create_task(lookup.rows("a"))
        await asyncio.sleep(0.01)
        return reading

    loop = asyncio.new_event_loop()
    reading = loop.run_until_complete(stuck())
    loop.close()  # stopped, its tasks never finished
    table.gate = None
    assert asyncio.run(asyncio.wait_for(lookup.rows("b"), timeout=2)) == [("b", 3)]
    del reading
