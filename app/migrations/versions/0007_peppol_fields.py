"""Peppol BIS 3: invoice lines and VAT breakdown, customer address and Peppol id, buyer and billing references,
the company's address and e-mail

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00

Lines are kept with their invoice (JSON): they are written once, read with it, and never queried alone.
Invoices registered before have no lines (null) and keep their total.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("vat_breakdown", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tax_exclusive_amount", app.core.db.Money(), nullable=True))
        batch_op.add_column(sa.Column("tax_amount", app.core.db.Money(), nullable=True))
        batch_op.add_column(sa.Column("customer_address", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("customer_peppol_id", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
        batch_op.add_column(sa.Column("buyer_reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("billing_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("address")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in (
            "billing_reference",
            "buyer_reference",
            "customer_peppol_id",
            "customer_address",
            "tax_amount",
            "tax_exclusive_amount",
            "vat_breakdown",
            "lines",
        ):
            batch_op.drop_column(column)
