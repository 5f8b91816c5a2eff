"""Reliable background work (transactional outbox): enqueue in the caller's transaction, claim safely,
retry with backoff, and never run one job in two places at once.

Claiming takes a lease: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so that several workers share the
queue without waiting on each other; on SQLite writers are serialised by ``BEGIN IMMEDIATE``. A running job's
lease is renewed while it runs, so a slow job is never claimed a second time; a worker that dies leaves its
jobs to be claimed again when the lease runs out (at-least-once: handlers are idempotent).

Claims are fair between companies: each company's oldest due job comes before any company's second, so one
tenant's flood of deliveries queues behind itself, not in front of everyone else.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import unit_of_work
from app.ids import new_id
from app.outbox_models import Job
from app.timeutil import utcnow

log = logging.getLogger(__name__)


class RetryableJobError(Exception):
    """A temporary failure: run the job again later."""


class PermanentJobError(Exception):
    """The job can never succeed as it is: mark it failed with the reason."""


@dataclass(frozen=True)
class JobKind:
    handler: Callable[[Job], None]
    max_attempts: int = 12
    lease_seconds: int = 120


#: kind -> how to run it; features register their kinds at import time.
KINDS: dict[str, JobKind] = {}


def register(kind: str, handler: Callable[[Job], None], *, max_attempts: int = 12, lease_seconds: int = 120) -> None:
    KINDS[kind] = JobKind(handler, max_attempts, lease_seconds)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    company_id: str | None = None,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    expedite: bool = False,
) -> Job | None:
    """Add a job in the caller's transaction; with a dedupe_key, at most one such job waits at a time.

    ``expedite``: when such a job already waits (say, backing off after a failure), run it now instead.
    """
    job = Job(
        id=new_id("job"),
        kind=kind,
        payload=payload,
        company_id=company_id,
        dedupe_key=dedupe_key,
        run_at=run_at or utcnow(),
    )
    if dedupe_key is None:
        session.add(job)
        return job
    waiting = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
    if waiting is not None:
        if expedite and waiting.status == "pending" and waiting.run_at > utcnow():
            waiting.run_at = utcnow()
            session.add(waiting)
        return None
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None  # a concurrent transaction enqueued the same work
    return job


def backoff_delay(
    attempt: int, base_seconds: float, cap_seconds: float = 3600.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
    ceiling = min(cap_seconds, base_seconds * (2 ** max(attempt - 1, 0)))
    return (rng or random).uniform(0, ceiling)


def _due(kinds: list[str] | None, exclude_kinds: list[str] | None):  # type: ignore[no-untyped-def]
    now = utcnow()
    due = or_(
        (col(Job.status) == "pending") & (col(Job.run_at) <= now),
        (col(Job.status) == "running") & (col(Job.locked_until) < now),
    )
    if kinds:
        due = due & col(Job.kind).in_(kinds)
    if exclude_kinds:
        due = due & col(Job.kind).not_in(exclude_kinds)
    return due


def any_due(*, kinds: list[str] | None = None, exclude_kinds: list[str] | None = None) -> bool:
    """A read-only look first: an idle worker polling the queue never takes SQLite's write lock."""
    with unit_of_work(read_only=True) as session:
        return session.exec(select(col(Job.id)).where(_due(kinds, exclude_kinds)).limit(1)).first() is not None


def claim(
    session: Session,
    *,
    owner: str,
    limit: int = 10,
    kinds: list[str] | None = None,
    exclude_kinds: list[str] | None = None,
) -> list[Job]:
    """Lease up to ``limit`` due jobs to ``owner``, round-robin over companies; expired leases are claimable again."""
    now = utcnow()
    due = _due(kinds, exclude_kinds)
    # Rank each company's due jobs by age; taking rank 1 of every company before rank 2 of any is the fairness.
    turn = func.row_number().over(partition_by=col(Job.company_id), order_by=(col(Job.run_at), col(Job.id)))
    ranked = select(col(Job.id), col(Job.run_at), turn.label("turn")).where(due).subquery()
    chosen = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.run_at, ranked.c.id).limit(limit)
    query = select(Job).where(col(Job.id).in_(chosen), due).order_by(col(Job.run_at), col(Job.id))
    if session.get_bind().dialect.name == "postgresql":
        # Re-checked under the row lock: a job another worker claimed meanwhile is skipped or no longer due.
        query = query.with_for_update(skip_locked=True)
    jobs = list(session.exec(query).all())
    for job in jobs:
        job.status = "running"
        job.locked_by = owner
        job.locked_until = now + timedelta(seconds=lease_seconds(job.kind))
        job.attempts += 1
        job.updated_at = now
        session.add(job)
    session.flush()
    return jobs


