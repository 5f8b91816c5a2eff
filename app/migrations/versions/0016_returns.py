"""Money that comes back: return allocations, the R-transaction's original, and collection references

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:10:00

An R-transaction (a returned, rejected, refunded or reversed collection; a transfer that came back) reverses
what its original did (issue 40): each allocation of the original is offset by an allocation of the return
that names it (``returns_allocation_id``), and the return names its original (``returns_transaction_id``).
Originals are found by end-to-end id, mandate, OGM or account: the first and last get indexes where present.
A transfer that came back (camt.053 ``RtrInf``) keeps its reason in ``transfer_return``. Invoices can carry the mandate and the end-to-end id of the collection that will pay them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = {
    "ix_allocations_returns": ("allocations", ["invoice_id", "returns_allocation_id"], "returns_allocation_id"),
    "ix_transactions_returns": ("transactions", ["returns_transaction_id"], "returns_transaction_id"),
    "ix_transactions_company_end_to_end": (
        "transactions",
        ["company_id", "end_to_end_reference"],
        "end_to_end_reference",
    ),
    "ix_transactions_company_counterparty": ("transactions", ["company_id", "counterparty_iban"], "counterparty_iban"),
    "ix_invoices_company_mandate": ("invoices", ["company_id", "mandate_reference"], "mandate_reference"),
    "ix_invoices_company_collection": ("invoices", ["company_id", "collection_reference"], "collection_reference"),
}


def upgrade() -> None:
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returns_allocation_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_return", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("returns_transaction_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandate_reference", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("collection_reference", sa.String(length=35), nullable=True))
    for name, (table, columns, present) in _PARTIAL.items():
        where = sa.text(f"{present} IS NOT NULL")
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, (table, _, _) in _PARTIAL.items():
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("collection_reference")
        batch_op.drop_column("mandate_reference")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("returns_transaction_id")
        batch_op.drop_column("transfer_return")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_column("returns_allocation_id")
