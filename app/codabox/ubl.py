"""Generate a UBL 2.1 / Peppol BIS Billing 3.0 invoice (or credit note) for invoices sent without a UBL.

Our invoice resource has a total but no VAT breakdown, so the generated document has one line and assumes
the Belgian standard rate (21 %, category S): net = total / 1.21, rounded to the cent, VAT = total - net.
Integrators who know their lines and rates should send their own UBL document (content type
application/xml), which is forwarded as it is. The PDF, when given, is embedded as an
AdditionalDocumentReference.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

NS = {
    "": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
STANDARD_RATE = Decimal("21")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Party:
    name: str
    vat: str | None = None  # BE0123456789 for Belgian parties
    email: str | None = None
    country: str = "BE"


@dataclass(frozen=True)
class UblInvoice:
    number: str
    kind: str  # "invoice" | "credit_note"
    issue_date: date
    due_date: date
    currency: str
    total: Decimal  # VAT included, what the customer pays
    seller: Party
    buyer: Party
    payment_reference: str
    seller_iban: str | None = None
    pdf: bytes | None = None
    pdf_filename: str = "invoice.pdf"


def _c(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    prefix, _, name = tag.partition(":")
    element = ET.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _money(parent: ET.Element, tag: str, amount: Decimal, currency: str) -> None:
    _c(parent, tag, str(amount.quantize(CENT)), currencyID=currency)


def _party(parent: ET.Element, role: str, party: Party) -> None:
    node = _c(_c(parent, role), "cac:Party")
    digits = party.vat[2:] if party.vat and party.vat.startswith("BE") else None
    if digits:
        _c(node, "cbc:EndpointID", digits, schemeID="0208")  # Belgian enterprise number
    elif party.email:
        _c(node, "cbc:EndpointID", party.email, schemeID="EM")
    _c(_c(node, "cac:PartyName"), "cbc:Name", party.name)
    _c(_c(_c(node, "cac:PostalAddress"), "cac:Country"), "cbc:IdentificationCode", party.country)
    if party.vat:
        tax = _c(node, "cac:PartyTaxScheme")
        _c(tax, "cbc:CompanyID", party.vat)
        _c(_c(tax, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _c(node, "cac:PartyLegalEntity")
    _c(legal, "cbc:RegistrationName", party.name)
    if digits:
        _c(legal, "cbc:CompanyID", digits, schemeID="0208")


def split_total(total: Decimal) -> tuple[Decimal, Decimal]:
    net = (total * 100 / (100 + STANDARD_RATE)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, total - net


def build_ubl(invoice: UblInvoice) -> bytes:
    credit = invoice.kind == "credit_note"
    root_ns = CREDIT_NOTE_NS if credit else NS[""]
    ET.register_namespace("", root_ns)
    ET.register_namespace("cac", NS["cac"])
    ET.register_namespace("cbc", NS["cbc"])
    root = ET.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}")
    currency = invoice.currency
    _c(root, "cbc:CustomizationID", CUSTOMIZATION)
    _c(root, "cbc:ProfileID", PROFILE)
    _c(root, "cbc:ID", invoice.number)
    _c(root, "cbc:IssueDate", invoice.issue_date.isoformat())
    if not credit:
        _c(root, "cbc:DueDate", invoice.due_date.isoformat())
    _c(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", "381" if credit else "380")
    _c(root, "cbc:DocumentCurrencyCode", currency)
    _c(root, "cbc:BuyerReference", invoice.payment_reference)
    if invoice.pdf is not None:
        reference = _c(root, "cac:AdditionalDocumentReference")
        _c(reference, "cbc:ID", invoice.number)
        _c(
            _c(reference, "cac:Attachment"),
            "cbc:EmbeddedDocumentBinaryObject",
            base64.b64encode(invoice.pdf).decode(),
            mimeCode="application/pdf",
            filename=invoice.pdf_filename,
        )
    _party(root, "cac:AccountingSupplierParty", invoice.seller)
    _party(root, "cac:AccountingCustomerParty", invoice.buyer)
    means = _c(root, "cac:PaymentMeans")
    _c(means, "cbc:PaymentMeansCode", "30")  # credit transfer
    _c(means, "cbc:PaymentID", invoice.payment_reference)
    if invoice.seller_iban:
        _c(_c(means, "cac:PayeeFinancialAccount"), "cbc:ID", invoice.seller_iban)
    net, vat = split_total(invoice.total)
    tax_total = _c(root, "cac:TaxTotal")
    _money(tax_total, "cbc:TaxAmount", vat, currency)
    subtotal = _c(tax_total, "cac:TaxSubtotal")
    _money(subtotal, "cbc:TaxableAmount", net, currency)
    _money(subtotal, "cbc:TaxAmount", vat, currency)
    category = _c(subtotal, "cac:TaxCategory")
    _c(category, "cbc:ID", "S")
    _c(category, "cbc:Percent", str(STANDARD_RATE))
    _c(_c(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    totals = _c(root, "cac:LegalMonetaryTotal")
    _money(totals, "cbc:LineExtensionAmount", net, currency)
    _money(totals, "cbc:TaxExclusiveAmount", net, currency)
    _money(totals, "cbc:TaxInclusiveAmount", invoice.total, currency)
    _money(totals, "cbc:PayableAmount", invoice.total, currency)
    line = _c(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    _c(line, "cbc:ID", "1")
    _c(line, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", "1", unitCode="C62")
    _money(line, "cbc:LineExtensionAmount", net, currency)
    item = _c(line, "cac:Item")
    _c(item, "cbc:Name", f"Invoice {invoice.number}")
    tax_category = _c(item, "cac:ClassifiedTaxCategory")
    _c(tax_category, "cbc:ID", "S")
    _c(tax_category, "cbc:Percent", str(STANDARD_RATE))
    _c(_c(tax_category, "cac:TaxScheme"), "cbc:ID", "VAT")
    _money(_c(line, "cac:Price"), "cbc:PriceAmount", net, currency)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)
