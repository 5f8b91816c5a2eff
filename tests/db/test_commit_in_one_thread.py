"""The freeze of nine parallel writes, reproduced and gone (PostgreSQL).

Two small apps on a real uvicorn server with a pool of two threads; each request takes a company's ledger lock
(the advisory lock of app/reconciliation/locks.py) and holds it for a moment. The old way ended a request's
transaction in a thread hop of its own after the handler returned: with every pool thread held by a request
waiting for the lock, the holder's commit never got a thread, and nothing moved until lock_timeout broke it
(before lock_timeout, never). The routes of app/core/request_routes.py commit in the handler's own thread: the same
burst all answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated

import anyio
import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import SessionDep, new_session, reset_engine
from app.core.request_routes import CommittingRoute
from app.reconciliation.locks import lock_company_ledger

pytestmark = pytest.mark.slow

THREADS = 2
BURST = 5


async def _old_request_session() -> AsyncIterator[Session]:
    """The request session as it was: the commit in a thread hop after the handler returned."""
    session = new_session()
    try:
        yield session
        await run_in_threadpool(session.commit)
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        await run_in_threadpool(session.close)


OldSessionDep = Annotated[Session, Depends(_old_request_session, scope="function")]


def _write(session: Session) -> dict[str, bool]:
    lock_company_ledger(session, "co_burst")
    time.sleep(0.05)  # some work under the lock
    return {"ok": True}


def app_with(router: APIRouter) -> FastAPI:
    @asynccontextmanager
    async def few_threads(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield

    app = FastAPI(lifespan=few_threads)
    app.include_router(router)
    return app


def old_app() -> FastAPI:
    router = APIRouter()

    @router.post("/write")
    def write(session: OldSessionDep) -> dict[str, bool]:
        return _write(session)

    return app_with(router)


def new_app() -> FastAPI:
    router = APIRouter(route_class=CommittingRoute)

    @router.post("/write")
    def write(session: SessionDep) -> dict[str, bool]:
        return _write(session)

    return app_with(router)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def burst(base: str, seconds: float) -> list[int | str]:
    def post(_: int) -> int | str:
        try:
            return httpx.post(f"{base}/write", timeout=seconds).status_code
        except httpx.TimeoutException:
            return "no answer"

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(post, range(BURST)))


@pytest.fixture
def short_lock_timeout(db, monkeypatch):
    """lock_timeout of 3 s, so that the old way's freeze ends within the test (the audit saw it last forever:
    there was no lock_timeout then)."""
    if get_settings().database_url.startswith("sqlite"):
        pytest.skip("the ledger lock is PostgreSQL's (SQLite's writers queue before they take a thread)")
    monkeypatch.setattr(get_settings(), "database_lock_timeout_seconds", 3.0)
    reset_engine()
    yield
    monkeypatch.undo()
    reset_engine()


def test_a_commit_that_waits_for_a_thread_freezes_a_burst_and_committing_in_place_does_not(short_lock_timeout):
    with served(old_app()) as base:
        frozen = burst(base, seconds=2.0)
        time.sleep(4)  # lock_timeout ends the waits: let the old server's requests finish before it stops
    assert "no answer" in frozen, frozen  # nothing answered within 2 s: the freeze

    with served(new_app()) as base:
        answers = burst(base, seconds=10.0)
    assert answers == [200] * BURST
