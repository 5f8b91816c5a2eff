"""The plan a database would run a statement with, as one line of text (for tests of index use)."""

from __future__ import annotations

from sqlalchemy import text


def query_plan(session, statement) -> str:
    """SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN with sequential scans and sorts priced out: the
    question is whether an index can answer in order, whatever a small table's statistics would prefer."""
    dialect = session.get_bind().dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if dialect.name == "sqlite":
        ordered = tuple(params[name] for name in compiled.positiontup)
        rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered).all()
        return " / ".join(row[3] for row in rows)
    for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
        session.execute(text(f"SET LOCAL {setting} = off"))
    return " / ".join(row[0] for row in session.connection().exec_driver_sql(f"EXPLAIN {compiled}", params))
