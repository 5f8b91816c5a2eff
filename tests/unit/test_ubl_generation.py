"""Generated Peppol BIS 3 documents pass the official rules for every VAT category, for credit notes and with
a PDF; they carry the structured reference as PaymentID and the company's IBAN as payee account."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from app.codabox.ubl import Address, Party, UblInvoice, build_ubl
from app.peppol.lines import Line
from app.peppol.validation import validate_ubl

CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
SELLER = Party(
    "Demo BV", vat="BE0403200393", endpoint="0208:0403200393", address=Address("BE", "Markt 1", "Brugge", "8000")
)
BELGIAN = Party("Klant NV", vat="BE0417497106", endpoint="0208:0417497106")
GERMAN = Party("Kunde GmbH", vat="DE136695976", endpoint="9930:DE136695976")
AMERICAN = Party("Client Inc", endpoint="0088:1234567890128", address=Address("US", city="Boston"))


def line(category: str, rate: str = "0", reason: str | None = None, price: str = "100.00", qty: str = "1") -> Line:
    return Line("Werk", Decimal(qty), Decimal(price), "C62", category, Decimal(rate), reason)


def document(lines: list[Line], buyer: Party = BELGIAN, **extra) -> UblInvoice:
    return UblInvoice(
        number="2026/001",
        kind=extra.pop("kind", "invoice"),
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        currency="EUR",
        seller=SELLER,
        buyer=buyer,
        payment_reference="+++090/9337/55493+++",
        lines=tuple(lines),
        seller_iban="BE68539007547034",
        **extra,
    )


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("standard, two rates", document([line("S", "21"), line("S", "6", price="10.555", qty="3")])),
        ("zero rated", document([line("Z")])),
        ("exempt with a reason", document([line("E", reason="Artikel 44 WBTW")])),
        ("reverse charge", document([line("AE")], buyer=GERMAN)),
        ("intra-community supply", document([line("K")], buyer=GERMAN)),
        ("export", document([line("G")], buyer=AMERICAN)),
        ("out of scope", document([line("O")])),
        ("mixed S and Z", document([line("S", "21"), line("Z")])),
        ("credit note", document([line("S", "21")], kind="credit_note", billing_reference="2026/000")),
        ("with a PDF", document([line("S", "21")], pdf=b"%PDF-1.4 x", buyer_reference="PO-1")),
    ],
)
def test_generated_documents_pass_en16931_and_peppol(name, doc):
    report = validate_ubl(build_ubl(doc))
    assert (name, report.errors) == (name, [])


def test_the_document_carries_the_reference_the_iban_the_pdf_and_the_computed_totals():
    xml = ET.fromstring(build_ubl(document([line("S", "21"), line("S", "6", price="10.555", qty="3")], pdf=b"%PDF")))
    assert xml.find(f".//{CBC}PaymentID").text == "+++090/9337/55493+++"
    assert xml.find(f".//{CBC}PayableAmount").text == "154.57"  # 100 + 31.67 (31.665 half up) + 21 + 1.90
    assert [e.text for e in xml.iter(f"{CBC}TaxAmount")] == ["22.90", "21.00", "1.90"]
    payee = xml.find(".//{*}PayeeFinancialAccount/{*}ID")
    assert payee is not None and payee.text == "BE68539007547034"
    attached = xml.find(f".//{CBC}EmbeddedDocumentBinaryObject")
    assert base64.b64decode(attached.text) == b"%PDF" and attached.get("mimeCode") == "application/pdf"


def test_without_lines_nothing_is_generated():
    with pytest.raises(ValueError, match="generated from lines only"):
        build_ubl(document([]))


def test_a_refused_delivery_names_each_failed_rule_once_and_the_first_three_messages():
    from app.codabox.delivery import refusal
    from app.peppol.validation import Finding, Report

    report = Report(
        errors=[Finding("BR-01", "one"), Finding("BR-02", "two"), Finding("BR-01", "three"), Finding("BR-03", "four")]
    )
    assert refusal(report) == "not sent: the UBL document fails BR-01, BR-02, BR-03 (one; two; three)"
    # Stored with the invoice and shown to the integrator: bounded however long the messages are.
    assert len(refusal(Report(errors=[Finding("BR-01", "x" * 3000)]))) == 2000
