"""Engine, sessions and column types: SQLite (embedded default) or PostgreSQL, one unit of work per request."""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import BigInteger, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from app.core.config import get_settings, make_private_dir
from app.core.json_out import json_text
from app.core.money import from_mills, to_mills

READ_ONLY = "codarecon_read_only"


class Money(TypeDecorator[Decimal]):
    """Exact money: a Decimal in Python, integer thousandths (mills) in the database.

    Integers keep SQLite sums exact (its NUMERIC is a float) and CODA amounts carry three decimals.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return to_mills(value if isinstance(value, Decimal) else Decimal(str(value)))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else from_mills(int(value))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def partial_index(condition: str) -> dict[str, Any]:
    """An ``Index``'s keyword arguments for holding only the rows that meet ``condition`` (SQL), on both
    databases. A query must state the condition as written (a literal, not a bound value) for a planner to use
    the index."""
    clause = text(condition)
    return {"sqlite_where": clause, "postgresql_where": clause}


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN: a deferred transaction that later upgrades to a writer can fail with
    # "database is locked" regardless of busy_timeout; IMMEDIATE waits for the lock instead.
    # Read-only sessions stay deferred so that, under WAL, they never wait for anyone.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            _private_database_file(Path(database))
        # More connections than threads that hold one (the request pool's `threads`, 8 by default, and the
        # embedded workers' threads; 40 was anyio's default pool, which this was sized for): SQLite connections
        # are cheap, and a pool smaller than the threads makes requests queue for a connection and reconnect
        # (re-running the pragmas) under load.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=40,
            max_overflow=10,
            hide_parameters=True,  # logged errors would carry IBANs and names
            json_serializer=json_text,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_autobegin(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        hide_parameters=True,
        json_serializer=json_text,
        connect_args={"options": _waiting_bounds()},
    )
    event.listen(engine, "checkin", _back_to_transactions)
    return engine


def _waiting_bounds() -> str:
    """PostgreSQL session settings that bound how long a request can wait: for a lock (a company's ledger lock,
    a row another transaction holds) and for one statement. Exceeding either raises, and the request answers
    503 with Retry-After (app/core/errors.py) instead of hanging with its thread and connection."""
    settings = get_settings()
    lock_ms = int(settings.database_lock_timeout_seconds * 1000)
    statement_ms = int(settings.database_statement_timeout_seconds * 1000)
    return f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"


def _back_to_transactions(dbapi_connection: Any, _: Any) -> None:
    """The hot read keeps its connections in autocommit (app/core/prepared.py); whichever way one comes back to the
    pool (given back, or collected with a dropped holder), the sessions that get it next run transactions."""
    if dbapi_connection is not None and dbapi_connection.autocommit:
        dbapi_connection.autocommit = False


def _private_database_file(path: Path) -> None:
    """The SQLite file holds every company's ledger: readable by its owner only (its WAL and shared-memory
    files inherit the mode)."""
    make_private_dir(path.parent, tighten=path.parent.resolve() == get_settings().var_dir.resolve())
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert of plain rows, strict about their keys: SQLAlchemy would silently drop a key that names no
    column, and with it the value. Every row has the keys of the first one.

    The rows go to the driver as tuples, through each column's own bind processing (Money to mills, JSON to
    text) and Python-side defaults: SQLAlchemy's executemany builds a parameter dictionary per row and took half
    of an upload's insert time. SQLite: one executemany. PostgreSQL: one ``COPY ... FROM STDIN``, where an
    executemany is still one INSERT per row on the server (a 30,000-movement upload spent a fifth of its time
    there).
    """
    if not rows:
        return
    table = model.__table__
    keys = _checked_keys(table, rows)
    connection = session.connection()
    defaulted = tuple(c for c in table.c if c.name not in keys and c.default is not None)
    columns = keys + tuple(c.name for c in defaulted)
    processors = _bind_processors(table, columns, connection.dialect)
    values = [[row[k] for row in rows] for k in keys] + [[_default(c) for _ in rows] for c in defaulted]
    if connection.dialect.name == "postgresql":
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        dbapi = connection.dialect.loaded_dbapi
        try:
            # The cursor is closed on a refused row too.
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
                for row in _bound(processors, values):
                    copy.write_row(row)
        except dbapi.Error as exc:
            # As SQLAlchemy's own statements raise it: a refused row is an IntegrityError to the caller (a
            # duplicate invoice, a concurrent upload), not the driver's class.
            raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=connection.dialect) from exc
        return
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection.exec_driver_sql(sql, _bound(processors, values))


