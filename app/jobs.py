"""Every background job kind and periodic task, registered once per process when the worker first asks."""

from __future__ import annotations

from collections.abc import Callable

from app.codabox.feed import poll_connected
from app.codabox.service import register_jobs as register_codabox_jobs
from app.core.config import get_settings
from app.core.idempotency import purge_expired
from app.events.feed import purge_old_events
from app.ponto.feed import poll_connected as poll_ponto
from app.ponto.pending_feed import expire_pending
from app.ponto.service import register_jobs as register_ponto_jobs
from app.webhooks.dispatch import dispatch_events
from app.webhooks.dispatch import register_jobs as register_webhook_jobs

#: Periodic tasks: (name, interval seconds getter, function).
PERIODIC: list[tuple[str, Callable[[], float], Callable[[], None]]] = [
    ("webhooks.dispatch", lambda: 1.0, dispatch_events),
    ("codabox.poll", lambda: float(get_settings().codabox_poll_seconds), poll_connected),
    # Whether a company is due is judged per connection (CODARECON_PONTO_SYNC_SECONDS); this only looks.
    ("ponto.poll", lambda: 60.0, poll_ponto),
    ("ponto.pending_expiry", lambda: 3600.0, expire_pending),
    ("idempotency.purge", lambda: 3600.0, purge_expired),
    ("events.purge", lambda: 3600.0, purge_old_events),
]

_registered = False


def register_job_kinds() -> None:
    """Register the job kinds under the settings of the moment, on the first call only."""
    global _registered
    if not _registered:
        register_webhook_jobs()
        register_codabox_jobs()
        register_ponto_jobs()
        _registered = True
