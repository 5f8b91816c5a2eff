"""Polling for changes: indexes for updated_since (by updated_at, then id), paid_since and the event feed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:05:00

An integrator polls ``GET .../invoices?updated_since=`` for what changed (issue 41): a page is a range of one
company's (updated_at, id), read through its index, whatever the size of the ledger. ``paid_since`` reads
settled invoices by day, indexed where an invoice has one; the event feed (``GET .../events?after=``) one company's
events by id.

SQLite only: times written in bulk before this version carry "+00:00" where SQLAlchemy's own statements write
none (app/core/db.py's bind processors); both are UTC. They are rewritten in SQLAlchemy's form, so that one
instant is one text and a page by change continues exactly after its last row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        inspector = sa.inspect(bind)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                if isinstance(column["type"], sa.DateTime):
                    name = column["name"]
                    # "2026-12-07 20:00:32.415272+00:00" -> "2026-12-07 20:00:32.415272"; a whole second gets
                    # its ".000000", as SQLAlchemy writes it.
                    op.execute(
                        f"UPDATE {table} SET {name} = CASE WHEN length({name}) = 25 "
                        f"THEN substr({name}, 1, 19) || '.000000' ELSE substr({name}, 1, 26) END "
                        f"WHERE {name} LIKE '%+00:00'"
                    )
    op.create_index("ix_invoices_company_updated", "invoices", ["company_id", "updated_at", "id"])
    op.create_index("ix_events_company_id", "events", ["company_id", "id"])
    op.drop_index("ix_events_company_created", table_name="events")  # read by no query; the feed's index replaces it
    where = sa.text("paid_at IS NOT NULL")
    op.create_index(
        "ix_invoices_company_paid_at", "invoices", ["company_id", "paid_at"], sqlite_where=where, postgresql_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_company_paid_at", table_name="invoices")
    op.create_index("ix_events_company_created", "events", ["company_id", "created_at"])
    op.drop_index("ix_events_company_id", table_name="events")
    op.drop_index("ix_invoices_company_updated", table_name="invoices")
