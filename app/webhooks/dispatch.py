"""Deliver recorded events to webhook endpoints: fan-out, ordering per subject, signing, retries.

Events are written in the same transaction as the change that caused them. A periodic task fans each new
event out to the endpoints that want it (one delivery each). Deliveries of one endpoint about one subject
(an invoice, a transaction) go out strictly in order: only the oldest open one has a job, and finishing it
queues the next. Requests are signed per the Standard Webhooks specification (``webhook-id`` is the event id,
stable across retries, so receivers can de-duplicate); failures retry with exponential backoff and jitter
through the outbox; an endpoint that keeps failing is disabled.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from app.core.config import get_settings
from app.core.crypto import decrypt
from app.core.db import insert_rows, unit_of_work
from app.core.ids import new_id, new_ids
from app.core.metrics import WEBHOOK_FAILURES
from app.core.one_of import one_of
from app.core.outbox import PermanentJobError, RetryableJobError, enqueue, register
from app.core.outbox_models import Event, Job
from app.core.timeutil import iso, utcnow
from app.events.resources import data_and_change
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.network import UNREACHABLE, GuardedTransport, Policy, TargetRefused, check_syntax

log = logging.getLogger(__name__)

JOB_KIND = "webhook.deliver"
_EVENTS = Event.__table__  # type: ignore[attr-defined]


def wants(endpoint: WebhookEndpoint, event: Any) -> bool:
    """``event``: an Event or a row of its id, company_id, type and subject_id."""
    if not endpoint.enabled:
        return False
    if endpoint.company_id is not None and endpoint.company_id != event.company_id:
        return False
    if event.type == "webhook.test":
        return False  # test pings are addressed to one endpoint directly
    return "*" in endpoint.events or event.type in endpoint.events


def pending_events(session: Session, limit: int) -> Any:
    """The oldest events not yet fanned out (through ix_events_pending: the cost follows ``limit``, not the
    backlog), without their payloads (fanning out needs none); on PostgreSQL locked so that concurrent
    dispatchers take different ones."""
    query = (
        select(Event.id, Event.company_id, Event.type, Event.subject_id)
        .where(col(Event.dispatched_at).is_(None))
        .order_by(col(Event.created_at), col(Event.id))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query.limit(limit)


def dispatch_events(limit: int = 500) -> int:
    """Fan new events out to deliveries; returns how many events were dispatched."""
    with unit_of_work() as session:
        events = list(session.exec(pending_events(session, limit)).all())
        if not events:
            return 0
        endpoints = list(session.exec(select(WebhookEndpoint).where(WebhookEndpoint.enabled == True)).all())  # noqa: E712
        now = utcnow()
        _fan_out(session, [(endpoint, event) for event in events for endpoint in endpoints if wants(endpoint, event)])
        session.execute(update(_EVENTS).where(one_of(_EVENTS.c.id, [e.id for e in events])).values(dispatched_at=now))
        return len(events)


def _fan_out(session: Session, pairs: list[tuple[WebhookEndpoint, Any]]) -> list[str]:
    """A delivery per (endpoint, event), in order, in two bulk inserts; returns their ids. Each endpoint keeps
    one line per subject: only a line's first delivery gets a job, the others wait their turn (``_queue_next``).
    One by one, each delivery cost a lookup, a flush and an enqueue (1.4 ms an event with one endpoint)."""
    if not pairs:
        return []
    # Deliveries already waiting per endpoint and subject: a new one queues behind them (no job of its own).
    waiting: set[tuple[str, str]] = set()
    subjects: dict[str, set[str]] = defaultdict(set)
    for endpoint, event in pairs:
        subjects[endpoint.id].add(event.subject_id)
    for endpoint_id, wanted in subjects.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            waiting.update(
                session.execute(
                    select(WebhookDelivery.endpoint_id, WebhookDelivery.subject_id).where(
                        WebhookDelivery.endpoint_id == endpoint_id,
                        one_of(col(WebhookDelivery.subject_id), ordered[start : start + 500]),
                        WebhookDelivery.status == "pending",
                    )
                ).all()
            )
    now = utcnow()
    deliveries: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    for n, ((endpoint, event), delivery_id) in enumerate(zip(pairs, new_ids("whd", len(pairs)), strict=True)):
        deliveries.append(
            {
                "id": delivery_id,
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "event_type": event.type,
                "subject_id": event.subject_id,
                "status": "pending",
                "attempts": 0,
                "last_status_code": None,
                "last_error": None,
                "next_attempt_at": None,
                "delivered_at": None,
                "history": [],
                # Apart by a microsecond each: a subject's queue is taken in (created_at, id) order, and ids
                # made in the same millisecond are not ordered.
                "created_at": now + timedelta(microseconds=n),
            }
        )
        if (endpoint.id, event.subject_id) not in waiting:
            waiting.add((endpoint.id, event.subject_id))
            jobs.append(
                {
                    "id": new_id("job"),
                    "kind": JOB_KIND,
                    "company_id": event.company_id,
                    "dedupe_key": f"whd:{delivery_id}",
                    "payload": {"delivery_id": delivery_id},
                    "status": "pending",
                    "attempts": 0,
                    "run_at": now,
                    "locked_until": None,
                    "locked_by": None,
                    "last_error": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    insert_rows(session, WebhookDelivery, deliveries)
    insert_rows(session, Job, jobs)
    return [delivery["id"] for delivery in deliveries]


def add_delivery(session: Session, endpoint: WebhookEndpoint, event: Any) -> WebhookDelivery:
    """One delivery, by the rule a poll's deliveries follow (``_fan_out``)."""
    [delivery_id] = _fan_out(session, [(endpoint, event)])
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None  # inserted just now, in this transaction
    return delivery


