"""SEPA direct debits (issue 40): what a statement says of a collection and of its return is kept and shown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.statements.coda_writer import MovementSpec, StatementSpec, sepa_direct_debit_content, write_coda
from tests.helpers import IBAN, VAT, make_company, make_key


def _collection(amount: str, r_type: str = "0", reason: str = "") -> MovementSpec:
    content = sepa_direct_debit_content(
        settlement=date(2026, 11, 4), mandate="MANDAAT-0042", communication="Factuur 2026/0042",
        sequence_type="1", scheme="1", r_type=r_type, reason=reason,
    )  # fmt: skip
    return MovementSpec(
        D(amount), structured_type="127", structured_content=content, counterparty_name="KLANT NV",
        counterparty_iban="BE71096123456769",
    )  # fmt: skip


def test_a_collection_and_its_return_show_their_direct_debit(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    data = write_coda(
        [StatementSpec(IBAN, date(2026, 11, 20), D("0"), [_collection("121.00"), _collection("-121.00", "2", "AM04")])]
    )
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).status_code == 201
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    by_amount = {item["amount"]: item for item in items}
    paid, returned = by_amount["121.00"], by_amount["-121.00"]
    common = {
        "mandate_reference": "MANDAAT-0042", "creditor_id": "BE69ZZZ0123456789", "settlement_date": "2026-11-04",
        "sequence_type": "recurrent", "scheme": "core", "refusal": None,
    }  # fmt: skip
    assert paid["direct_debit"] == {**common, "r_transaction": "paid", "reason": None}
    assert returned["direct_debit"] == {**common, "r_transaction": "return", "reason": "AM04"}
    assert paid["communication"] == returned["communication"] == "Factuur 2026/0042"
    # The same through a transaction's own read.
    one = client.get(f"/v1/companies/{VAT}/transactions/{returned['id']}", headers=key).json()
    assert one["direct_debit"] == returned["direct_debit"]


def test_other_movements_have_none(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), D("0"), [MovementSpec(D("5.00"), communication="x")])])
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).status_code == 201
    [item] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert item["direct_debit"] is None


def test_a_collection_carrying_the_invoice_ogm_pays_it(client):
    """The creditor's communication of a collection is what matching reads: the OGM the integrator put in its
    collection settles the invoice, as a transfer with it would."""
    from tests.helpers import invoice_body

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body("DD-1", total="121.00", structured_reference="+++090/9337/55493+++"),
        headers=key,
    ).json()
    content = sepa_direct_debit_content(
        settlement=date(2026, 11, 4), mandate="MANDAAT-0042", communication="+++090/9337/55493+++"
    )
    movement = MovementSpec(D("121.00"), structured_type="127", structured_content=content, counterparty_name="KLANT")
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), D("0"), [movement])])
    response = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
    assert response.json()["matching"]["matched"] == 1, response.text
    paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert (paid["status"], paid["amount_paid"]) == ("paid", "121.00")
