"""Every background job kind and periodic task, registered once per process when the worker first asks."""

from __future__ import annotations

from collections.abc import Callable

from app.codabox.feed import poll_connected
from app.codabox.service import register_jobs as register_codabox_jobs
from app.core.config import get_settings
from app.core.idempotency import purge_expired
from app.events.feed import purge_old_events
from app.webhooks.dispatch import dispatch_events
from app.webhooks.dispatch import register_jobs as register_webhook_jobs

#: Periodic tasks: (name, interval seconds getter, function).
PERIODIC: list[tuple[str, Callable[[], float], Callable[[], None]]] = [
    ("webhooks.dispatch", lambda: 1.0, dispatch_events),
    ("codabox.poll", lambda: float(get_settings().codabox_poll_seconds), poll_connected),
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
        _registered = True
