"""Partial indexes for the invoice keys most invoices lack: customer account, number without letter prefix

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:45:00

Most invoices name no customer account and most numbers carry no letter prefix, so these two indexes held a
NULL entry per invoice that no lookup ever asks for, and every registration wrote both B-trees. They now hold
the rows where the key is present; lookups say ``IS NOT NULL`` (app/reconciliation/candidates.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = {
    "ix_invoices_company_customer_iban": "customer_iban",
    "ix_invoices_company_number_digits_key": "number_digits_key",
}


def upgrade() -> None:
    for name, column in _KEYS.items():
        op.drop_index(name, table_name="invoices")
        condition = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "invoices", ["company_id", column], sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for name, column in _KEYS.items():
        op.drop_index(name, table_name="invoices")
        op.create_index(name, "invoices", ["company_id", column])
