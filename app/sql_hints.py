"""``+column`` on SQLite: a condition its query planner must not pick an index for.

SQLite plans without statistics (no ANALYZE runs on our files) and weighs every equality alike: for
``company_id = ? AND status IN (?, ?) AND number_key IN (?)`` it may pick the (company_id, status, due_date)
index and walk every open invoice of the company, where (company_id, number_key) finds the one invoice. At
100,000 open invoices that was 40 ms for a single lookup. A unary ``+`` is SQLite's documented way to keep a
term out of index selection (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_); the
term is still applied to the rows found. PostgreSQL plans from statistics and gets the column as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Unindexed(ColumnElement[Any]):
    """The column, not to be used to choose an index (SQLite); the column itself elsewhere."""

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
