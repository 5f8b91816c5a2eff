"""Registers every background job kind and periodic task (imported by the worker)."""

from app.codabox.feed import poll_connected
from app.codabox.service import register_jobs as register_codabox_jobs
from app.config import get_settings
from app.idempotency import purge_expired
from app.webhooks.dispatch import dispatch_events
from app.webhooks.dispatch import register_jobs as register_webhook_jobs
from app.worker import register_periodic

register_webhook_jobs()
register_codabox_jobs()
register_periodic("webhooks.dispatch", lambda: 1.0, dispatch_events)
register_periodic("codabox.poll", lambda: float(get_settings().codabox_poll_seconds), poll_connected)
register_periodic("idempotency.purge", lambda: 3600.0, purge_expired)
