"""The invoice's payment QR (issue 42): the PNG is decoded by zbar (Debian's zbar-tools, which .ci/run installs)
and its payload compared line by line with EPC069-12: an OGM invoice, an RF invoice, a partly paid invoice."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

OGM = "+++090/9337/55493+++"
RF = "RF18539007547034"


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def zbar(png: bytes, tmp_path) -> list[str]:
    """The text a phone's scanner reads from the image, line by line."""
    if shutil.which("zbarimg") is None:
        if os.environ.get("CODARECON_REQUIRE_TOOLS") == "1":
            pytest.fail("zbarimg missing (zbar-tools; CODARECON_REQUIRE_TOOLS=1)")
        pytest.skip("needs zbarimg (Debian's zbar-tools; .ci/run installs it)")
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    read = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, timeout=30, check=True)
    return read.stdout.decode("utf-8").rstrip("\n").split("\n")


def qr(client, key, invoice_id: str, **params: str):
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice_id}/payment-qr", params=params, headers=key)


def expected(amount: str, reference: str) -> list[str]:
    # Service tag, version, UTF-8, SEPA credit transfer, no BIC, name, IBAN, amount, no purpose, the reference in
    # the structured line; the unstructured line is left out (empty).
    return ["BCD", "002", "1", "SCT", "", "Demo BV", IBAN, f"EUR{amount}", "", reference]


def test_an_ogm_invoice_gives_its_12_digits_in_the_structured_line(client, key, tmp_path):
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key
    ).json()
    png = qr(client, key, invoice["id"], format="png")
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")
    assert zbar(png.content, tmp_path) == expected("121.00", "090933755493")
    text = qr(client, key, invoice["id"], format="text")
    assert text.text.split("\n") == expected("121.00", "090933755493")
    svg = qr(client, key, invoice["id"])
    assert svg.headers["content-type"] == "image/svg+xml" and svg.content.startswith(b"<svg")


def test_an_rf_invoice_gives_its_reference_as_it_is(client, key, tmp_path):
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=RF), headers=key
    ).json()
    assert zbar(qr(client, key, invoice["id"], format="png").content, tmp_path) == expected("121.00", RF)


def test_a_partly_paid_invoice_asks_for_what_is_still_due(client, key, tmp_path):
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key
    ).json()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("21.00", OGM)), headers=key)
    assert client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()["amount_due"] == "100.00"
    assert zbar(qr(client, key, invoice["id"], format="png").content, tmp_path) == expected("100.00", "090933755493")


def test_nothing_to_pay_is_a_409_and_a_foreign_account_a_422(client, key):
    paid = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", OGM)), headers=key)
    answer = qr(client, key, paid.json()["id"])
    assert (answer.status_code, answer.json()["type"]) == (409, "https://codarecon.dev/problems/conflict")
    cancelled = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("C-1"), headers=key).json()
    client.post(f"/v1/companies/{VAT}/invoices/{cancelled['id']}/cancel", headers=key).raise_for_status()
    assert qr(client, key, cancelled["id"]).status_code == 409
    open_one = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("O-1"), headers=key).json()
    other = qr(client, key, open_one["id"], iban="BE68539007547034")
    assert (other.status_code, other.json()["errors"][0]["loc"]) == (422, "query.iban")
    assert qr(client, key, open_one["id"], format="gif").status_code == 422


def test_a_company_without_an_account_has_no_qr(client):
    make_company(client, vat="BE0417497106", name="No Account NV")
    other = make_key(client, vat="BE0417497106")
    invoice = client.post("/v1/companies/BE0417497106/invoices", json=invoice_body(), headers=other).json()
    answer = client.get(f"/v1/companies/BE0417497106/invoices/{invoice['id']}/payment-qr", headers=other)
    assert answer.status_code == 409 and "no bank account" in answer.json()["detail"]
