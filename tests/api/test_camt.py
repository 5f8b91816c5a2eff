"""camt.053 through the same path as CODA: the public samples read as their MANIFEST says, hostile or broken
XML refused by line with nothing stored, one statement one identity whatever the format, and the same
payments matched the same way from either format."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.identifiers.references import generate_ogm
from app.statements.camt_writer import write_camt
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.conftest import camt_sample
from tests.helpers import IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

XML = {"Content-Type": "application/xml"}

# (file, statements, leaf transactions, warning codes per statement) as the MANIFEST counts them.
SAMPLES = [
    ("oca-bank-statement-import__nl_v02_reversal_batch_balance_mismatch.xml", [4], [["balance_mismatch"]]),
    ("oca-bank-statement-import__ch_v04_one_entry_two_txdtls_isr_refs.xml", [2], [[]]),
    ("oca-bank-statement-import__v04_no_entries_chf_balances.xml", [0], [[]]),
    ("genkgo-camt__v02_ten_balance_types.xml", [1], [["balance_mismatch"]]),
    ("viafintech-camt_parser__de_v02_prcd_batch_two_txdtls.xml", [5], [[]]),
    ("viafintech-camt_parser__ch_v04_13_entries_32_txdtls_reversals_charges.xml", [32], [[]]),
    ("moov-io-iso20022__fi_v02_finance_finland_sample_rf_batches_charges.xml", [13], [[]]),
    ("subite-eu-camt-to-coda__be_v02_anonymised_month_268_entries.xml", [268], [["no_sequence"]]),
    (
        "resilio-tech-dolibarr-camt053-reader-and-link__be_v02_three_entries_balance_mismatch.xml",
        [3],
        [["balance_mismatch"]],
    ),
    ("viafintech-camt_parser__v10_usd_clbd_only_no_txdtls.xml", [1], [["no_sequence", "missing_balance"]]),
    (
        "ballerina-platform-module-ballerinax-financial.iso20022-to-swiftmt__cbpr_v08_envelope_gbp_debit_balances_charge.xml",
        [2],
        [[]],
    ),
]


def sorted_by_repr(rows) -> list:
    return sorted(rows, key=repr)  # rows hold None next to strings


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def upload(client, key, data: bytes, headers=XML):
    return client.post(f"/v1/companies/{VAT}/statements", content=data, headers={**key, **headers})


def stored_transactions(client, key) -> list[dict]:
    return client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 500}, headers=key).json()["items"]


@pytest.mark.parametrize(("name", "leaves", "warnings"), SAMPLES)
def test_public_samples_are_stored_as_their_manifest_counts(client, key, name, leaves, warnings):
    response = upload(client, key, camt_sample(name).read_bytes())
    assert response.status_code == 201, response.text
    body = response.json()
    assert [s["transactions"] for s in body["statements"]] == leaves
    assert [[w["code"] for w in s["warnings"] if w["code"] != "account_added"] for s in body["statements"]] == warnings
    assert body["transactions_created"] == sum(leaves)
    again = upload(client, key, camt_sample(name).read_bytes())
    assert (again.status_code, again.json()["transactions_created"]) == (200, 0)


@pytest.mark.parametrize(
    ("name", "line", "says"),
    [
        ("oca-bank-statement-import__malformed_two_xml_documents_concatenated.xml", 292, "not well-formed XML"),
        ("genkgo-camt__malformed_v02_no_stmt.xml", 3, "holds no Stmt"),
        ("viafintech-camt_parser__malformed_empty_document_v03.xml", 2, "no BkToCstmrStmt"),
    ],
)
def test_broken_documents_are_refused_by_line_and_nothing_is_stored(client, key, name, line, says):
    response = upload(client, key, camt_sample(name).read_bytes())
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith(f"not a readable camt.053 file (line {line}): ")
    assert says in body["detail"] and body["errors"][0]["line"] == line
    assert stored_transactions(client, key) == []


def test_a_malformed_creation_date_is_refused_by_line_and_nothing_is_stored(client, key):
    """Found by the mutation property: a CreDtTm that is no date was a 500."""
    document = write_camt([statement([generate_ogm()])])
    start = document.index(b"<CreDtTm>", document.index(b"<Stmt>")) + len(b"<CreDtTm>")
    broken = document[: start + 8] + b"2c" + document[start + 10 :]  # 2026-11-2c...
    response = upload(client, key, broken)
    assert response.status_code == 422, response.text
    body = response.json()
    assert "creation date (CreDtTm) is not a date: '2026-11-2c" in body["detail"]
    assert body["errors"][0]["line"] == broken[:start].count(b"\n") + 1
    assert stored_transactions(client, key) == []


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Document><BkToCstmrStmt>&c;</BkToCstmrStmt></Document>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Document><BkToCstmrStmt><Stmt>&x;</Stmt></BkToCstmrStmt></Document>",
    ],
    ids=["entity-bomb", "external-entity"],
)
def test_entities_are_never_expanded(client, key, document):
    response = upload(client, key, document)
    assert response.status_code == 422
    assert "DOCTYPE" in response.json()["detail"] or "not well-formed" in response.json()["detail"]
    assert "root:" not in response.text and "aaaaaaaaaa" not in response.text
    assert stored_transactions(client, key) == []


def statement(ogms: list[str], sequence: int = 7, account: str = IBAN) -> StatementSpec:
    movements = [
        MovementSpec(Decimal("121.00"), ogm=ogm, counterparty_name="KLANT NV", counterparty_iban="BE71096123456769")
        for ogm in ogms
    ]
    movements.append(MovementSpec(Decimal("-15.00"), communication="Huur november", counterparty_name="VERHUURDER"))
    movements.append(
        MovementSpec(
            Decimal("242.00"),
            details=[
                MovementSpec(Decimal("121.00"), communication="factuur 2026/A", counterparty_name="ANDER BV"),
                MovementSpec(Decimal("121.00"), communication="zonder referentie", counterparty_name="DERDE BV"),
            ],
        )
    )
    return StatementSpec(account, date(2026, 11, 20), Decimal("100.00"), movements, sequence=sequence)


@pytest.mark.parametrize("first", ["coda", "camt"])
def test_one_statement_is_one_identity_whatever_its_format(client, key, first):
    spec = statement([generate_ogm()])
    files = {
        "coda": (write_coda([spec]), {"Content-Type": "application/octet-stream"}),
        "camt": (write_camt([spec]), XML),
    }
    second = "camt" if first == "coda" else "coda"
    stored = upload(client, key, *files[first])
    assert stored.status_code == 201, stored.text
    again = upload(client, key, *files[second])
    assert again.status_code == 200, again.text
    assert (again.json()["duplicates"], again.json()["transactions_created"]) == (1, 0)
    assert len(stored_transactions(client, key)) == 4  # three movements, the batch as its two details


def test_the_same_payments_from_either_format_give_the_same_transactions_and_paid_status(client):
    outcomes = []
    for vat, account, fmt in ((VAT, IBAN, "coda"), (OTHER_VAT, "BE68539007547034", "camt")):
        make_company(client, vat=vat, name=f"Company {fmt}", accounts=[account])
        key = make_key(client, vat=vat)
        ogms = ["+++090/9337/55493+++", "+++100/0000/00135+++"]
        invoices = [
            client.post(
                f"/v1/companies/{vat}/invoices", json=invoice_body(f"I{n}", structured_reference=ogm), headers=key
            ).json()
            for n, ogm in enumerate(ogms)
        ]
        client.post(f"/v1/companies/{vat}/invoices", json=invoice_body("A", number="2026/A"), headers=key)
        spec = statement(ogms, account=account)
        data, headers = (write_coda([spec]), {}) if fmt == "coda" else (write_camt([spec]), XML)
        response = client.post(f"/v1/companies/{vat}/statements", content=data, headers={**key, **headers})
        assert response.status_code == 201, response.text
        transactions = client.get(f"/v1/companies/{vat}/transactions", headers=key).json()["items"]
        outcomes.append(
            {
                "matching": response.json()["matching"],
                "transactions": sorted_by_repr(
                    (
                        t["amount"],
                        t["booking_date"],
                        t["structured_reference"],
                        t["counterparty"]["name"],
                        t["counterparty"]["iban"],
                        t["status"],
                        tuple(sorted((a["amount"], a["method"]) for a in t["allocations"])),
                    )
                    for t in transactions
                ),
                "invoices": [
                    client.get(f"/v1/companies/{vat}/invoices/{i['id']}", headers=key).json()["status"]
                    for i in invoices
                ],
            }
        )
    coda, camt = outcomes
    assert coda == camt
    assert coda["invoices"] == ["paid", "paid"]


def test_a_document_cut_off_on_the_way_is_incomplete_not_broken(client, key):
    whole = write_camt([statement([generate_ogm()])])
    response = upload(client, key, whole[: len(whole) - 60])
    assert response.status_code == 422
    assert response.json()["detail"].startswith("incomplete camt.053 file (line ")
    assert response.json().get("incomplete") is True
    assert stored_transactions(client, key) == []


def test_a_generated_scenario_is_matched_alike_from_coda_and_from_camt(client):
    """The generator's payers (references, typos, invoice numbers, combined payments, names and amounts),
    written once as CODA and once as camt.053, to two companies with the same invoices."""
    import dataclasses

    from tests.helpers import ADMIN
    from tests.scenarios import generate

    base = generate(seed=11, invoices=400, payments=160)
    results = []
    for vat, account, fmt in ((VAT, base.account_iban, "coda"), (OTHER_VAT, "BE68539007547034", "camt")):
        scenario = dataclasses.replace(base, account_iban=account)
        client.post(
            "/v1/companies", json={"vat": vat, "name": fmt, "bank_accounts": [account]}, headers=ADMIN
        ).raise_for_status()
        batch = [scenario.invoice_body(i) for i in scenario.invoices]
        client.post(f"/v1/companies/{vat}/invoices/batch", json={"invoices": batch}, headers=ADMIN).raise_for_status()
        data, headers = (scenario.to_coda(), {}) if fmt == "coda" else (scenario.to_camt(), XML)
        response = client.post(f"/v1/companies/{vat}/statements", content=data, headers={**ADMIN, **headers})
        assert response.status_code == 201, response.text
        invoices, cursor = [], None
        while True:
            page = client.get(
                f"/v1/companies/{vat}/invoices",
                params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                headers=ADMIN,
            ).json()
            invoices += [
                (i["external_id"], i["status"], i["amount_paid"], i["write_off_amount"]) for i in page["items"]
            ]
            cursor = page["next_cursor"]
            if not cursor:
                break
        results.append((response.json()["matching"], sorted(invoices)))
    (coda_counts, coda_invoices), (camt_counts, camt_invoices) = results
    assert coda_counts == camt_counts
    assert coda_counts["matched"] > 50  # the scenario really pays invoices
    assert coda_invoices == camt_invoices
