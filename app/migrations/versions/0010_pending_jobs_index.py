"""The job claim's index: waiting jobs by company, oldest first (partial)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:40:00

The claim takes every company's oldest due job before any company's second. It ranked the whole backlog on
each claim; it now reads each waiting company's first jobs through this index (app/core/outbox.py). Partial:
finished jobs stay in the table as history and no claim looks at them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    waiting = sa.text("status = 'pending'")
    op.create_index(
        "ix_jobs_pending", "jobs", ["company_id", "run_at", "id"], sqlite_where=waiting, postgresql_where=waiting
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_pending", table_name="jobs")
