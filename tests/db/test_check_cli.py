"""`codarecon check` on a live database: silent and 0 when the money state is consistent; each violation
with its ids and exit 1 when a row was changed behind the ledger's back."""

from __future__ import annotations

from sqlalchemy import update

from app.cli import main
from app.core.db import unit_of_work
from app.invoices.models import Invoice
from app.statements.models import BankTransaction
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

OGM = "+++090/9337/55493+++"


def test_check_passes_then_names_each_violation(client, capsys):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(total="100.00", structured_reference=OGM), headers=key
    ).json()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("100.00", OGM)), headers=key)
    assert main(["check"]) == 0
    assert "ok: no violation" in capsys.readouterr().out
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    with unit_of_work() as session:  # what a bug (or a hand-edited row) would do
        session.execute(update(Invoice).where(Invoice.id == invoice["id"]).values(amount_paid=150, status="overpaid"))
        session.execute(update(BankTransaction).where(BankTransaction.id == tx["id"]).values(status="unmatched"))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert f"invoice.amount_paid: {invoice['id']}: amount_paid 150.00, its allocations come to 100.00" in out
    assert f"invoice.status: {invoice['id']}: status overpaid, but its money says paid" in out
    assert f"event.stale: {invoice['id']}" in out
    assert f"transaction.status: {tx['id']}: status unmatched, but its money says matched" in out
    assert main(["check", "--company", VAT]) == 1
    assert main(["check", "--company", "BE0417497106"]) == 2  # no such company


def test_a_database_out_of_reach_is_one_line_and_exit_2_never_1(tmp_path):
    """Exit 1 means a violation was found; an invalid URL or an unreachable database is neither (issue 41)."""
    import os
    import subprocess
    import sys

    from tests.helpers import free_port

    for url in ("nonsense://x", f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/none"):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "check"],
            env={**os.environ, "CODARECON_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (url, done.stderr)
        assert done.stderr.startswith("codarecon check: cannot read the database: ")
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert "secret" not in done.stderr
