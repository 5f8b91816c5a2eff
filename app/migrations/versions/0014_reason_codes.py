"""Reasons as codes: beside the English reasons of allocations and suggestions, the signal and parameters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 14:00:00

The matching engine's reasons were English sentences only, so the review page showed English on its Dutch and
French pages. New rows keep that English (the API's ``message``, unchanged) and store beside it, per reason,
the signal and parameters it was rendered from (app/reconciliation/reasons.py). Rows from before have none
and are shown in their English.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("allocations", "suggestions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("reason_codes", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("reason_codes")
