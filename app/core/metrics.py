"""Prometheus metrics (``GET /metrics``, prometheus-client): request latency by route, statements and
movements ingested and how matching settled them, webhook delivery failures, and the job queue's depth and the
age of its oldest due job (read from the database when scraped, so every process reports the same queue).

Counters and histograms are per process: with ``serve --workers N`` scrape each process, or sum them. With
``CODARECON_METRICS_PORT`` each API process serves them on a port of its own (the first free one from it up)
and the API port answers 404 for ``/metrics``."""

from __future__ import annotations

import logging
import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.core.config import get_settings
from app.core.errors import NotFound

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "codarecon_http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STATEMENTS = Counter(
    "codarecon_statements_ingested", "Bank statements stored (CODA and camt.053).", ["format"], registry=REGISTRY
)
TRANSACTIONS = Counter("codarecon_transactions_ingested", "Bank movements stored.", registry=REGISTRY)
MATCHING = Counter(
    "codarecon_matching_outcomes",
    "Payments matched, suggested or left unmatched by the engine.",
    ["outcome"],
    registry=REGISTRY,
)
CODABOX_ENTRIES = Counter(
    "codarecon_codabox_feed_entries",
    "CodaBox feed entries settled, by outcome: ingested, failed (unreadable or unstorable), skipped (not a bank "
    "statement), foreign (a statement of another enterprise).",
    ["outcome"],
    registry=REGISTRY,
)
PONTO_TRANSACTIONS = Counter(
    "codarecon_ponto_transactions",
    "Booked Ponto Connect transactions read, by outcome: stored (a transaction of its own), known (a bank file "
    "brought it before), set_aside (unreadable).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "codarecon_webhook_delivery_failures",
    "Failed webhook delivery attempts (final or to be retried).",
    ["final"],
    registry=REGISTRY,
)


class _QueueCollector:
    """Job queue depth by kind and status, and the age of the oldest due job, read at scrape time."""

    def collect(self) -> Any:
        from sqlalchemy import func, select

        from app.core.db import unit_of_work
        from app.core.outbox_models import Job
        from app.core.timeutil import utcnow

        depth = GaugeMetricFamily(
            "codarecon_jobs", "Jobs waiting or running, by kind and status.", labels=["kind", "status"]
        )
        age = GaugeMetricFamily("codarecon_oldest_due_job_age_seconds", "How long the oldest due job has waited.")
        try:
            with unit_of_work(read_only=True) as session:
                rows = session.execute(
                    select(Job.kind, Job.status, func.count())
                    .where(Job.status.in_(("pending", "running")))  # type: ignore[attr-defined]
                    .group_by(Job.kind, Job.status)
                ).all()
                oldest = session.execute(
                    select(func.min(Job.run_at)).where(Job.status == "pending", Job.run_at <= utcnow())
                ).scalar()
        except Exception:  # a scrape never fails because the database is away; the request metrics still count
            return
        for kind, status, count in rows:
            depth.add_metric([kind, status], count)
        yield depth
        if oldest is not None:
            now = utcnow()
            age.add_metric([], max((now - oldest.replace(tzinfo=now.tzinfo)).total_seconds(), 0.0))
        else:
            age.add_metric([], 0.0)
        yield age


REGISTRY.register(_QueueCollector())


def metrics_response(_: Request) -> Response:
    if get_settings().metrics_port is not None:  # served on a port of its own: the public port never shows it
        raise NotFound("no such resource")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


#: How many ports from CODARECON_METRICS_PORT up a process tries: one per API process of `serve --workers N`.
METRICS_PORTS_TRIED = 64


def serve_metrics(host: str, first_port: int) -> tuple[Any, int]:
    """This process's metrics on the first free port from ``first_port`` up (prometheus-client's own server,
    in a thread); returns the server, to shut down, and its port."""
    for port in range(first_port, min(first_port + METRICS_PORTS_TRIED, 65536)):
        try:
            server, _ = start_http_server(port, addr=host, registry=REGISTRY)
        except OSError:  # taken, by another API process of this `serve` or anything else
            continue
        log.info("metrics of process %d on http://%s:%d/metrics", os.getpid(), host, port)
        return server, port
    raise RuntimeError(f"no free metrics port from {first_port} to {first_port + METRICS_PORTS_TRIED - 1}")


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """One HTTP request, timed under its route template (``/v1/companies/{vat}/invoices/{invoice_id}``) so that
    label values stay few whatever the ids; requests refused before routing count as ``unmatched``."""
    template = getattr(scope.get("route"), "path", None) or "unmatched"
    REQUEST_SECONDS.labels(template, scope["method"], str(status)).observe(seconds)
