"""Reading a company's CodaBox feed: every entry stored exactly once or recorded with why not, the offset
moved only past entries that are one or the other.

A sync job lists each feed (no more often than CodaBox's fetch_delay), and for each entry:
- a bank statement (document model ``coda``) is downloaded in the chosen format, read by its content (CODA or
  camt.053) and ingested through the same path as uploads, with the company's enterprise number as the only
  holder it accepts;
- any other document model is recorded as ``skipped``;
- a statement of another enterprise is recorded as ``foreign``, nothing of it is stored, the connection goes to
  ``mismatch`` and the sync stops (until an admin resumes or disconnects);
- a file that can never be stored is recorded as ``failed``; one that arrives cut off is downloaded again first;
  one whose storing keeps failing for another reason (a database error, a bug) is tried a bounded number of
  times, then recorded as ``failed`` with its error, so that it never blocks the entries after it.
A failed download stops the sync (retried later) before the offset moves.

This is one of CodaBox's two halves (the other, forwarding invoices, is ``delivery.py``; they share only
``connection.py``): its feed is a statement source (``statements/sources.py``) like an upload, and its files go
through the one ingestion path (``statements.service.ingest_statement_file``). It also owns when a feed may
be polled (CodaBox's fetch_delay), the sync job, and what pod-client says about whom the credentials serve.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.codabox.client import (
    DEFAULT_FETCH_DELAY,
    CodaboxClient,
    CodaboxError,
    Credentials,
    FeedEntry,
    PodClient,
)
from app.codabox.connection import client, connection, credentials
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.companies.models import Company
from app.core import metrics
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import AppError, Conflict, ValidationFailed
from app.core.events import record_event
from app.core.outbox import RetryableJobError, enqueue
from app.core.outbox_models import Job
from app.core.timeutil import utcnow
from app.reconciliation.names import name_similarity
from app.statements import service as statements
from app.statements.service import ForeignStatement
from app.statements.sources import ReceivedFile

log = logging.getLogger(__name__)

SYNC = "codabox.sync"

#: Entries already settled one way or another: never downloaded again.
#: ``duplicate``: every statement in the entry was stored before (uploaded, or from another feed entry).
SETTLED = ("ingested", "duplicate", "failed", "skipped", "foreign")


@dataclass(frozen=True)
class _Link:
    """One company's CodaBox bank feed, as a statement source (``statements/sources.py``)."""

    company_id: str
    company_name: str
    holder: str  # the company's enterprise number, BE0123456789: the only holder its statements may name
    creds: Credentials
    name: str = "codabox"  # stored with each file it brings


def sync_company(job: Job) -> None:
    company_id = job.payload["company_id"]
    with unit_of_work(read_only=True) as session:
        creds = credentials(session, company_id)  # None unless connected: a mismatch stops here
        company = session.get(Company, company_id)
        conn = session.get(CodaboxConnection, company_id)
        due = next_poll_at(conn) if conn else None
    if creds is None or company is None:
        return
    # CodaBox's fetch_delay spaces polls out, whoever asks; a retry of a sync that failed half-way may go on.
    if job.attempts <= 1 and due is not None and due > utcnow():
        log.info("CodaBox feed of company %s not polled: fetch_delay runs until %s", company_id, due)
        return
    link = _Link(company_id, company.name, company.vat, creds)
    try:
        with client() as cb:
            pod = cb.pod_client(creds)
            fmt = pod.statement_format(get_settings().codabox_statement_format)
            for feed_id in pod.feed_ids:
                entries = cb.feed(creds, feed_id)
                _note_poll(link, pod)
                for entry in entries:
                    outcome = _take(cb, link, feed_id, entry, fmt)
                    # Only once the entry is stored (or was before, or is recorded as not ingested).
                    cb.commit_offset(creds, feed_id, entry.feed_index)
                    if outcome == "foreign":
                        _note_sync(company_id, "stopped: a statement of another enterprise (see mismatch)")
                        return
    except CodaboxError as exc:
        _note_sync(company_id, str(exc))
        raise RetryableJobError(str(exc)) from None
    except RetryableJobError as exc:
        _note_sync(company_id, str(exc))
        raise
    _note_sync(company_id, None)


