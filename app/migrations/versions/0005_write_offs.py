"""Write-offs, payment tolerance, transaction remainders

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:00:00

Bank fees used to live on the allocation (``allocations.fee``) and counted as money paid. They become
write-offs of their own (reason ``bank_fee``), so that an invoice's ``amount_paid`` is exactly the money its
allocations brought, and the write-off can be shown and undone on its own.
"""

import os
import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_offs",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("allocation_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("amount", app.core.db.Money(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["allocation_id"], ["allocations.id"]),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_write_offs_allocation_id"), ["allocation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_write_offs_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_write_offs_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_write_offs_transaction_id"), ["transaction_id"], unique=False)
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_tolerance", sa.JSON(), nullable=True))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("write_off_amount", app.core.db.Money(), nullable=False, server_default="0"))
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_written_off", app.core.db.Money(), nullable=False, server_default="0"))
        batch_op.alter_column(
            "status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=False,
        )

    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))

    _fees_to_write_offs()
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_column("fee")
        batch_op.add_column(sa.Column("suggestion_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))


def _fees_to_write_offs() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, company_id, invoice_id, transaction_id, fee, created_by, created_at "
            "FROM allocations WHERE fee <> 0"
        )
    ).all()
    for row in rows:
        bind.execute(
            sa.text(
                "INSERT INTO write_offs (id, company_id, invoice_id, transaction_id, allocation_id, amount, reason, "
                "created_by, created_at) VALUES (:id, :company, :invoice, :tx, :allocation, :amount, 'bank_fee', "
                ":by, :at)"
            ),
            {
                "id": f"wo_{int(time.time() * 1000):012x}{os.urandom(8).hex()}",  # as app.core.ids.new_id
                "company": row.company_id,
                "invoice": row.invoice_id,
                "tx": row.transaction_id,
                "allocation": row.id,
                "amount": row.fee,  # both columns hold integer mills
                "by": row.created_by,
                "at": row.created_at,
            },
        )
        bind.execute(
            sa.text(
                "UPDATE invoices SET amount_paid = amount_paid - :fee, write_off_amount = write_off_amount + :fee "
                "WHERE id = :invoice"
            ),
            {"fee": row.fee, "invoice": row.invoice_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_column("suggestion_id")
        batch_op.add_column(sa.Column("fee", app.core.db.Money(), nullable=False, server_default="0"))
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.drop_column("closed_by")
    bind = op.get_bind()
    # Write-offs that completed an allocation go back onto it; others have no place in the old schema.
    for row in bind.execute(
        sa.text("SELECT allocation_id, invoice_id, amount FROM write_offs WHERE allocation_id IS NOT NULL")
    ).all():
        bind.execute(
            sa.text("UPDATE allocations SET fee = fee + :amount WHERE id = :id"),
            {"amount": row.amount, "id": row.allocation_id},
        )
        bind.execute(
            sa.text("UPDATE invoices SET amount_paid = amount_paid + :amount WHERE id = :id"),
            {"amount": row.amount, "id": row.invoice_id},
        )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=12),
            existing_nullable=False,
        )
        batch_op.drop_column("amount_written_off")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("write_off_amount")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("payment_tolerance")
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_write_offs_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_write_offs_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_write_offs_company_id"))
        batch_op.drop_index(batch_op.f("ix_write_offs_allocation_id"))
    op.drop_table("write_offs")
