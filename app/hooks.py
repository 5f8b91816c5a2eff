"""Wires features together at start-up (once): what happens after an invoice is registered."""

from __future__ import annotations

from app.codabox.service import queue_delivery
from app.invoices.service import after_create_hooks


def install_hooks() -> None:
    if queue_delivery not in after_create_hooks:
        after_create_hooks.append(queue_delivery)