def update_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk update by primary key ``id``: each row names the id and the new values of the same columns.

    One executemany at the driver (as ``insert_rows``), an UPDATE by primary key per row. On PostgreSQL
    psycopg pipelines it (no round trip per row), and each row is found by the key's index whatever the planner
    knows: a single ``UPDATE ... FROM (VALUES ...)`` per thousand rows was planned, on a table without
    statistics yet (a company's first import, then its first statement), as a hash join over a scan of the whole
    table, 100,000 invoices read for every thousand paid (3 s of a 24,000-movement upload).
    """
    if not rows:
        return
    table = model.__table__
    if "id" not in rows[0]:
        raise KeyError(f"{table.name}: rows need an id")
    keys = tuple(k for k in _checked_keys(table, rows) if k != "id")
    columns = (*keys, "id")  # in the order of the statement's placeholders
    connection = session.connection()
    processors = _bind_processors(table, columns, connection.dialect)
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    sql = f"UPDATE {table.name} SET {', '.join(f'{k} = {mark}' for k in keys)} WHERE id = {mark}"
    connection.exec_driver_sql(sql, _bound(processors, [[row[k] for row in rows] for k in columns]))


def plain_rows(result: Any) -> list[Any]:
    """A result's rows as named tuples. SQLAlchemy's ``Row`` looks each attribute up in Python: presenting
    an invoice from one took 23 us against 8 us from a named tuple, and events present thousands of rows."""
    make = _row_class(tuple(result.keys()))._make
    return [make(row) for row in result]


@lru_cache(maxsize=256)
def _row_class(keys: tuple[str, ...]) -> Any:
    return namedtuple("PlainRow", keys)  # type: ignore[misc]


def _checked_keys(table: Any, rows: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The rows' keys, each a column, the same in every row (SQLAlchemy compiles an executemany from the first
    row and would drop what a later row adds)."""
    keys = tuple(rows[0])
    unknown = set(keys) - set(table.c.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    first = rows[0].keys()
    for row in rows:
        if row.keys() != first:
            raise KeyError(f"{table.name} rows differ in their keys: {sorted(row.keys() ^ first)}")
    return keys


@lru_cache(maxsize=256)
def _bind_processors(table: Any, columns: tuple[str, ...], dialect: Any) -> list[Any]:
    """What SQLAlchemy does to each column's Python value before the driver sees it: the dialect's own type, as
    a statement binds it. (The generic type's processor left SQLite's time columns to the driver, which wrote
    "...+00:00" where SQLAlchemy writes none: two spellings of one instant that compare unequal as text.)"""
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _bound(processors: list[Any], columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    """The rows for the driver: each column's values through its processor, with ``map``, then one tuple per
    row (a generator per row cost more than the driver's own work)."""
    processed = [values if p is None else list(map(p, values)) for p, values in zip(processors, columns, strict=True)]
    return list(zip(*processed, strict=True))


def _default(column: Any) -> Any:
    default = column.default
    return default.arg(None) if default.is_callable else default.arg


def _dialect_insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


def insert_missing_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert that leaves rows whose key is already stored as they are (ON CONFLICT DO NOTHING)."""
    if rows:
        table = model.__table__
        session.execute(_dialect_insert(session, table).on_conflict_do_nothing(), rows)


def add_to_counters(session: Session, model: Any, counter: str, rows: Sequence[dict[str, Any]]) -> None:
    """Per row, add its ``counter`` value to the stored row with the same key (inserting it when missing)."""
    if rows:
        table = model.__table__
        keys = [c.name for c in table.primary_key.columns]
        statement = _dialect_insert(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={counter: table.c[counter] + statement.excluded[counter]}
        )
        session.execute(statement, rows)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def reset_engine() -> None:
    """Forget the cached engine (tests switch databases between runs)."""
    if get_engine.cache_info().currsize:
        from app.core.prepared import kept_read_connections

        kept_read_connections.forget()
        get_engine().dispose()
    get_engine.cache_clear()
    _read_only_engine.cache_clear()


@lru_cache
def _read_only_engine() -> Engine:
    # Same pool, with an option the SQLite begin hook reads: no connection is taken until first use.
    return get_engine().execution_options(**{READ_ONLY: True})


def new_session(*, read_only: bool = False) -> Session:
    return Session(_read_only_engine() if read_only else get_engine(), expire_on_commit=False)


@contextmanager
def unit_of_work(*, read_only: bool = False) -> Iterator[Session]:
    """A session committed when the block succeeds and rolled back when it raises."""
    with new_session(read_only=read_only) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def _request_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. A writing request's transaction ends in the thread that did its work: a sync
    handler's route commits it there (app/core/request_routes.py), an async handler hands its work and the commit
    to one thread together (``in_one_transaction``).

    The commit must not wait for a thread of its own: with every pool thread held by requests waiting for the
    lock this transaction holds (a company's ledger lock), it would never get one, and the process would stop
    for every company. What is left here (a handler that committed nothing) is rolled back, never committed:
    nothing that holds a lock waits for a thread after its work is done."""
    read_only = request.method in ("GET", "HEAD")
    session = new_session(read_only=read_only)
    try:
        yield session
    finally:
        if session.in_transaction() and not read_only:
            await run_in_threadpool(_end_unfinished, session)
        else:
            session.close()  # no transaction open (or a read one): nothing to send, no thread needed


def _end_unfinished(session: Session) -> None:
    session.rollback()
    session.close()


def in_one_transaction(session: Session, work: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run ``work(*args, **kwargs)`` and commit in the calling thread (the thread pool's, for an async handler), or roll
    back if it raises: the transaction, its locks and its commit belong to one thread."""
    try:
        result = work(*args, **kwargs)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return result


#: One session per request, committed after the handler returns and before the response is sent
#: (scope="function"), so a client never sees 2xx for work that failed to commit.
SessionDep = Annotated[Session, Depends(_request_session, scope="function")]
