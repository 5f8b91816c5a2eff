"""The ASGI application: routers, middleware, error handlers and start-up (migrations, embedded workers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from app import __version__
from app.codabox.inbound import router as inbound_router
from app.codabox.router import router as codabox_router
from app.companies.router import router as companies_router
from app.core.auth import admin_token
from app.core.config import get_settings, require_explicit_secret_key
from app.core.db import get_engine
from app.core.error_boundary import KeepConnectionOnError
from app.core.errors import install_error_handlers
from app.core.gc_tuning import tune_for_serving
from app.core.health import router as health_router
from app.core.idempotency import IdempotencyMiddleware
from app.core.key_use import flush_every, key_use
from app.core.limits import RequestLimits
from app.core.logging_setup import RequestIdMiddleware
from app.core.metrics import metrics_response, observe_request, serve_metrics
from app.core.migrate import upgrade_to_head
from app.core.rate_limit import RateLimits
from app.core.write_queues import WriteQueues
from app.dashboard.router import router as dashboard_router
from app.events.router import router as events_router
from app.hooks import install_hooks
from app.invoices.router import add_hot_read
from app.invoices.router import router as invoices_router
from app.openapi.docs_offline import install_offline_docs
from app.openapi.document import document
from app.peppol import work as xml_work
from app.peppol.router import router as peppol_router
from app.ponto.inbound import router as ponto_inbound_router
from app.ponto.router import callback_router as ponto_callback_router
from app.ponto.router import router as ponto_router
from app.reconciliation.router import audit_router
from app.reconciliation.router import router as reconciliation_router
from app.reconciliation.rules_router import router as rules_router
from app.statements.router import router as statements_router
from app.ui.router import router as ui_router
from app.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)

DESCRIPTION = """Payment reconciliation for Belgian invoicing software.

Invoices in, CODA bank statements in, paid status out. Every error is `application/problem+json`
(RFC 9457); money is a decimal string (`"121.00"`); every POST honours `Idempotency-Key`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    require_explicit_secret_key(settings)
    # Few threads beat many: every database call releases and re-takes the GIL, and 40 threads passing it
    # around cost more than they overlap (measured in bench/bench_api.py).
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
    # The schema is brought to head before serving, so a fresh SQLite file works with no manual step.
    await run_in_threadpool(upgrade_to_head, get_engine())
    admin_token(settings)
    worker = None
    if settings.embedded_workers:
        from app.worker import Worker

        worker = Worker()
        worker.start()
    metrics = serve_metrics(settings.metrics_host, settings.metrics_port)[0] if settings.metrics_port else None
    key_use_flusher = asyncio.create_task(flush_every(settings.key_use_flush_seconds))
    tune_for_serving()
    try:
        yield
    finally:
        key_use_flusher.cancel()
        await run_in_threadpool(key_use.flush)  # what this process noted since the last flush
        if metrics is not None:
            metrics.shutdown()
        if worker is not None:
            await run_in_threadpool(worker.close)
        await run_in_threadpool(xml_work.shutdown)


class CodareconAPI(FastAPI):
    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        return KeepConnectionOnError(super().build_middleware_stack())


def create_app() -> FastAPI:
    app = CodareconAPI(
        docs_url=None,  # served offline below, with the assets from a package
        redoc_url=None,
        title="codarecon",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
    )
    install_error_handlers(app)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    install_offline_docs(app)
    install_hooks()
    app.add_middleware(IdempotencyMiddleware)
    # Outside the idempotency records (they write too), inside the limits: a request is checked, then queues.
    app.add_middleware(WriteQueues)
    app.add_middleware(RequestLimits)  # before the idempotency record reads the body
    app.add_middleware(RateLimits)  # before anything reads a body or the database
    app.add_middleware(RequestIdMiddleware, observe=observe_request)  # outermost: sees refusals too
    app.add_route("/metrics", metrics_response, include_in_schema=False)
    # The hot read right after the three probes, then the invoices router: FastAPI tries routes in order, and
    # every route tried costs a regex match and scope bookkeeping on each request (paths do not overlap). The
    # documentation's routes go last (_documentation_last).
    app.include_router(health_router)
    add_hot_read(app)
    for router in (
        invoices_router,
        companies_router,
        statements_router,
        reconciliation_router,
        rules_router,
        audit_router,
        webhooks_router,
        dashboard_router,
        events_router,
        ui_router,
        codabox_router,
        ponto_router,
        ponto_callback_router,
        peppol_router,
        inbound_router,
        ponto_inbound_router,
    ):
        app.include_router(router)
    _documentation_last(app)
    return app


def _documentation_last(app: FastAPI) -> None:
    """The documentation and metrics routes after the API's: every request walks the routes in order until one
    matches, and these six came first (FastAPI adds its document's route when the app is built), a few
    microseconds of failed matches on every API request. No API path overlaps theirs."""
    api = [r for r in app.router.routes if not _is_documentation(r)]
    app.router.routes[:] = api + [r for r in app.router.routes if _is_documentation(r)]


def _is_documentation(route: object) -> bool:
    path = getattr(route, "path", "")
    return path in ("/openapi.json", "/metrics", "/redoc") or path.startswith("/docs")


app = create_app()
