"""A file of several statements is matched statement by statement, as their separate uploads would be: what an
earlier statement's payments teach (the account a customer pays from) counts for the later ones, whether the
matcher holds the whole open ledger or looks invoices up as payments ask."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.reconciliation import candidates
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key, sql_sent

PAYER_ACCOUNT = "BE68539007547034"


def _statements(reference: str) -> bytes:
    """Day 1: the customer pays one invoice by its reference from an account no invoice names. Day 2: from the
    same account, under another name, an amount only two of the customer's other invoices make up together."""
    first = MovementSpec(
        Decimal("100.00"), ogm=reference, counterparty_name="J. PEETERS", counterparty_iban=PAYER_ACCOUNT
    )
    second = MovementSpec(
        Decimal("75.00"), communication="betaling", counterparty_name="J. PEETERS", counterparty_iban=PAYER_ACCOUNT
    )
    day_one = StatementSpec(IBAN, date(2026, 11, 20), Decimal("0"), [first], sequence=1)
    day_two = StatementSpec(IBAN, date(2026, 11, 21), day_one.closing_balance, [second], sequence=2)
    return write_coda([day_one, day_two])


@pytest.mark.parametrize("whole_ledger", [True, False], ids=["whole-ledger", "looked-up"])
def test_an_account_learned_in_one_statement_identifies_the_payer_in_the_next(client, monkeypatch, whole_ledger):
    if not whole_ledger:  # never read the open ledger in one go: every candidate is looked up by its key
        monkeypatch.setattr(candidates, "WHOLE_LEDGER_FACTOR", 0)
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    customer = {"name": "Acme NV", "vat": "BE0417497106"}  # no account on the invoices
    ids = {}
    for name, total in (("A", "100.00"), ("B", "30.00"), ("C", "45.00"), ("D", "20.00")):
        created = client.post(
            f"/v1/companies/{VAT}/invoices", json=invoice_body(name, total=total, customer=customer), headers=key
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()
    upload = client.post(
        f"/v1/companies/{VAT}/statements",
        content=_statements(ids["A"]["structured_reference"]),
        headers={**key, "Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 201, upload.text
    # 30 + 45 is the only combination of Acme's open invoices that makes 75: certain once the account is known.
    assert upload.json()["matching"] == {"matched": 2, "suggested": 0, "unmatched": 0}
    status = {
        name: client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()["status"]
        for name, invoice in ids.items()
    }
    assert status == {"A": "paid", "B": "paid", "C": "paid", "D": "open"}


def test_an_upload_of_several_statements_never_reads_the_file_back(client):
    """Each statement is settled as it is stored, and a settle expires the session's objects: the stored file's
    row, touched again for the next statement, was read back whole each time (30 MB a statement, 100 times, in
    the large-file benchmark)."""
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    with sql_sent() as sent:
        upload = client.post(
            f"/v1/companies/{VAT}/statements",
            content=_statements("+++090/9337/55493+++"),
            headers={**key, "Content-Type": "application/octet-stream"},
        )
    assert upload.status_code == 201, upload.text
    assert len(upload.json()["statements"]) == 2
    reads = [s for s in sent if "coda_files" in s and not s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert reads == []


def test_an_upload_stores_each_payment_with_its_settled_state_and_never_updates_it(client):
    """New payments are stored once, when matching has settled them: an update would write every index of the
    row again and, on PostgreSQL, check its foreign keys again (a row inserted in the same transaction always
    is). What is stored is what the API then shows."""
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A", total="100.00"), headers=key).json()
    with sql_sent() as sent:
        upload = client.post(
            f"/v1/companies/{VAT}/statements",
            content=_statements(invoice["structured_reference"]),  # 100.00 by reference, then 75.00 unexplained
            headers={**key, "Content-Type": "application/octet-stream"},
        )
    assert upload.status_code == 201, upload.text
    assert upload.json()["matching"] == {"matched": 1, "suggested": 0, "unmatched": 1}
    assert not [s for s in sent if " ".join(s.split()).upper().startswith("UPDATE TRANSACTIONS")]
    listed = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    stored = {t["amount"]: (t["status"], t["allocated_amount"], t["unallocated_amount"]) for t in listed}
    assert stored == {"100.00": ("matched", "100.00", "0.00"), "75.00": ("unmatched", "0.00", "75.00")}
