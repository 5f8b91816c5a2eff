"""Selects compiled once per dialect and run on the driver's own cursor, for the hottest reads.

SQLAlchemy's execution path (cache key, execution context, events, result metadata) cost more than the
query itself on a one-row read. A prepared select keeps SQLAlchemy for what it does well (the SQL text and
each column's type conversion, e.g. Money's mills or SQLite's text dates) and leaves the per-call work to the
driver: one ``cursor.execute`` and one conversion per value.
"""

from __future__ import annotations

from collections import deque, namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect

T = TypeVar("T")


class _Compiled:
    __slots__ = ("columns", "converters", "dialect", "names", "row", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # Positional drivers (SQLite's qmark) take a tuple in the compiled order; the others a mapping.
        self.names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        self.columns = list(statement.selected_columns)
        # rename: columns of two tables may share a name (id); values() callers split them by position.
        self.row = namedtuple("Row", [c.key for c in self.columns], rename=True)  # type: ignore[misc]
        self.dialect = dialect
        self.converters: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def converters_for(self, description: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """Each column's conversion, given the driver's column types (as SQLAlchemy's own results do: some
        PostgreSQL processors depend on the type the server reports)."""
        if self.converters is None:
            self.converters = tuple(
                (i, processor)
                for i, c in enumerate(self.columns)
                if (processor := c.type.dialect_impl(self.dialect).result_processor(self.dialect, description[i][1]))
                is not None
            )
        return self.converters


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

    def values(self, connection: RawConnection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Each row's converted values, in the select's column order (for a select of several tables' columns,
        which a caller splits into its rows)."""
        compiled = self._for(connection.dialect)
        cursor = connection.cursor
        cursor.execute(compiled.sql, tuple(params[n] for n in compiled.names) if compiled.names else params)
        rows = cursor.fetchall()
        converters = compiled.converters_for(cursor.description)
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

    def all(self, connection: RawConnection, params: Mapping[str, Any]) -> list[Any]:
        make = self._for(connection.dialect).row._make
        return [make(values) for values in self.values(connection, params)]

    def first(self, connection: RawConnection, params: Mapping[str, Any]) -> Any | None:
        rows = self.all(connection, params)
        return rows[0] if rows else None


class RawConnection:
    """A driver connection's cursor inside one read transaction."""

    __slots__ = ("cursor", "dialect")

    def __init__(self, dialect: Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor


class KeptReadConnections:
    """Driver connections kept aside for the hot read, taken and given back without the pool.

    A pool checkout and checkin cost more than a one-row query on SQLite (~30 µs with the pool's events), and
    on PostgreSQL the checkout's pre-ping is a round trip of its own. Kept connections are checked out of the
    engine's pool once and stay out; a connection the server has since closed (a restart, an idle timeout) is
    dropped and the read tried once more on a fresh one, which is what the pre-ping gave.

    Kept connections run in autocommit (SQLite's driver does already, app/db.py), so a single select is one
    round trip on PostgreSQL. In a transaction it was three (BEGIN, the select, ROLLBACK), and psycopg forgets
    its prepared statements at each ROLLBACK, so the select was parsed and planned anew on every read. A read
    of several selects opens its own transaction, REPEATABLE READ on PostgreSQL: one snapshot for all of them
    (READ COMMITTED takes a snapshot per statement).
    """

    def __init__(self, keep: int = 8) -> None:
        self._keep = keep
        self._engine: Engine | None = None
        self._idle: deque[Any] = deque()

    def read(self, engine: Engine, work: Callable[[RawConnection], T], *, snapshot: bool = True) -> T:
        """``work`` on a cursor inside one read transaction (one snapshot for all its selects).

        ``snapshot=False``: ``work`` runs a single select, which is a snapshot of its own, without a
        transaction around it."""
        for attempt in (1, 2):
            connection, kept = self._take(engine)
            cursor = None
            try:
                # Inside the try: on a connection the server closed, even opening a cursor fails.
                cursor = connection.cursor()
                if snapshot:
                    cursor.execute(_BEGIN_SNAPSHOT.get(engine.dialect.name, "BEGIN"))
                result = work(RawConnection(engine.dialect, cursor))
                cursor.close()
            except engine.dialect.loaded_dbapi.Error as exc:
                lost = engine.dialect.is_disconnect(exc, connection.dbapi_connection, cursor)
                connection.invalidate()
                if lost and kept and attempt == 1:
                    continue
                raise
            except BaseException:
                if cursor is not None:
                    cursor.close()
                self._give_back(engine, connection)
                raise
            self._give_back(engine, connection)
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _take(self, engine: Engine) -> tuple[Any, bool]:
        if engine is not self._engine:
            self.forget()
            self._engine = engine
        try:
            return self._idle.pop(), True
        except IndexError:
            connection = engine.raw_connection()
            if engine.dialect.name == "postgresql":
                connection.dbapi_connection.autocommit = True
            return connection, False

    def _give_back(self, engine: Engine, connection: Any) -> None:
        connection.rollback()  # ends a read transaction (nothing to do after a single select)
        if engine is self._engine and len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            connection.close()  # back to the pool (app/db.py ends its autocommit)

    def forget(self) -> None:
        """Return every kept connection to its pool (the engine is being replaced or disposed)."""
        while self._idle:
            self._idle.pop().close()
        self._engine = None


#: What opens a read of several selects: one snapshot for all of them, and nothing it could write.
_BEGIN_SNAPSHOT = {"postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}


kept_read_connections = KeptReadConnections()
