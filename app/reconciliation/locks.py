"""Locks for check-then-write on the money state.

SQLite has one writer at a time (every write transaction starts with BEGIN IMMEDIATE, see ``app.core.db``), so
what a transaction read cannot change before it commits. PostgreSQL runs writers side by side, so every
unit of work that changes a company's allocations, write-offs or suggestions first takes that company's
ledger lock (a transaction-scoped advisory lock), and reads the rows it checks ``FOR UPDATE``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import text
from sqlmodel import Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_key(company_id: str) -> int:
    # A signed 64-bit key: pg_advisory_xact_lock(bigint). Collisions only make two companies wait for each other.
    return int.from_bytes(hashlib.sha256(f"ledger:{company_id}".encode()).digest()[:8], "big", signed=True)


def lock_company_ledger(session: Session, company_id: str) -> None:
    """Hold the company's ledger until the transaction ends (re-entrant within one transaction)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(company_id)})


def for_update(session: Session, query: Any) -> Any:
    """The query with FOR UPDATE on PostgreSQL (SQLite's single writer needs no row locks)."""
    return query.with_for_update() if is_postgres(session) else query
