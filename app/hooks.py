"""Wires features together at start-up (once): what happens after an invoice is registered."""

from __future__ import annotations

from app.codabox.delivery import queue_delivery
from app.invoices.service import after_create_hooks
from app.reconciliation.service import rematch_for_new_invoices


def install_hooks() -> None:
    for hook in (queue_delivery, rematch_for_new_invoices):
        if hook not in after_create_hooks:
            after_create_hooks.append(hook)
