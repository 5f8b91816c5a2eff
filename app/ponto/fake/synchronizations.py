"""Synchronizations of the stand-in (pending -> running -> success or error): the cool-down, the steps a
synchronization takes, and what a finished one brings in from the bank (balance, booked and pending
transactions, updated-transactions) and the webhooks it sends.

`SynchronizationMixin` holds the methods; the fields they work on are `FakePontoState`'s (app.ponto.fake.state),
``_emit`` is `WebhookMixin`'s (app.ponto.fake.webhooks)."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.ponto.fake.records import FakeError, FakeSynchronization, FakeTransaction


class SynchronizationMixin:
    """The synchronization methods of `FakePontoState`."""

    def _create_synchronization(
        self, organization_id: str, account_id: str, subtype: str, customer_ip: str | None
    ) -> FakeSynchronization:
        account = self.accounts.get(account_id)
        if account is None or account.organization_id != organization_id:
            raise FakeError(404, "resourceNotFound", "The account was not found.", resource="account")
        now = self.clock()
        last = self._last_sync.get((account_id, subtype))
        if last is not None and (now - last).total_seconds() < self.cooldown_seconds:
            raise FakeError(
                400,
                "accountRecentlySynchronized",
                "A synchronization of this type was created for this account a short while ago; try again later.",
            )
        self._last_sync[(account_id, subtype)] = now
        sync = FakeSynchronization(
            id=str(uuid.uuid4()),
            account_id=account_id,
            organization_id=organization_id,
            subtype=subtype,
            status="pending",
            created_at=now,
            updated_at=now,
            steps_left=self.sync_steps,
            customer_ip=customer_ip,
        )
        self.synchronizations[sync.id] = sync
        if self.sync_steps <= 0:
            self._complete(sync)
        return sync

    def _advance_synchronization(self, sync: FakeSynchronization) -> None:
        if sync.status not in ("pending", "running"):
            return
        sync.steps_left -= 1
        if sync.steps_left <= 0:
            self._complete(sync)
        else:
            sync.status, sync.updated_at = "running", self.clock()

    def complete_synchronizations(self) -> int:
        """Finish every unfinished synchronization now (for clients that wait for webhooks); how many."""
        with self.lock:
            waiting = [s for s in self.synchronizations.values() if s.status in ("pending", "running")]
            for sync in waiting:
                self._complete(sync)
            return len(waiting)

    def _refresh(self, tx: FakeTransaction, now: datetime) -> str | None:
        """What a synchronization does to one bank movement: shows a new one ("created"), the bank's latest
        version of a shown one ("updated"), or nothing (None)."""
        if tx.seq is None:
            self._make_visible(tx, now)
            return "created"
        if tx.version != tx.shown_version:
            self._show(tx)
            tx.updated_at = now
            return "updated"
        return None

    def _make_visible(self, tx: FakeTransaction, now: datetime) -> None:
        self._seq += 1
        tx.seq, tx.created_at, tx.updated_at = self._seq, now, now
        self._show(tx)

    def _show(self, tx: FakeTransaction) -> None:
        tx.shown_fields, tx.shown_raw, tx.shown_version = dict(tx.fields), dict(tx.raw), tx.version

    def _complete(self, sync: FakeSynchronization) -> None:
        now = self.clock()
        account = self.accounts[sync.account_id]
        sync.updated_at = now
        relationships = {
            "account": account.id,
            "synchronization": sync.id,
            "organization": account.organization_id,
        }
        if account.consent_revoked or now >= account.expires_at:
            code, detail = (
                ("authorizationInvalid", "The authorization for this account was revoked; ask for a reauthorization.")
                if account.consent_revoked
                else ("authorizationExpired", "The authorization for this account has expired; ask to reauthorize.")
            )
            sync.status, sync.errors = "error", [{"code": code, "detail": detail, "meta": {}}]
            self._emit("pontoConnect.synchronization.failed", {"synchronizationSubtype": sync.subtype}, relationships)
            return
        sync.status = "success"
        account.synchronized_at = now
        events: list[tuple[str, int]] = []
        if sync.subtype == "accountDetails":
            if account.shown_balance != account.bank_balance:
                account.shown_balance, account.balance_changed_at = account.bank_balance, now
                self._emit("pontoConnect.account.detailsUpdated", {}, relationships)
                events.append(("details", 1))
        else:
            created = updated = created_pending = updated_pending = removed = 0
            for tx in [t for t in self.transactions.values() if t.account_id == account.id]:
                if not tx.pending:
                    change = self._refresh(tx, now)
                    created += change == "created"
                    updated += change == "updated"
                    if change:
                        sync.updated_transactions.append(tx.id)
                elif sync.subtype == "accountTransactionsWithUnsettled" and not tx.gone:
                    if tx.settled:
                        tx.gone = True
                        removed += tx.seq is not None
                        continue
                    change = self._refresh(tx, now)
                    created_pending += change == "created"
                    updated_pending += change == "updated"
                    if change:
                        sync.updated_pending.append(tx.id)
            for event, count in (
                ("transactionsCreated", created),
                ("transactionsUpdated", updated),
                ("pendingTransactionsCreated", created_pending),
                ("pendingTransactionsUpdated", updated_pending),
            ):
                if count:
                    self._emit(f"pontoConnect.account.{event}", {"count": count}, relationships)
                    events.append((event, count))
            if removed:
                events.append(("pendingRemoved", removed))
        if not events:
            self._emit(
                "pontoConnect.synchronization.succeededWithoutChange",
                {"synchronizationSubtype": sync.subtype},
                relationships,
            )

    def _latest(self, account_id: str, subtypes: tuple[str, ...]) -> tuple[FakeSynchronization | None, datetime | None]:
        """The latest finished synchronization of these subtypes, and when the latest successful one ended."""
        finished = [
            s
            for s in self.synchronizations.values()
            if s.account_id == account_id and s.subtype in subtypes and s.status in ("success", "error")
        ]
        latest = max(finished, key=lambda s: s.updated_at, default=None)
        succeeded = [s.updated_at for s in finished if s.status == "success"]
        return latest, max(succeeded, default=None)
