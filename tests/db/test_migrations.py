"""Migrations build the schema the models describe, on SQLite and on PostgreSQL, and undo cleanly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.core.db import make_engine
from app.core.migrate import alembic_config, head_revision, is_at_head, upgrade_to_head

# Seconds per run: left out of `make mutate`'s per-mutant runs (see docs/testing.md).
pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test."""
    base = os.environ.get("CODARECON_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"codarecon_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_to_head_matches_the_models(fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    assert not is_at_head(engine)
    upgrade_to_head(engine)
    assert is_at_head(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    engine.dispose()


def test_upgrade_is_repeatable_and_downgrade_removes_everything(fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # a second start must be a no-op
    cfg = alembic_config(fresh_url)
    command.downgrade(cfg, "base")
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()


def test_times_written_with_an_offset_are_rewritten_as_sqlalchemy_writes_them(fresh_url: str) -> None:
    """0017 (SQLite): "…+00:00" left by bulk writes before becomes SQLAlchemy's spelling of the same instant."""
    engine = make_engine(fresh_url)
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores timestamptz: one instant, one value")
    cfg = alembic_config(fresh_url)
    command.upgrade(cfg, "0016")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO companies (id, vat, name, payment_tolerance, match_config, created_at) VALUES "
                "('co_1', 'BE0403200393', 'x', NULL, NULL, '2026-12-07 20:00:32.415272+00:00'), "
                "('co_2', 'BE0417497106', 'y', NULL, NULL, '2026-12-07 20:00:33+00:00'), "
                "('co_3', 'BE0202239951', 'z', NULL, NULL, '2026-12-07 20:00:34.100000')"
            )
        )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT created_at FROM companies ORDER BY id")).scalars().all()
    assert stored == ["2026-12-07 20:00:32.415272", "2026-12-07 20:00:33.000000", "2026-12-07 20:00:34.100000"]
    engine.dispose()
