"""A real server process per test, on a fresh SQLite file, for the tests that drive it from outside (a browser,
the README's shell walk-through)."""

from __future__ import annotations

import os

import pytest

from tests.helpers import cli_process

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef0123"


def server_env(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "CODARECON_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "CODARECON_ADMIN_TOKEN": ADMIN_TOKEN,
        "CODARECON_VAR_DIR": str(tmp_path / "var"),
        "CODARECON_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def server(tmp_path):
    yield from serving(server_env(tmp_path))


def serving(env: dict[str, str]):
    """`codarecon serve` on a free port with ``env``; yields its base URL, stops it afterwards."""
    with cli_process("serve", env=env, start_seconds=15, stop_seconds=10) as (base, _):
        yield base
