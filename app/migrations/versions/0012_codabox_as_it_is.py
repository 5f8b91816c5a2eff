"""CodaBox as its API really answers: whom the credentials serve, the binding checked on the statements,
fetch_delay kept, and every feed entry recorded with its document model

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00

pod-client's feed_clients carry no VAT number, so a connection keeps CodaBox's names for its clients and the
binding is checked on each downloaded statement's holder instead (a foreign one sets the connection to
``mismatch``). Feed entries that are not ingested are kept with their model and why.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("codabox_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_clients", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("name_warning", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("mismatch", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("fetch_delay", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_polled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("statement_format", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
    with op.batch_alter_table("codabox_feed_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_model", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("holder_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("codabox_feed_entries", schema=None) as batch_op:
        batch_op.drop_column("holder_number")
        batch_op.drop_column("document_model")
    with op.batch_alter_table("codabox_connections", schema=None) as batch_op:
        for column in ("statement_format", "last_polled_at", "fetch_delay", "mismatch", "name_warning", "feed_clients"):
            batch_op.drop_column(column)