def lease_seconds(kind: str) -> int:
    return KINDS[kind].lease_seconds if kind in KINDS else 120


def renew_lease(job_id: str, owner: str, seconds: float) -> bool:
    """Extend a running job's lease; False when the owner no longer holds it."""
    with unit_of_work() as session:
        result = session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.locked_by) == owner, col(Job.status) == "running")
            .values(locked_until=utcnow() + timedelta(seconds=seconds))
        )
        return bool(result.rowcount)


@contextmanager
def lease_kept(job: Job, owner: str) -> Iterator[None]:
    """Renew the job's lease every third of its length while the body runs (a heartbeat thread)."""
    seconds = lease_seconds(job.kind)
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(seconds / 3):
            try:
                if not renew_lease(job.id, owner, seconds):
                    return
            except Exception:  # a missed beat is retried at the next; the lease still has two thirds left
                log.warning("could not renew the lease of job %s", job.id, exc_info=True)

    beat = threading.Thread(target=heartbeat, name=f"lease-{job.id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join(timeout=5)


def _finish(job_id: str, owner: str, **values: Any) -> None:
    with unit_of_work() as session:
        # Only the lease holder may settle the job: a worker whose lease expired lost it to another.
        session.execute(
            update(Job).where(col(Job.id) == job_id, col(Job.locked_by) == owner).values(updated_at=utcnow(), **values)
        )


def run_job(job: Job, owner: str, *, base_delay: float) -> str:
    """Run one claimed job and record the outcome: 'done', 'retry' or 'failed'."""
    kind = KINDS.get(job.kind)
    if kind is None:
        _finish(job.id, owner, status="failed", last_error=f"no handler for job kind {job.kind}", dedupe_key=None)
        return "failed"
    try:
        with lease_kept(job, owner):
            kind.handler(job)
    except PermanentJobError as exc:
        log.warning("job %s (%s) failed permanently: %s", job.id, job.kind, exc)
        _finish(job.id, owner, status="failed", last_error=str(exc)[:2000], locked_until=None, dedupe_key=None)
        return "failed"
    except Exception as exc:  # anything else is worth another try, until the attempts run out
        reason = str(exc)[:2000] or type(exc).__name__
        if job.attempts >= kind.max_attempts:
            log.warning("job %s (%s) gave up after %d attempts: %s", job.id, job.kind, job.attempts, reason)
            _finish(job.id, owner, status="failed", last_error=reason, locked_until=None, dedupe_key=None)
            return "failed"
        delay = backoff_delay(job.attempts, base_delay)
        if not isinstance(exc, RetryableJobError):
            log.exception("job %s (%s) raised; retrying in %.1fs", job.id, job.kind, delay)
        _finish(
            job.id,
            owner,
            status="pending",
            last_error=reason,
            locked_until=None,
            locked_by=None,
            run_at=utcnow() + timedelta(seconds=delay),
        )
        return "retry"
    _finish(job.id, owner, status="done", last_error=None, locked_until=None, dedupe_key=None)
    return "done"


def run_due_jobs(
    *,
    owner: str | None = None,
    limit: int = 10,
    base_delay: float = 30.0,
    kinds: list[str] | None = None,
    exclude_kinds: list[str] | None = None,
) -> int:
    """Claim and run one round of due jobs; returns how many ran."""
    owner = owner or worker_id()
    if not any_due(kinds=kinds, exclude_kinds=exclude_kinds):
        return 0
    with unit_of_work() as session:
        jobs = claim(session, owner=owner, limit=limit, kinds=kinds, exclude_kinds=exclude_kinds)
    for job in jobs:
        run_job(job, owner, base_delay=base_delay)
    return len(jobs)
