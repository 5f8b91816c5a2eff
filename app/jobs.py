"""Registers every background job kind and periodic task (imported by the worker)."""

from app.webhooks.dispatch import dispatch_events, register_jobs
from app.worker import register_periodic

register_jobs()
register_periodic("webhooks.dispatch", lambda: 1.0, dispatch_events)
