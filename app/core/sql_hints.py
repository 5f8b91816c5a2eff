"""A condition the query planner must not pick an index for: ``+column`` on SQLite, ``(column || '')`` on
PostgreSQL.

SQLite plans without statistics (no ANALYZE runs on our files) and weighs every equality alike: for
``company_id = ? AND status IN (?, ?) AND number_key IN (?)`` it may pick the (company_id, status, due_date)
index and walk every open invoice of the company, where (company_id, number_key) finds the one invoice. At
100,000 open invoices that was 40 ms for a single lookup. A unary ``+`` is SQLite's documented way to keep a
term out of index selection (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_); the
term is still applied to the rows found.

PostgreSQL plans from statistics, but a table filled and queried before autovacuum has analysed it (a new
company's import of a hundred thousand invoices, then its first statement) has none, and the planner then takes
(company_id, status) as the most selective index: a 5-movement upload walked all 100,000 open invoices for
each lookup (130 ms each; 0.06 ms by the key's own index). A text column concatenated with '' is the same
value that no index holds, so the key's index is chosen with or without statistics.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Unindexed(ColumnElement[Any]):
    """The column, not to be used to choose an index (SQLite, PostgreSQL); the column itself elsewhere."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(Unindexed)
def _as_is(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Unindexed, "sqlite")
def _unary_plus(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


@compiles(Unindexed, "postgresql")
def _concatenated(element: Unindexed, compiler: Any, **kw: Any) -> str:
    if not issubclass(element.type._type_affinity, String):
        raise TypeError(f"Unindexed on PostgreSQL is written for text columns, not {element.type}")
    return f"({compiler.process(element.column, **kw)} || '')"


def _sqlite_from_hint(compiler: Any, table: Any, text: str | None) -> str | None:
    return text


# SQLAlchemy's hook for a table's hint (``select().with_hint(table, "INDEXED BY ix", "sqlite")``), which its
# SQLite compiler leaves unimplemented (the hint is dropped): rendered after the table, where SQLite's
# ``INDEXED BY`` goes (https://sqlite.org/lang_indexedby.html). Hints for other dialects are unaffected.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign]
