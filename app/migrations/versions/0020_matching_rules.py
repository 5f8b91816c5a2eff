"""Rules a bookkeeper names, and the proposals made from people's decisions

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 23:00:00

Issue 42: per company, conditions on a payment (words, payer account or name, amount range, direction) and one
action (keep with a reason, pay a named customer's invoices, never match automatically). Proposals live in the
same table with state "proposed".
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.db import Money

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matching_rules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("counterparty_iban", sa.String(length=40), nullable=True),
        sa.Column("counterparty_name", sa.String(length=70), nullable=True),
        sa.Column("amount_min", Money(), nullable=True),
        sa.Column("amount_max", Money(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("customer_key", sa.String(length=240), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("proposal_key", sa.String(length=300), nullable=True),
        sa.Column("proposed_from", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_matching_rules_company_state", "matching_rules", ["company_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_matching_rules_company_state", table_name="matching_rules")
    op.drop_table("matching_rules")
