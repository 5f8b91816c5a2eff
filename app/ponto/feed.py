"""Reading a company's bank through Ponto Connect: a job per company, on a schedule and on Ponto's webhooks.

One run (``sync_company``):
1. a working access token (``connection.access_token``: refreshed and its rotated refresh token kept first);
2. the integration's accounts: new ones noted, ones no longer listed revoked (``account.revoked``), consent
   dates kept, a reauthorization link made (``consent.expiring``) when the consent ends within the warning days;
3. on the schedule (not on a webhook, which says Ponto synchronized already): a synchronization of each
   readable account, subtype ``accountTransactionsWithUnsettled`` (booked and pending), awaited a few seconds.
   Ponto's cool-down (400 ``accountRecentlySynchronized``) means "read what is there";
4. the booked transactions newer than the last one read, by position (never by date), each stored once by
   Ponto's id: the readable ones as one batch through the same ingestion as CODA and camt.053 (matching,
   events), the unreadable ones set aside with why; the position moves past both, in the same transaction;
5. the pending transactions (``pending_feed.py``);
6. the transactions the synchronization changed (``updated-transactions``), upserted by id: one nobody has
   settled yet takes its new description and is matched again; money and day never change.
Ponto down or busy: the job is retried with backoff (``RetryableJobError``). A revoked integration stops it
with state ``revoked``; a lapsed consent stops that account (``consent_expired``) until the user renews it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core import metrics
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import AppError, Conflict, ValidationFailed
from app.core.outbox import RetryableJobError, enqueue
from app.core.outbox_models import Job
from app.core.timeutil import as_utc, utcnow
from app.ponto import connection as link
from app.ponto.client import PontoAuthError, PontoClient, PontoError
from app.ponto.events import account_revoked, consent_ends_soon, consent_expiring
from app.ponto.models import PontoAccount, PontoConnection, PontoTransaction
from app.ponto.pending_feed import note_pending
from app.reconciliation.locks import lock_company_ledger
from app.reconciliation.service import match_transactions
from app.statements import service as statements
from app.statements.models import BankTransaction, MovementTwin
from app.statements.ponto_reader import (
    PontoTransactionError,
    account_iban,
    batch_bytes,
    instant,
    read_transaction,
)
from app.statements.sources import ReceivedFile

log = logging.getLogger(__name__)

SYNC = "ponto.sync"
SUBTYPE = "accountTransactionsWithUnsettled"
#: How long a run waits for a synchronization it started before reading what is there.
SYNCHRONIZATION_WAIT_SECONDS = 20.0
#: Errors of a synchronization that mean the account's consent is gone (ponto-api.md §6).
CONSENT_ERRORS = ("authorizationInvalid", "authorizationExpired")


class _Source:
    """The Ponto feed as a statement source (``statements/sources.py``)."""

    name = "ponto"
    holder = None  # Ponto names no enterprise number: each account is judged by its owner, as uploads are


SOURCE = _Source()


def queue_sync(session: Session, company_id: str, *, synchronize: bool = True, expedite: bool = False) -> bool:
    """A sync job for the company, unless one waits already. ``synchronize``: ask Ponto to synchronize with the
    bank first (the schedule, a person); a webhook's job only reads what Ponto has.

    The request is kept on the connection, not in the job: a person's "sync now" that meets a webhook's read
    waiting (or running) is not lost in it; the next run makes the synchronization."""
    if synchronize:
        conn = session.get(PontoConnection, company_id)
        if conn is not None:
            conn.synchronize_requested = True
            session.add(conn)
    job = enqueue(
        session,
        SYNC,
        {"company_id": company_id},
        company_id=company_id,
        dedupe_key=f"ponto-sync:{company_id}",
        expedite=expedite,
    )
    return job is not None


def sync_company(job: Job) -> None:
    company_id = job.payload["company_id"]
    synchronize = _requested(company_id, take=True)
    done = False
    try:
        done = _sync(company_id, synchronize)
    finally:
        if synchronize and not done:
            _requested(company_id, take=False)  # the synchronization asked for is still owed: the retry makes it


def _sync(company_id: str, synchronize: bool) -> bool:
    """One run; False when it did not get through (it is retried)."""
    try:
        with link.client() as api:
            token = _token(company_id, api)
            if token is None:
                return True
            accounts = _accounts(company_id, api, token)
            for account, latest in accounts:
                _sync_account(company_id, api, token, account, latest, synchronize)
    except PontoError as exc:  # down, busy, a token that just ran out, a refusal: said, and tried again later
        _note_sync(company_id, str(exc))
        raise RetryableJobError(str(exc)) from None
    except link.NotConnected:
        return True
    except Conflict as exc:  # not configured any more
        log.warning("Ponto sync of company %s not run: %s", company_id, exc.detail)
        return True
    _note_sync(company_id, None, synchronized=synchronize)
    return True


def _requested(company_id: str, *, take: bool) -> bool:
    """take: whether a synchronization was asked for, clearing the request (a request made during this run is
    the next run's); else ask again."""
    with unit_of_work() as session:
        conn = session.get(PontoConnection, company_id)
        if conn is None:
            return False
        asked = conn.synchronize_requested
        conn.synchronize_requested = not take
        session.add(conn)
        return asked


def _token(company_id: str, api: PontoClient) -> str | None:
    try:
        return link.access_token(company_id, api)
    except link.NotConnected:
        return None


def _accounts(company_id: str, api: PontoClient, token: str) -> list[tuple[PontoAccount, str | None]]:
    """The integration's accounts as Ponto lists them now, kept; the readable ones."""
    try:
        listed = api.accounts(token)
    except PontoAuthError:
        listed = api.accounts(link.access_token(company_id, api, force=True))
    now = utcnow()
    readable: list[tuple[PontoAccount, str | None]] = []  # with Ponto's latest synchronization of each
    with unit_of_work() as session:
        known = {a.id: a for a in session.exec(select(PontoAccount).where(PontoAccount.company_id == company_id))}
        seen: set[str] = set()
        for resource in listed:
            attributes = resource.get("attributes") or {}
            try:
                iban, currency = account_iban(resource)
            except ValueError:
                continue  # a card or a non-IBAN account: not a bank account statements are read for
            account = known.get(str(resource.get("id"))) or PontoAccount(
                id=str(resource.get("id")), company_id=company_id, iban=iban, currency=currency
            )
            seen.add(account.id)
            meta = resource.get("meta") or {}
            account.description = (attributes.get("description") or None) and str(attributes["description"])[:200]
            account.availability = meta.get("availability") or "available"
            account.authorized_at = instant(attributes.get("authorizedAt"))
            expires = instant(attributes.get("authorizationExpirationExpectedAt"))
            renewed = expires is not None and expires != _utc(account.consent_expires_at)
            if renewed:
                account.reauthorization_url = None  # the old link is spent
            account.consent_expires_at = expires
            if account.state == "revoked":
                account.state = "active"  # listed again: the company added it back
            # A consent the bank refused stays refused until it is renewed (a new end date, or the webhook).
            if account.state == "consent_expired" and renewed and expires is not None and expires > now:
                account.state, account.last_error = "active", None
            if expires and expires <= now:
                account.state = "consent_expired"
            account.updated_at = now
            session.add(account)
            if account.state == "active" and consent_ends_soon(account):
                _offer_reauthorization(session, api, token, account)
            latest = (meta.get("latestSynchronization") or {}).get("id")
            if account.state == "active" and account.availability != "readonly":
                readable.append((account, str(latest)[:64] if latest else None))
        for account in known.values():
            if account.id not in seen and account.state != "revoked":
                account_revoked(session, account, "Ponto no longer lists the account in the integration")
        session.flush()
        for account, _ in readable:
            session.expunge(account)
    return readable


def _offer_reauthorization(session: Session, api: PontoClient, token: str, account: PontoAccount) -> None:
    """Once per consent end: a link for the company's user, and a ``consent.expiring`` event carrying it."""
    if account.reauthorization_for is not None and _utc(account.reauthorization_for) == _utc(
        account.consent_expires_at
    ):
        return
    try:
        account.reauthorization_url = api.reauthorization_link(token, account.id, get_settings().ponto_redirect_uri)
    except PontoError as exc:
        log.warning("Ponto reauthorization link for account %s not made: %s", account.id, exc)
        account.reauthorization_url = None
    account.reauthorization_for = account.consent_expires_at
    session.add(account)
    consent_expiring(session, account)


def _sync_account(
    company_id: str, api: PontoClient, token: str, account: PontoAccount, latest: str | None, synchronize: bool
) -> None:
    """Synchronize (when asked), read what is new, pending items, and what the synchronization changed (ours, or
    Ponto's latest one when a webhook asked: ``latest``)."""
    synchronization = latest
    if synchronize:
        started = api.start_synchronization(token, account.id, SUBTYPE)
        if started is not None:
            if not _finished(company_id, api, token, account, str(started.get("id"))):
                return
            synchronization = str(started.get("id"))
    items = api.transactions_since(token, account.id, account.last_transaction_id)
    if items:
        _store(company_id, account, items)
    if synchronization and synchronization != account.updates_read_for:
        _apply_updates(company_id, account.id, synchronization, api.updated_transactions(token, synchronization))
    pending = api.pending_transactions(token, account.id)
    with unit_of_work() as session:
        note_pending(session, company_id, account.iban, account.currency, pending)


def _finished(company_id: str, api: PontoClient, token: str, account: PontoAccount, sync_id: str) -> bool:
    """Wait for the synchronization; False when it failed for a consent that is gone (the account stops)."""
    deadline = time.monotonic() + SYNCHRONIZATION_WAIT_SECONDS
    delay = 0.2
    while True:
        attributes = api.synchronization(token, sync_id).get("attributes") or {}
        status = attributes.get("status")
        if status == "success":
            return True
        if status == "error":
            codes = [str(e.get("code")) for e in attributes.get("errors") or [] if isinstance(e, dict)]
            if any(code in CONSENT_ERRORS for code in codes):
                with unit_of_work() as session:
                    stored = session.get(PontoAccount, account.id)
                    if stored is not None:
                        stored.state = "consent_expired"
                        stored.last_error = f"the bank refused Ponto's synchronization: {', '.join(codes)}"
                        session.add(stored)
                return False
            log.warning("Ponto synchronization %s of account %s failed: %s", sync_id, account.id, codes)
            return True  # read what Ponto has; the next run tries again
        if time.monotonic() > deadline:
            return True  # still running: read what is there, the rest comes with the next run or webhook
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _store(company_id: str, account: PontoAccount, items: list[dict[str, Any]]) -> None:
    """One batch: every item new to us stored once (readable ones through ingestion, the others set aside), and
    the position moved past them, all in one transaction."""
    try:
        _store_batch(company_id, account, items)
    except (ValidationFailed, Conflict) as exc:
        # The whole batch cannot be stored (say, the account is another company's): nothing of it was, the
        # position stays, the job tries again later, and the status says why.
        _note_refused_batch(company_id, account, exc)
        raise RetryableJobError(f"Ponto batch of account {account.id} not stored: {exc.detail}") from None


def _store_batch(company_id: str, account: PontoAccount, items: list[dict[str, Any]]) -> None:
    newest = str(items[-1].get("id"))
    with unit_of_work() as session:
        ids = [str(item.get("id")) for item in items if item.get("id")]
        seen = {
            row.id: row
            for row in session.exec(
                select(PontoTransaction).where(
                    col(PontoTransaction.id).in_(ids), PontoTransaction.company_id == company_id
                )
            )
        }
        fresh, aside = [], []
        for number, item in enumerate(items, start=1):
            ponto_id = str(item.get("id") or "")
            if ponto_id in seen:
                _updated(session, seen[ponto_id], item)
                continue
            try:
                parsed = read_transaction(item, number)
                if (item.get("attributes") or {}).get("currency", account.currency) != account.currency:
                    raise PontoTransactionError(
                        f"currency {(item.get('attributes') or {}).get('currency')!r} is not the account's", "currency"
                    )
            except PontoTransactionError as exc:
                aside.append((ponto_id or f"(item {number})", item, exc))
                continue
            fresh.append((item, parsed))
        stored = session.get(PontoAccount, account.id) or account
        for ponto_id, item, exc in aside:
            metrics.PONTO_TRANSACTIONS.labels("set_aside").inc()
            log.warning("Ponto transaction %s of company %s set aside: %s", ponto_id, company_id, exc.message)
            session.add(
                PontoTransaction(
                    id=ponto_id[:64],
                    company_id=company_id,
                    account_id=account.id,
                    status="set_aside",
                    error=f"{exc.field}: {exc.message}",
                    raw=item,
                )
            )
        if fresh:
            stored.batches += 1
            data = batch_bytes(_account_resource(stored), stored.batches, utcnow(), [item for item, _ in fresh])
            result = statements.ingest_statement_file(session, company_id, ReceivedFile(data, SOURCE))
            _record(session, company_id, account.id, fresh, result.response.statements[0].id)
        stored.last_transaction_id = newest
        stored.synchronized_at = utcnow()
        session.add(stored)


def _account_resource(account: PontoAccount) -> dict[str, Any]:
    return {
        "type": "account",
        "id": account.id,
        "attributes": {"reference": account.iban, "referenceType": "IBAN", "currency": account.currency},
    }


def _record(session: Session, company_id: str, account_id: str, fresh: list[Any], statement_id: str) -> None:
    """Which transaction each Ponto id became: its own, or the one a bank file brought before (a twin)."""
    own = dict(
        session.exec(
            select(BankTransaction.bank_reference, BankTransaction.id).where(
                BankTransaction.statement_id == statement_id
            )
        ).all()
    )
    twins = dict(
        session.exec(
            select(MovementTwin.bank_reference, MovementTwin.transaction_id).where(
                MovementTwin.statement_id == statement_id
            )
        ).all()
    )
    for item, parsed in fresh:
        ponto_id = str(item["id"])
        status = "stored" if ponto_id in own else "known"
        metrics.PONTO_TRANSACTIONS.labels(status).inc()
        session.add(
            PontoTransaction(
                id=ponto_id,
                company_id=company_id,
                account_id=account_id,
                status=status,
                transaction_id=own.get(ponto_id) or twins.get(ponto_id),
                booking_date=parsed.booking_date,
                raw=item,
            )
        )


def _note_refused_batch(company_id: str, account: PontoAccount, exc: AppError) -> None:
    log.warning("Ponto batch of account %s for company %s refused: %s", account.id, company_id, exc.detail)
    with unit_of_work() as session:
        conn = session.get(PontoConnection, company_id)
        if conn is not None:
            conn.last_error = f"account {account.iban}: {exc.detail}"
            session.add(conn)


def _apply_updates(company_id: str, account_id: str, synchronization: str, items: list[dict[str, Any]]) -> None:
    """The transactions a synchronization changed (``updated-transactions``): upserted by Ponto's id."""
    with unit_of_work() as session:
        ids = [str(item.get("id")) for item in items if item.get("id")]
        known = (
            {
                row.id: row
                for row in session.exec(
                    select(PontoTransaction).where(
                        col(PontoTransaction.id).in_(ids), PontoTransaction.company_id == company_id
                    )
                )
            }
            if ids
            else {}
        )
        changed = [
            tx for item in items if (row := known.get(str(item.get("id")))) and (tx := _updated(session, row, item))
        ]
        if changed:
            lock_company_ledger(session, company_id)
            match_transactions(session, company_id, changed)
        account = session.get(PontoAccount, account_id)
        if account is not None:
            account.updates_read_for = synchronization
            session.add(account)


def _updated(session: Session, row: PontoTransaction, item: dict[str, Any]) -> str | None:
    """Ponto changed a transaction it gave before: keep its newest JSON. A payment nobody settled yet takes the
    new description (a remittance filled in later) and is matched again: the id to match. Money already
    settled stays as booked (the ledger's allocations are the truth); a changed amount or day is logged."""
    if row.raw == item:
        return None
    row.raw, row.updates, row.updated_at = item, row.updates + 1, utcnow()
    session.add(row)
    if row.status != "stored" or row.transaction_id is None:
        return None
    try:
        parsed = read_transaction(item, 1)
    except PontoTransactionError as exc:
        log.warning("Ponto transaction %s changed into something unreadable (%s): kept as it was", row.id, exc)
        return None
    tx = session.get(BankTransaction, row.transaction_id)
    if tx is None:
        return None
    if (parsed.amount, parsed.booking_date) != (tx.amount, tx.booking_date):
        log.warning("Ponto transaction %s changed its amount or day: kept as booked", row.id)
        return None
    if tx.status not in ("unmatched", "suggested"):
        return None
    fresh = {
        "communication": parsed.communication,
        "structured_type": parsed.structured_type,
        "structured_content": parsed.structured_content,
        "structured_reference": parsed.structured_reference,
        "counterparty_name": parsed.counterparty.name,
        "counterparty_iban": parsed.counterparty.iban,
        "end_to_end_reference": parsed.end_to_end_reference,
    }
    if all(getattr(tx, key) == value for key, value in fresh.items()):
        return None
    for key, value in fresh.items():
        setattr(tx, key, value)
    session.add(tx)
    session.flush()
    return tx.id


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _note_sync(company_id: str, error: str | None, *, synchronized: bool = False) -> None:
    with unit_of_work() as session:
        conn = session.get(PontoConnection, company_id)
        if conn is None:
            return
        conn.last_sync_at, conn.last_error = utcnow(), error
        if synchronized and error is None:
            conn.last_synchronized_at = utcnow()
        session.add(conn)


def poll_connected() -> None:
    """Periodic: a sync (with a synchronization) for every connected company whose interval has passed."""
    if not link.configured():
        return
    due = utcnow() - timedelta(seconds=get_settings().ponto_sync_seconds)
    with unit_of_work() as session:
        for conn in session.exec(
            select(PontoConnection)
            .where(PontoConnection.state == "connected")
            .order_by(col(PontoConnection.company_id))
        ):
            last = conn.last_synchronized_at
            if last is None or as_utc(last) <= due:
                queue_sync(session, conn.company_id)
