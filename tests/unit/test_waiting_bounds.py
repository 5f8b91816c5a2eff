"""Waiting is bounded on PostgreSQL: every connection carries lock_timeout and statement_timeout from the
settings, and a request that exceeds either answers 503 with Retry-After, saying the data was busy."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy.exc import OperationalError

from app.core.config import get_settings


def test_each_connection_is_given_the_configured_bounds_in_milliseconds(monkeypatch):
    from app.core.db import _waiting_bounds

    monkeypatch.setattr(get_settings(), "database_lock_timeout_seconds", 2.5)
    monkeypatch.setattr(get_settings(), "database_statement_timeout_seconds", 0.0)
    assert _waiting_bounds() == "-c lock_timeout=2500 -c statement_timeout=0"


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("canceled")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "busy"),
    [("55P03", True), ("57014", True), ("08006", False), (None, False)],  # lock, statement, connection lost
)
def test_a_lock_or_statement_past_its_bound_is_a_503_that_says_busy(sqlstate, busy):
    from fastapi import FastAPI

    from app.core.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)
    handler = app.exception_handlers[OperationalError]
    error = OperationalError("SELECT 1", {}, _DriverError(sqlstate))

    class _Request:
        method, url = "POST", type("U", (), {"path": "/v1/x"})()

    response = asyncio.run(handler(_Request(), error))
    body = json.loads(response.body)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert ("busy" in body["detail"]) is busy
