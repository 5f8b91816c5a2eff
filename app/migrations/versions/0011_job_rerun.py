"""Jobs asked for again while they run: run once more instead of dropping the request

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:30:00

A job's dedupe key let only one job of a kind per key wait or run; a request made while the job ran (a
"sync now" after the feed was listed, an invoice created after the delivery loop looked) was dropped. The
running job is now marked and goes round once more when it finishes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rerun", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("rerun")
