"""``column IN (...)`` for a list of ids, written for each database.

SQLAlchemy expands ``in_()`` into one placeholder per value. On PostgreSQL every list of another length is then
a new query text for psycopg to parse (it caches by text) and for the server to plan: on a 10,000-movement upload
that parsing alone took over a second. There the list goes as one array parameter,
``column IN (SELECT unnest(:ids))``: one query text per call site. On SQLite the list goes as one JSON text,
``column IN (SELECT value FROM json_each(:ids))``: an expanded ``IN`` cost SQLAlchemy a coercion per value when
built and a rendering of every placeholder on every run (half a chunked lookup's time at 500 ids); SQLite reads
the JSON array into the same per-value index lookups.

Both forms are built up front and the dialect picks one when compiling, so a statement holding ``one_of`` is
cached like any other (the values are bound parameters, not part of the cache key): compiling a select with
five hundred values anew on every call cost more than running it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from app.core.json_out import json_text


class OneOf(ColumnElement[bool]):
    """``column`` is one of ``values`` (text columns: ids, references, keys)."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("in_list", InternalTraversal.dp_clauseelement),
        ("any_array", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: Iterable[Any]) -> None:
        values = list(values)
        text_column = issubclass(column.type._type_affinity, String)
        if text_column and all(type(value) is str for value in values):
            # SQLite: one JSON array of strings (anything else keeps IN, where SQLite's own comparison rules apply).
            array = select(literal_column("value")).select_from(func.json_each(bindparam(None, json_text(values))))
            self.in_list = column.in_(array.scalar_subquery())
        else:
            self.in_list = column.in_(values)
        # Text columns (SQLModel's AutoString decorates String) as an array; money and dates keep IN.
        if text_column:
            # A semi-join with the unnested array, not ``column = ANY(array)``: on a table without statistics
            # yet (everything an upload adds in its own transaction) PostgreSQL takes each element of ANY as
            # matching 0.5 % of the rows, so 500 ids "match" the whole table and it scans it, comparing every
            # row with every id (36 ms a lookup at 10,000 suggestions). unnest() is estimated at a hundred
            # rows: an index lookup per id, whatever the statistics.
            ids = select(func.unnest(bindparam(None, values, type_=ARRAY(String())))).scalar_subquery()
            self.any_array = column.in_(ids)
        else:
            self.any_array = self.in_list

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        # In parentheses, as a comparison is. A bare Boolean element inside AND/OR would get SQLAlchemy's
        # ``= 1`` on SQLite (no native boolean), and ``id IN (...) = 1`` is no longer something an index
        # can answer: every lookup by id or key scanned the whole table.
        return Grouping(self)


def one_of(column: Any, values: Iterable[Any]) -> OneOf:
    return OneOf(column, values)


@compiles(OneOf)
def _in_list(element: OneOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.in_list, **kw)


@compiles(OneOf, "postgresql")
def _any_array(element: OneOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.any_array, **kw)