def _queue_next(session: Session, delivery: WebhookDelivery) -> None:
    """The next open delivery for the same endpoint and subject gets its turn."""
    following = session.exec(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.subject_id == delivery.subject_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.id != delivery.id,
        )
        .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.id))
    ).first()
    if following is not None:
        enqueue(session, JOB_KIND, {"delivery_id": following.id}, dedupe_key=f"whd:{following.id}")


def message_body(session: Session, event: Event) -> str:
    """The resource as it was when the event happened (recorded with it), and what changed."""
    data, change = data_and_change(session, event)
    body = {"type": event.type, "timestamp": iso(event.created_at), "data": data, "change": change}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, message_id: str, body: str, when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, when, body),
        "content-type": "application/json",
        "user-agent": "codarecon-webhooks/1",
    }


#: Tests swap the transport to reach in-process receivers; production uses the guarded network transport.
transport: httpx.BaseTransport | None = None


def _post(url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """Send one delivery; the status code and, on failure, an error fit for the tenant to read."""
    settings = get_settings()
    deadline = settings.webhook_timeout_seconds
    policy = Policy.from_settings(settings)
    via = transport or GuardedTransport(policy, deadline)
    try:
        check_syntax(url, policy)  # the settings may have changed since it was stored
        with httpx.Client(timeout=deadline, transport=via, follow_redirects=False) as client:
            response = client.post(url, content=body.encode(), headers=headers)
    except TargetRefused as exc:
        return None, str(exc)
    except httpx.TimeoutException:
        return None, f"the endpoint did not answer within {deadline:g} s"
    except httpx.HTTPError as exc:
        # The details (refused, reset, TLS) stay in our log: shown to a tenant they would map internal ports.
        log.info("webhook delivery to %s failed: %s: %s", url, type(exc).__name__, exc)
        refused = via.refused if isinstance(via, GuardedTransport) else None
        return None, refused or UNREACHABLE
    return response.status_code, None if response.is_success else f"HTTP {response.status_code}"


def deliver(job: Job) -> None:
    settings = get_settings()
    with unit_of_work(read_only=True) as session:
        delivery = session.get(WebhookDelivery, job.payload["delivery_id"])
        if delivery is None or delivery.status != "pending":
            return
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(Event, delivery.event_id)
        if endpoint is None or event is None:
            return
        if not endpoint.enabled:
            _finish(delivery.id, "skipped", None, "endpoint disabled")
            return
        body = message_body(session, event)
        url, secret = endpoint.url, decrypt(endpoint.secret_encrypted)
    status_code, error = _post(url, body, signed_headers(secret, event.id, body))
    if error is None:
        _finish(delivery.id, "delivered", status_code, None)
        return
    final = job.attempts >= settings.webhook_max_attempts
    _record_failure(delivery.id, status_code, error, final)
    if final:
        raise PermanentJobError(error)
    raise RetryableJobError(error)


def _finish(delivery_id: str, status: str, status_code: int | None, error: str | None) -> None:
    with unit_of_work() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return
        now = utcnow()
        delivery.attempts += 1 if status == "delivered" else 0
        delivery.status = status
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.next_attempt_at = None
        if status == "delivered":
            delivery.delivered_at = now
            delivery.history = _with_attempt(delivery.history, now, status_code, None)
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is not None and endpoint.consecutive_failures:
                endpoint.consecutive_failures = 0
                session.add(endpoint)
        session.add(delivery)
        _queue_next(session, delivery)


HISTORY_LENGTH = 20


def _with_attempt(history: list[dict[str, Any]], at: datetime, status_code: int | None, error: str | None) -> list:
    """The delivery's log of attempts, the newest last, at most HISTORY_LENGTH of them."""
    entry = {"at": iso(at), "status_code": status_code, "error": error}
    return [*history[-(HISTORY_LENGTH - 1) :], entry]


def _record_failure(delivery_id: str, status_code: int | None, error: str, final: bool) -> None:
    settings = get_settings()
    WEBHOOK_FAILURES.labels("true" if final else "false").inc()
    with unit_of_work() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return
        now = utcnow()
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.history = _with_attempt(delivery.history, now, status_code, error)
        if final:
            delivery.status = "failed"
            delivery.next_attempt_at = None
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is not None:
                endpoint.consecutive_failures += 1
                if endpoint.consecutive_failures >= settings.webhook_max_failures:
                    endpoint.enabled = False
                    endpoint.disabled_reason = (
                        f"disabled after {endpoint.consecutive_failures} failed deliveries in a row"
                    )
                    log.warning("webhook endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)
                session.add(endpoint)
            _queue_next(session, delivery)
        session.add(delivery)


def register_jobs() -> None:
    register(JOB_KIND, deliver, max_attempts=get_settings().webhook_max_attempts)
