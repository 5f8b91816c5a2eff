"""The dispatcher's queue index: events not yet dispatched, in the order they are taken

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:00:00

``ix_events_dispatched_at`` indexed every event ever recorded, and the dispatcher's poll (oldest undispatched
events first) sorted the whole backlog to take a few hundred: after a large statement, each poll cost more the
more events waited. ``ix_events_pending`` holds only the waiting events, ordered as the poll reads them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_dispatched_at", table_name="events")
    pending = sa.text("dispatched_at IS NULL")
    op.create_index("ix_events_pending", "events", ["created_at", "id"], sqlite_where=pending, postgresql_where=pending)


def downgrade() -> None:
    op.drop_index("ix_events_pending", table_name="events")
    op.create_index("ix_events_dispatched_at", "events", ["dispatched_at"])
