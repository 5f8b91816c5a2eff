"""What a settle of the Ledger changed, by name, and the one listener that hears of it.

The Ledger decides what changed; it does not say how the world hears of it. Turning changes into events with
the resource's snapshot needs the invoice and transaction presenters, which sit above reconciliation, so the
listener is handed in at start-up (app/hooks.py: the API, the worker and every command that writes money
install it). A settle that announces with no listener installed raises: events are never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session


@dataclass(frozen=True, slots=True)
class InvoiceMoneyChanged:
    """An invoice's money state (status, paid, written off) differs from what it was before the decision."""

    invoice_id: str
    status: str
    previous_status: str
    amount_paid: Decimal
    write_off_amount: Decimal
    amount_due: Decimal
    #: The transaction whose return took money off the invoice in this change (money that came back).
    returned_by: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionStateChanged:
    """Money in that needs a person: a transaction became unmatched or partly matched (a new one: its first
    state, ``previous_status`` None), or what is left of its partial match moved."""

    transaction_id: str
    status: str
    previous_status: str | None
    unallocated_amount: Decimal


@dataclass(frozen=True, slots=True)
class SuggestionMade:
    """An open suggestion for a person to decide on a transaction."""

    transaction_id: str
    suggestion_id: str
    score: float


Change = InvoiceMoneyChanged | TransactionStateChanged | SuggestionMade


@dataclass(frozen=True, slots=True)
class SettledInvoice:
    """A changed invoice as the settle read it, so that whoever tells of it need not read it again: the row
    before the settle's update, that update (empty if none), and its allocation and write-off rows."""

    row: Any
    update: Mapping[str, Any]
    allocations: Sequence[Any]
    write_offs: Sequence[Any]


@dataclass(frozen=True, slots=True)
class NewTransaction:
    """A transaction stored by this settle (Ledger.fresh): its row, its derived state (status, allocated,
    written off) and the allocation, write-off and suggestion rows queued for it, all there is of it."""

    row: Any
    state: tuple[str, Decimal, Decimal]
    allocations: Sequence[Mapping[str, Any]]
    write_offs: Sequence[Mapping[str, Any]]
    suggestions: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Settlement:
    """One announcing settle: its changes by kind, each kind in the order its changes are told (invoices by id,
    then transactions: stored ones by id, new ones by id; then suggestions as they were made), with what the
    settle holds of the rows they are about. Other transactions are stored and can be read back in the same
    session."""

    company_id: str
    invoices: Sequence[InvoiceMoneyChanged]
    transactions: Sequence[TransactionStateChanged]
    suggestions: Sequence[SuggestionMade]
    #: Per invoice of ``invoices``: the invoice as the settle read it.
    settled_invoices: Mapping[str, SettledInvoice]
    #: Per new transaction that a change is about: all there is of it.
    new_transactions: Mapping[str, NewTransaction]

    @property
    def changes(self) -> list[Change]:
        """Every change, in the order they are told: invoices, then transactions, then suggestions."""
        return [*self.invoices, *self.transactions, *self.suggestions]


Listener = Callable[[Session, Settlement], None]

_listener: Listener | None = None


def listen(listener: Listener) -> None:
    """Install the one listener of every Ledger's settlements (at start-up; installing again replaces it)."""
    global _listener
    _listener = listener


def publish(session: Session, settlement: Settlement) -> None:
    """Hand a settlement to the listener, in the settle's transaction. Refuses when none is installed: a
    process that writes money without app.hooks.install_hooks() would lose its events."""
    if _listener is None:
        raise RuntimeError(
            "the Ledger has no listener for its changes: call app.hooks.install_hooks() when the process starts"
        )
    if settlement.invoices or settlement.transactions or settlement.suggestions:
        _listener(session, settlement)