def _take(cb: CodaboxClient, link: _Link, feed_id: str, entry: FeedEntry, fmt: str) -> str:
    """Settle one feed entry; its outcome (ingested, duplicate, failed, skipped, foreign)."""
    with unit_of_work(read_only=True) as session:
        seen = session.get(CodaboxFeedEntry, entry.feed_index)
        if seen is not None and seen.status in SETTLED:
            return seen.status
    model = entry.document_model.lower()
    if model != "coda":
        reason = f"document model {entry.document_model or '(none)'!r} is not a bank statement: not read"
        _record(link.company_id, feed_id, entry, "skipped", reason)
        return "skipped"
    return _ingest_entry(cb, link, feed_id, entry, fmt)


def _ingest_entry(cb: CodaboxClient, link: _Link, feed_id: str, entry: FeedEntry, fmt: str) -> str:
    data = cb.download(link.creds, entry.feed_index, fmt)  # a failure here stops the sync before the offset moves
    try:
        with unit_of_work() as session:
            # Read by content, whatever the format asked for: CODA or camt.053, anything else refused.
            result = statements.ingest_statement_file(session, link.company_id, ReceivedFile(data, link))
            row = session.get(CodaboxFeedEntry, entry.feed_index) or _new_row(link.company_id, feed_id, entry)
            # As the API says it: a file whose statements were all stored before is a duplicate, not news.
            outcome = "ingested" if result.created else "duplicate"
            row.status, row.ingested_at, row.attempts = outcome, utcnow(), row.attempts + 1
            row.coda_file_id = result.response.file_id
            session.add(row)
        metrics.CODABOX_ENTRIES.labels(outcome).inc()
        return outcome
    except ForeignStatement as exc:
        _record(link.company_id, feed_id, entry, "foreign", exc.detail, holder=exc.holder_number)
        with unit_of_work() as session:
            mismatch(session, link.company_id, entry.feed_index, exc.holder_number, exc.detail)
        log.warning("CodaBox entry %s for company %s: %s", entry.feed_index, link.company_id, exc.detail)
        return "foreign"
    except ValidationFailed as exc:
        if not exc.extra.get("incomplete"):
            return _set_aside(link.company_id, feed_id, entry, exc)
        # Cut off on the way: download it again on the next sync, before the offset moves past it.
        attempts = _note_attempt(link.company_id, feed_id, entry, exc.detail)
        if attempts >= INCOMPLETE_DOWNLOAD_ATTEMPTS:
            return _set_aside(link.company_id, feed_id, entry, exc)
        raise RetryableJobError(f"feed entry {entry.feed_index} arrived incomplete: {exc.detail}") from None
    except Conflict as exc:
        return _set_aside(link.company_id, feed_id, entry, exc)
    except Exception as exc:  # not the file's fault as far as we can tell: try again, but not forever
        error = _describe(exc)
        log.exception("CodaBox entry %s for company %s could not be stored", entry.feed_index, link.company_id)
        attempts = _note_attempt(link.company_id, feed_id, entry, error)
        if attempts >= STORE_ATTEMPTS:
            return _set_aside(link.company_id, feed_id, entry, AppError(f"gave up after {attempts} attempts: {error}"))
        raise RetryableJobError(f"feed entry {entry.feed_index} could not be stored: {error}") from None


#: How often a feed entry that arrives cut off is downloaded again before it is set aside as failed.
INCOMPLETE_DOWNLOAD_ATTEMPTS = 5
#: How often storing an entry may fail for any other reason before it is set aside as failed.
STORE_ATTEMPTS = 5


