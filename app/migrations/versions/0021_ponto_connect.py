"""Ponto Connect: connections, accounts, transactions seen; movements seen twice; pending payments

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 01:00:00

Issue 43: a second way to read the bank. Each company's Ponto connection (tokens encrypted), the accounts its
integration reads, every booked Ponto transaction by Ponto's id (with its raw JSON); the movements a bank file
and a Ponto batch both brought (one transaction, ``movement_twins``); pending payments, and the invoice's
``pending_amount`` they make (0.00 for every invoice already there).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.core.db import Money

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ponto_accounts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("iban", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("availability", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("authorized_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("consent_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reauthorization_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("reauthorization_for", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_transaction_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("updates_read_for", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("synchronized_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ponto_accounts_company_id"), "ponto_accounts", ["company_id"], unique=False)
    op.create_table(
        "ponto_connections",
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("authorization_state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("code_verifier_encrypted", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("authorization_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("organization_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("refresh_token_encrypted", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("access_token_encrypted", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=True),
        sa.Column("access_token_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_sync_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_synchronized_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("synchronize_requested", sa.Boolean(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("connected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
        ),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_index(
        op.f("ix_ponto_connections_authorization_state_hash"),
        "ponto_connections",
        ["authorization_state_hash"],
        unique=False,
    )
    op.create_index("ix_ponto_connections_organization", "ponto_connections", ["organization_id"], unique=False)
    op.create_table(
        "ponto_transactions",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ponto_transactions_company_id"), "ponto_transactions", ["company_id"], unique=False)
    op.create_table(
        "movement_twins",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("statement_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_movement_twins_company_id"), "movement_twins", ["company_id"], unique=False)
    op.create_index("ix_movement_twins_transaction", "movement_twins", ["transaction_id"], unique=False)
    op.create_table(
        "pending_payments",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_iban", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("counterparty_name", sqlmodel.sql.sqltypes.AutoString(length=70), nullable=True),
        sa.Column("counterparty_iban", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("communication", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("structured_reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("end_to_end_reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("settled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "source", "external_id", name="uq_pending_payments_external"),
    )
    op.create_index("ix_pending_payments_company_state", "pending_payments", ["company_id", "state"], unique=False)
    op.create_index(
        "ix_pending_payments_invoice",
        "pending_payments",
        ["invoice_id"],
        unique=False,
        sqlite_where=sa.text("invoice_id IS NOT NULL"),
        postgresql_where=sa.text("invoice_id IS NOT NULL"),
    )
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("pending_amount", Money(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_column("pending_amount")
    op.drop_index(
        "ix_pending_payments_invoice",
        table_name="pending_payments",
        sqlite_where=sa.text("invoice_id IS NOT NULL"),
        postgresql_where=sa.text("invoice_id IS NOT NULL"),
    )
    op.drop_index("ix_pending_payments_company_state", table_name="pending_payments")
    op.drop_table("pending_payments")
    op.drop_index("ix_movement_twins_transaction", table_name="movement_twins")
    op.drop_index(op.f("ix_movement_twins_company_id"), table_name="movement_twins")
    op.drop_table("movement_twins")
    op.drop_index(op.f("ix_ponto_transactions_company_id"), table_name="ponto_transactions")
    op.drop_table("ponto_transactions")
    op.drop_index("ix_ponto_connections_organization", table_name="ponto_connections")
    op.drop_index(op.f("ix_ponto_connections_authorization_state_hash"), table_name="ponto_connections")
    op.drop_table("ponto_connections")
    op.drop_index(op.f("ix_ponto_accounts_company_id"), table_name="ponto_accounts")
    op.drop_table("ponto_accounts")
