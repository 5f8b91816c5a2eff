"""Test fixtures: one migrated database per run (SQLite file, or PostgreSQL from CODARECON_TEST_DATABASE_URL),
emptied between tests, and an HTTP client on the real app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

ADMIN_TOKEN = "test-admin-token"
SAMPLES_DIR = Path(
    os.environ.get("CODARECON_CODA_SAMPLES") or Path(__file__).resolve().parents[1].parent / "shared" / "coda-samples"
)


def database_url(tmp_dir: Path) -> str:
    return os.environ.get("CODARECON_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("codarecon")
    env = {
        "CODARECON_DATABASE_URL": database_url(tmp),
        "CODARECON_ADMIN_TOKEN": ADMIN_TOKEN,
        "CODARECON_VAR_DIR": str(tmp / "var"),
        "CODARECON_EMBEDDED_WORKERS": "false",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from app.config import get_settings
    from app.db import reset_engine

    get_settings.cache_clear()
    reset_engine()
    yield env
    reset_engine()
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def migrated(app_settings: dict[str, str]) -> None:
    from app.db import get_engine
    from app.migrate import upgrade_to_head

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # a reused test database starts from nothing
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_to_head(engine)


def _empty_all_tables() -> None:
    import app.models  # noqa: F401
    from app.db import get_engine
    from app.security import company_cache, key_cache

    engine = get_engine()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    key_cache._entries.clear()
    company_cache.clear()


@pytest.fixture
def db(migrated: None) -> Iterator[None]:
    _empty_all_tables()
    yield


@pytest.fixture
def client(db: None) -> Iterator:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
