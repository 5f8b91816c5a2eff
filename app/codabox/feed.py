"""Reading a company's CODA feed from CodaBox: every entry stored exactly once, the offset after storage.

A sync job lists each feed, downloads each CODA entry, ingests it through the same path as uploads, and only
then commits the feed offset past it. A failed download stops the sync (retried later); an entry ingested
before (re-delivery) is not downloaded again, and the offset still moves. A file that can never be stored
is set aside as failed; one that arrives cut off is downloaded again first; one whose storing keeps failing
for another reason (a database error, a bug) is tried a bounded number of times, then set aside as failed
with its error, so that it never blocks the entries after it.
"""

from __future__ import annotations

import logging

from sqlmodel import select

from app.codabox.client import (
    CodaboxClient,
    CodaboxError,
    Credentials,
)
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.codabox.service import SYNC, client, connection, credentials
from app.config import get_settings
from app.db import unit_of_work
from app.errors import AppError, Conflict, ValidationFailed
from app.outbox import RetryableJobError, enqueue
from app.outbox_models import Job
from app.timeutil import utcnow

log = logging.getLogger(__name__)


def sync_company(job: Job) -> None:
    company_id = job.payload["company_id"]
    with unit_of_work(read_only=True) as session:
        creds = credentials(session, company_id)
    if creds is None:
        return
    try:
        with client() as cb:
            pod = cb.pod_client(creds)
            preferred = get_settings().codabox_statement_format
            fmt = preferred if preferred in pod.allowed_formats else "cod"
            for feed_id in pod.feed_ids:
                for entry in cb.feed(creds, feed_id):
                    if entry.document_model.lower() == "coda":
                        _ingest_entry(cb, creds, company_id, feed_id, entry.feed_index, fmt)
                    # Commit only once the entry is safely stored (or was before, or is set aside as failed).
                    cb.commit_offset(creds, feed_id, entry.feed_index)
    except CodaboxError as exc:
        _note_sync(company_id, str(exc))
        raise RetryableJobError(str(exc)) from None
    except RetryableJobError as exc:
        _note_sync(company_id, str(exc))
        raise
    _note_sync(company_id, None)


def _ingest_entry(
    cb: CodaboxClient, creds: Credentials, company_id: str, feed_id: str, feed_index: str, fmt: str = "cod"
) -> None:
    from app.statements.service import ingest_coda

    with unit_of_work(read_only=True) as session:
        seen = session.get(CodaboxFeedEntry, feed_index)
        if seen is not None and seen.status in ("ingested", "failed"):
            return
    data = cb.download(creds, feed_index, fmt)  # a failure here stops the sync before the offset moves
    try:
        with unit_of_work() as session:
            result = ingest_coda(session, company_id, data, source="codabox")
            entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
                feed_index=feed_index, company_id=company_id, feed_id=feed_id
            )
            entry.status, entry.ingested_at, entry.attempts = "ingested", utcnow(), entry.attempts + 1
            entry.coda_file_id = result.response.file_id
            session.add(entry)
    except ValidationFailed as exc:
        if not exc.extra.get("incomplete"):
            _set_aside(company_id, feed_id, feed_index, exc)
            return
        # Cut off on the way: download it again on the next sync, before the offset moves past it.
        attempts = _note_attempt(company_id, feed_id, feed_index, exc.detail)
        if attempts >= INCOMPLETE_DOWNLOAD_ATTEMPTS:
            _set_aside(company_id, feed_id, feed_index, exc)
            return
        raise RetryableJobError(f"feed entry {feed_index} arrived incomplete: {exc.detail}") from None
    except Conflict as exc:
        _set_aside(company_id, feed_id, feed_index, exc)
    except Exception as exc:  # not the file's fault as far as we can tell: try again, but not forever
        error = _describe(exc)
        log.exception("CodaBox entry %s for company %s could not be stored", feed_index, company_id)
        attempts = _note_attempt(company_id, feed_id, feed_index, error)
        if attempts >= STORE_ATTEMPTS:
            _set_aside(company_id, feed_id, feed_index, AppError(f"gave up after {attempts} attempts: {error}"))
            return
        raise RetryableJobError(f"feed entry {feed_index} could not be stored: {error}") from None


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


def _note_attempt(company_id: str, feed_id: str, feed_index: str, error: str) -> int:
    with unit_of_work() as session:
        entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
            feed_index=feed_index, company_id=company_id, feed_id=feed_id
        )
        entry.attempts, entry.last_error = entry.attempts + 1, error
        session.add(entry)
        return entry.attempts


def _set_aside(company_id: str, feed_id: str, feed_index: str, exc: AppError) -> None:
    """The file can never be stored as it is: keep it aside for a person and move on."""
    log.warning("CodaBox entry %s for company %s refused: %s", feed_index, company_id, exc.detail)
    with unit_of_work() as session:
        entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
            feed_index=feed_index, company_id=company_id, feed_id=feed_id, attempts=1
        )
        entry.status, entry.last_error = "failed", exc.detail
        session.add(entry)


def _note_sync(company_id: str, error: str | None) -> None:
    with unit_of_work() as session:
        conn = connection(session, company_id)
        conn.last_sync_at, conn.last_error = utcnow(), error
        session.add(conn)


def poll_connected() -> None:
    """Periodic: a sync job for every connected company (at most one waiting per company)."""
    if not get_settings().codabox_enabled:
        return
    with unit_of_work() as session:
        for company_id in session.exec(
            select(CodaboxConnection.company_id).where(CodaboxConnection.state == "connected")
        ):
            enqueue(session, SYNC, {"company_id": company_id}, company_id=company_id, dedupe_key=f"sync:{company_id}")
