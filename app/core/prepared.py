"""Selects compiled once per dialect and run on the driver's own cursor, for the hottest reads.

SQLAlchemy's execution path (cache key, execution context, events, result metadata) cost more than the
query itself on a one-row read. A prepared select keeps SQLAlchemy for what it does well (the SQL text and
each column's type conversion, e.g. Money's mills or SQLite's text dates) and leaves the per-call work to the
driver: one ``cursor.execute`` and one conversion per value.

Reads are coroutines that run on the event loop. SQLite's driver answers at once (a local file; a WAL reader
never waits for the writer), faster than a hand-off to a thread would be. PostgreSQL's reads go through
psycopg's async connections: the loop serves other requests while the server answers, without the thread
hop and the GIL hand-offs a blocking driver call in the thread pool costs (they were most of a read's time).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque, namedtuple
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect

T = TypeVar("T")


class _Compiled:
    __slots__ = ("columns", "converters", "dialect", "names", "row", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        self.columns = list(statement.selected_columns)
        # rename: columns of two tables may share a name (id); values() callers split them by position.
        self.row = namedtuple("Row", [c.key for c in self.columns], rename=True)  # type: ignore[misc]
        self.dialect = dialect
        self.converters: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def converters_for(self, cursor: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """Each column's conversion, given the driver's column types (as SQLAlchemy's own results do: some
        PostgreSQL processors depend on the type the server reports). Asked once: psycopg builds the cursor's
        description anew at each call, an object per column (a third of a one-row read's time)."""
        if self.converters is None:
            description = cursor.description
            self.converters = tuple(
                (i, processor)
                for i, c in enumerate(self.columns)
                if (processor := c.type.dialect_impl(self.dialect).result_processor(self.dialect, description[i][1]))
                is not None
            )
        return self.converters

    def arguments(self, params: Mapping[str, Any]) -> Any:
        # Positional drivers (SQLite's qmark) take a tuple in the compiled order; the others the mapping.
        return tuple(params[n] for n in self.names) if self.names else params

    def convert(self, rows: list[Any], cursor: Any) -> list[Sequence[Any]]:
        converters = self.converters_for(cursor)
        if not converters:
            return rows
        converted = []
        for r in rows:
            values = list(r)
            for i, convert in converters:
                value = values[i]
                if value is not None:  # every processor of our types gives None for None; most columns are
                    values[i] = convert(value)  # null in most rows (an open invoice's payment columns)
            converted.append(values)
        return converted


class PreparedSelect:
    """One Core select, ready to run on a raw DBAPI connection of any of our dialects."""

    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self._statement, dialect)
        return compiled

    async def values(self, connection: RawConnection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Each row's converted values, in the select's column order (for a select of several tables' columns,
        which a caller splits into its rows)."""
        compiled = self._for(connection.dialect)
        rows = await connection.fetchall(compiled.sql, compiled.arguments(params))
        return compiled.convert(rows, connection.cursor)

    async def all(self, connection: RawConnection, params: Mapping[str, Any]) -> list[Any]:
        make = self._for(connection.dialect).row._make
        return [make(values) for values in await self.values(connection, params)]

    async def first(self, connection: RawConnection, params: Mapping[str, Any]) -> Any | None:
        rows = await self.all(connection, params)
        return rows[0] if rows else None


class RawConnection:
    """A driver cursor inside one read. SQLite's calls return at once, so they run here as they are."""

    __slots__ = ("cursor", "dialect")

    def __init__(self, dialect: Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor

    async def fetchall(self, sql: str, arguments: Any) -> list[Any]:
        self.cursor.execute(sql, arguments)
        return self.cursor.fetchall()

    async def execute(self, sql: str) -> None:
        self.cursor.execute(sql)


class _AwaitedConnection(RawConnection):
    """psycopg's async cursor: the event loop goes on with other requests while the server answers."""

    __slots__ = ()

    async def fetchall(self, sql: str, arguments: Any) -> list[Any]:
        await self.cursor.execute(sql, arguments)
        return await self.cursor.fetchall()

    async def execute(self, sql: str) -> None:
        await self.cursor.execute(sql)


class KeptReadConnections:
    """Driver connections kept aside for the hot read, taken and given back without the pool.

    A pool checkout and checkin cost more than a one-row query on SQLite (~30 µs with the pool's events), and
    on PostgreSQL the checkout's pre-ping is a round trip of its own. SQLite's kept connections are checked out
    of the engine's pool once and stay out. PostgreSQL's are psycopg async connections opened with the engine's
    own connection arguments, at most ``keep`` per process (a read waits for one when all are busy: opening a
    connection costs more than waiting for a one-row read), and they belong to the event loop that opened them
    (a test client's loop ends with its test; a new loop opens new ones). A connection the server has since
    closed (a restart, an idle timeout) is dropped and the read tried once more on a fresh one, which is what
    the pool's pre-ping gave.

    PostgreSQL's kept connections run in autocommit (SQLite's driver does already, app/core/db.py), so a single
    select is one round trip. In a transaction it was three (BEGIN, the select, ROLLBACK), and psycopg forgets
    its prepared statements at each ROLLBACK, so the select was parsed and planned anew on every read. A read
    of several selects opens its own transaction, REPEATABLE READ on PostgreSQL: one snapshot for all of them
    (READ COMMITTED takes a snapshot per statement).
    """

    def __init__(self, keep: int = 16) -> None:
        self._keep = keep
        self._engine: Engine | None = None
        self._idle: deque[Any] = deque()
        # PostgreSQL only: the loop the connections belong to, those open for it, and the reads waiting for
        # one (each future gets a connection, or None: open one yourself, a connection was dropped).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: set[Any] = set()
        self._waiting: deque[asyncio.Future[Any]] = deque()

    async def read(self, engine: Engine, work: Callable[[RawConnection], Awaitable[T]], *, snapshot: bool = True) -> T:
        """``work`` on a cursor inside one read transaction (one snapshot for all its selects).

        ``snapshot=False``: ``work`` runs a single select, which is a snapshot of its own, without a
        transaction around it."""
        awaited = engine.dialect.name == "postgresql"
        for attempt in (1, 2):
            connection, kept = await self._take_awaited(engine) if awaited else self._take(engine)
            cursor = None
            try:
                # Inside the try: on a connection the server closed, even opening a cursor fails.
                cursor = connection.cursor()
                raw = (_AwaitedConnection if awaited else RawConnection)(engine.dialect, cursor)
                if snapshot:
                    await raw.execute(_BEGIN_SNAPSHOT.get(engine.dialect.name, "BEGIN"))
                result = await work(raw)
                await _end_awaited(connection, cursor) if awaited else _end(connection, cursor)
            except engine.dialect.loaded_dbapi.Error as exc:
                driver = connection if awaited else connection.dbapi_connection
                lost = engine.dialect.is_disconnect(exc, driver, cursor)
                await self._drop(connection, awaited)
                if lost and kept and attempt == 1:
                    continue
                raise
            except Exception:  # the work's own refusal (NotFound): the connection is fine, unless ending fails
                try:
                    await _end_awaited(connection, cursor) if awaited else _end(connection, cursor)
                except Exception:
                    await self._drop(connection, awaited)
                else:
                    self._give_back(engine, connection, awaited)
                raise
            except BaseException:  # cancelled while the server may still be answering: its state is unknown
                await self._drop(connection, awaited)
                raise
            self._give_back(engine, connection, awaited)
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _take(self, engine: Engine) -> tuple[Any, bool]:
        if engine is not self._engine:
            self.forget()
            self._engine = engine
        try:
            return self._idle.pop(), True
        except IndexError:
            return engine.raw_connection(), False

    async def _take_awaited(self, engine: Engine) -> tuple[Any, bool]:
        loop = asyncio.get_running_loop()
        if engine is not self._engine or loop is not self._loop:
            self.forget()
            self._engine, self._loop = engine, loop
        if self._idle:
            return self._idle.pop(), True
        if len(self._open) >= self._keep:
            waiter = loop.create_future()
            self._waiting.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over as this read was cancelled
                    self._hand_over(waiter.result())
                raise
            if connection is not None:
                return connection, True
        placeholder = object()  # holds the place while the connection opens
        self._open.add(placeholder)
        try:
            import psycopg

            args, kwargs = engine.dialect.create_connect_args(engine.url)
            connection = await psycopg.AsyncConnection.connect(*args, **kwargs, autocommit=True)
        except BaseException:
            self._open.discard(placeholder)
            self._hand_over(None)
            raise
        self._open.discard(placeholder)
        self._open.add(connection)
        return connection, False

    def _give_back(self, engine: Engine, connection: Any, awaited: bool) -> None:
        if awaited:
            if connection in self._open:
                self._hand_over(connection)
            else:  # opened for an engine or a loop since forgotten
                connection.pgconn.finish()
        elif engine is self._engine and len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            connection.close()  # back to the pool (app/core/db.py ends its autocommit)

    def _hand_over(self, connection: Any | None) -> None:
        """A connection (or None: a place to open one) to the first read still waiting, else to the idle."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is not None:
            self._idle.append(connection)

    async def _drop(self, connection: Any, awaited: bool) -> None:
        if not awaited:
            connection.invalidate()
            return
        await connection.close()  # returns at once: psycopg closes the socket, nothing to await
        if connection in self._open:
            self._open.discard(connection)
            self._hand_over(None)

    def forget(self) -> None:
        """Close every kept connection (the engine is being replaced or disposed, or the loop is new)."""
        while self._idle:
            connection = self._idle.pop()
            if self._loop is None:
                connection.close()  # SQLite's: back to the pool
            else:
                connection.pgconn.finish()  # a psycopg connection: closed without its (maybe ended) loop
        for waiter in self._waiting:
            waiter.cancel()
        self._waiting.clear()
        self._open.clear()
        self._engine, self._loop = None, None

    def forsake(self) -> None:
        """In a forked child: let go of the parent's connections without closing them (closing would end the
        parent's sessions on the server)."""
        self._idle.clear()
        self._waiting.clear()
        self._open.clear()
        self._engine, self._loop = None, None


def _end(connection: Any, cursor: Any) -> None:
    """Close the cursor and end a read transaction (nothing to do after a single select)."""
    cursor.close()
    connection.rollback()


async def _end_awaited(connection: Any, cursor: Any) -> None:
    await cursor.close()
    await connection.rollback()  # psycopg sends nothing when no transaction is open


#: What opens a read of several selects: one snapshot for all of them, and nothing it could write.
_BEGIN_SNAPSHOT = {"postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}


kept_read_connections = KeptReadConnections()
os.register_at_fork(after_in_child=kept_read_connections.forsake)
