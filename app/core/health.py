"""Liveness and readiness probes (no auth)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

from app.core.db import get_engine
from app.core.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    """People who open the service's address land on its documentation."""
    return RedirectResponse("/docs")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    try:
        engine = get_engine()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = current_revision(engine), head_revision()
    except Exception as exc:  # any database failure means "not ready", never a crash
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    if current != head:
        return JSONResponse({"status": "migrating", "revision": current, "head": head}, status_code=503)
    return JSONResponse({"status": "ok", "revision": current})
