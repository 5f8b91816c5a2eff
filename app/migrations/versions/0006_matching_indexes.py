"""Matching by index: invoice lookup keys, outstanding amounts, name tokens, learned payers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:30:00

Matching used to load a company's whole open ledger (and every allocation ever made, for the accounts
customers paid from) for each upload. It now looks candidates up by these indexed columns and tables, so the
cost of a statement follows its movements. Existing rows are backfilled with the same functions the service
uses (app/reconciliation/keys.py).
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db
from app.reconciliation.keys import invoice_key_columns, name_tokens

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outstanding", app.core.db.Money(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("customer_key", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("number_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column("number_digits_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column("number_tail", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_table(
        "customer_name_tokens",
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("customer_key", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
        sa.Column("customer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.PrimaryKeyConstraint("company_id", "token", "customer_key"),
    )
    op.create_table(
        "learned_payers",
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("iban", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("customer_key", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
        sa.Column("allocations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.PrimaryKeyConstraint("company_id", "iban", "customer_key"),
    )
    _backfill()
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_company_outstanding", ["company_id", "outstanding"], unique=False)
        batch_op.create_index("ix_invoices_company_customer", ["company_id", "customer_key"], unique=False)
        batch_op.create_index("ix_invoices_company_customer_iban", ["company_id", "customer_iban"], unique=False)
        batch_op.create_index("ix_invoices_company_number_key", ["company_id", "number_key"], unique=False)
        batch_op.create_index(
            "ix_invoices_company_number_digits_key", ["company_id", "number_digits_key"], unique=False
        )
        batch_op.create_index("ix_invoices_company_number_tail", ["company_id", "number_tail"], unique=False)


def _backfill() -> None:
    bind = op.get_bind()
    tokens: dict[tuple[str, str, str], str] = {}
    keys_by_invoice: dict[str, str] = {}
    last = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, company_id, number, customer_vat, customer_name FROM invoices WHERE id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            columns = invoice_key_columns(row.number, row.customer_vat, row.customer_name)
            keys_by_invoice[row.id] = columns["customer_key"]
            updates.append({"id": row.id, **columns})
            for token in name_tokens(row.customer_name):
                tokens.setdefault((row.company_id, token, columns["customer_key"]), row.customer_name)
        bind.execute(
            sa.text(
                "UPDATE invoices SET customer_key = :customer_key, number_key = :number_key, "
                "number_digits_key = :number_digits_key, number_tail = :number_tail WHERE id = :id"
            ),
            updates,
        )
        last = rows[-1].id
    # Both amounts are integer mills, so the difference is exact.
    bind.execute(sa.text("UPDATE invoices SET outstanding = total_amount - amount_paid - write_off_amount"))
    if tokens:
        bind.execute(
            sa.text(
                "INSERT INTO customer_name_tokens (company_id, token, customer_key, customer_name) "
                "VALUES (:company_id, :token, :customer_key, :customer_name)"
            ),
            [
                {"company_id": c, "token": t[:200], "customer_key": k, "customer_name": name}
                for (c, t, k), name in tokens.items()
            ],
        )
    learned: Counter[tuple[str, str, str]] = Counter()
    for company_id, iban, invoice_id in bind.execute(
        sa.text(
            "SELECT a.company_id, t.counterparty_iban, a.invoice_id FROM allocations a "
            "JOIN transactions t ON t.id = a.transaction_id WHERE t.counterparty_iban IS NOT NULL"
        )
    ):
        learned[(company_id, iban, keys_by_invoice[invoice_id])] += 1
    if learned:
        bind.execute(
            sa.text(
                "INSERT INTO learned_payers (company_id, iban, customer_key, allocations) "
                "VALUES (:company_id, :iban, :customer_key, :n)"
            ),
            [{"company_id": c, "iban": i, "customer_key": k, "n": n} for (c, i, k), n in learned.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for name in (
            "ix_invoices_company_number_tail",
            "ix_invoices_company_number_digits_key",
            "ix_invoices_company_number_key",
            "ix_invoices_company_customer_iban",
            "ix_invoices_company_customer",
            "ix_invoices_company_outstanding",
        ):
            batch_op.drop_index(name)
        for column in ("number_tail", "number_digits_key", "number_key", "customer_key", "outstanding"):
            batch_op.drop_column(column)
    op.drop_table("learned_payers")
    op.drop_table("customer_name_tokens")
