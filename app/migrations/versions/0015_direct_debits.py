"""SEPA direct debits on transactions: the mandate (indexed) and the collection's own fields

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:20:00

A CODA movement with structured communication 127 (and, later, a camt.053 entry with a mandate) is a SEPA
collection or an R-transaction undoing one (issue 40). Its fields are kept as the API shows them; the mandate
has a column of its own, indexed where present, by which a return finds its original. Rows from before have
none (a re-read of their stored file would give them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandate_reference", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("direct_debit", sa.JSON(none_as_null=True), nullable=True))
    op.create_index(
        "ix_transactions_company_mandate",
        "transactions",
        ["company_id", "mandate_reference"],
        sqlite_where=sa.text("mandate_reference IS NOT NULL"),
        postgresql_where=sa.text("mandate_reference IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_company_mandate", table_name="transactions")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("direct_debit")
        batch_op.drop_column("mandate_reference")