def _describe(exc: Exception) -> str:
    """One line about an unexpected error, without SQL or its parameters (they carry IBANs and names)."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return f"database error ({type(exc.orig).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _new_row(company_id: str, feed_id: str, entry: FeedEntry) -> CodaboxFeedEntry:
    return CodaboxFeedEntry(
        feed_index=entry.feed_index, company_id=company_id, feed_id=feed_id, document_model=entry.document_model
    )


def _note_attempt(company_id: str, feed_id: str, entry: FeedEntry, error: str) -> int:
    with unit_of_work() as session:
        row = session.get(CodaboxFeedEntry, entry.feed_index) or _new_row(company_id, feed_id, entry)
        row.attempts, row.last_error = row.attempts + 1, error
        session.add(row)
        return row.attempts


def _record(
    company_id: str, feed_id: str, entry: FeedEntry, outcome: str, reason: str, *, holder: str | None = None
) -> None:
    """An entry that is not ingested, kept with why (the status shows it, the metrics count it)."""
    with unit_of_work() as session:
        row = session.get(CodaboxFeedEntry, entry.feed_index) or _new_row(company_id, feed_id, entry)
        row.status, row.last_error, row.holder_number = outcome, reason, holder
        row.attempts = max(row.attempts, 1)
        session.add(row)
    metrics.CODABOX_ENTRIES.labels(outcome).inc()


def _set_aside(company_id: str, feed_id: str, entry: FeedEntry, exc: AppError) -> str:
    """The file can never be stored as it is: keep it aside for a person and move on."""
    log.warning("CodaBox entry %s for company %s refused: %s", entry.feed_index, company_id, exc.detail)
    _record(company_id, feed_id, entry, "failed", exc.detail)
    return "failed"


def _note_poll(link: _Link, pod: PodClient) -> None:
    """The feed was listed: fetch_delay counts from now; what pod-client said is kept for the status."""
    with unit_of_work() as session:
        conn = connection(session, link.company_id)
        conn.last_polled_at = utcnow()
        note_pod(conn, pod, link.company_name)
        session.add(conn)


def _note_sync(company_id: str, error: str | None) -> None:
    with unit_of_work() as session:
        conn = connection(session, company_id)
        conn.last_sync_at, conn.last_error = utcnow(), error
        session.add(conn)


def poll_connected() -> None:
    """Periodic: a sync job for every connected company whose fetch_delay has passed (one waiting at most)."""
    if not get_settings().codabox_enabled:
        return
    now = utcnow()
    with unit_of_work() as session:
        for conn in session.exec(
            select(CodaboxConnection)
            .where(CodaboxConnection.state == "connected")
            .order_by(col(CodaboxConnection.company_id))
        ):
            due = next_poll_at(conn)
            if due is None or due <= now:
                queue_sync(session, conn.company_id)


# -- when the feed may be polled, and what the link says ------------------------------------------------------


def next_poll_at(conn: CodaboxConnection) -> datetime | None:
    """When CodaBox lets this company's feed be polled again (its fetch_delay after the last poll); None: now."""
    if conn.last_polled_at is None:
        return None
    return conn.last_polled_at + timedelta(seconds=fetch_delay(conn))


def fetch_delay(conn: CodaboxConnection) -> int:
    return DEFAULT_FETCH_DELAY if conn.fetch_delay is None else conn.fetch_delay


def queue_sync(session: Session, company_id: str, *, expedite: bool = False) -> bool:
    """A sync job for the company, unless one waits already (one per company: the dedupe key)."""
    job = enqueue(
        session,
        SYNC,
        {"company_id": company_id},
        company_id=company_id,
        dedupe_key=f"sync:{company_id}",
        expedite=expedite,
    )
    return job is not None


def note_pod(conn: CodaboxConnection, pod: PodClient, company_name: str) -> None:
    """What pod-client says, kept for the status: whom the credentials serve, the fetch delay, the format.

    CodaBox gives names, not numbers: a name unlike the company's is a warning for a person to read, never a
    refusal (an accountant may know the client by a trade name); the statements' holders decide."""
    conn.feed_clients = [{"id": f.id, "name": f.name, "code": f.code} for f in pod.feed_clients]
    conn.fetch_delay = pod.fetch_delay
    conn.statement_format = pod.statement_format(get_settings().codabox_statement_format)
    names = [f.name for f in pod.feed_clients if f.name]
    if names and max(name_similarity(name, company_name) for name in names) < NAME_WARNING_BELOW:
        conn.name_warning = (
            f"CodaBox names these credentials' client {', '.join(repr(n) for n in names)}, which does not look like "
            f"{company_name!r}: check that the token was this company's (statements of another enterprise are "
            "refused either way)"
        )
    else:
        conn.name_warning = None


#: A feed client's name scoring below this against the company's name (0-100, as matching scores payer names)
#: makes the status warn.
NAME_WARNING_BELOW = 60


def mismatch(session: Session, company_id: str, feed_index: str, holder: str | None, detail: str) -> None:
    """A statement of another enterprise came through the company's feed: stop syncing, say so, tell."""
    conn = connection(session, company_id)
    conn.state, conn.updated_at = "mismatch", utcnow()
    conn.mismatch = f"feed entry {feed_index} holds a statement of enterprise {holder}: {detail}"
    session.add(conn)
    session.flush()
    record_event(
        session,
        company_id,
        "codabox.mismatch",
        company_id,
        {
            "data": {"state": "mismatch", "mismatch": conn.mismatch, "feed_index": feed_index, "holder": holder},
            "change": {"state": "mismatch"},
        },
    )
