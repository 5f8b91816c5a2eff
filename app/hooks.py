"""Wires features together at start-up (once per process): what happens after an invoice is registered, and
who hears of the Ledger's changes (app/events records them as events).

Every process that writes money calls install_hooks() before it does: the API (app/main.py create_app) and
the worker (app/worker.py, embedded or `codarecon worker`). A Ledger that settles without its listener
raises (app/reconciliation/changes.py), so a process that forgot fails at once instead of losing events.
"""

from __future__ import annotations

import threading

from app.codabox.delivery import queue_delivery
from app.events.record import record_settlement
from app.invoices.service import after_create_hooks
from app.reconciliation.changes import listen
from app.reconciliation.service import rematch_for_new_invoices

_installing = threading.Lock()


def install_hooks() -> None:
    """Idempotent, and safe from several threads (a worker's threads each start by calling it)."""
    with _installing:
        for hook in (queue_delivery, rematch_for_new_invoices):
            if hook not in after_create_hooks:
                after_create_hooks.append(hook)
        listen(record_settlement)
