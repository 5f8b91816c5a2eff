"""Generate a Peppol BIS Billing 3.0 (EN 16931) UBL 2.1 Invoice or CreditNote from an invoice's own lines.

Every amount comes from the lines and their VAT categories and rates (app/peppol/lines.py); nothing is
assumed. An invoice without lines gets no generated document at all (its delivery says a document is
needed). Elements follow the UBL 2.1 schema's order. The structured reference is the PaymentID, the
company's IBAN the payee account, and the PDF, when given, is embedded as an AdditionalDocumentReference.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.peppol.lines import CATEGORIES, Line, VatSubtotal, compute_totals

NS = {
    "": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Address:
    country: str
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class Party:
    name: str
    vat: str | None = None  # with its country prefix: BE0123456789, DE136695976
    endpoint: str | None = None  # Peppol participant id, scheme:identifier
    address: Address | None = None

    @property
    def country(self) -> str:
        if self.address is not None:
            return self.address.country
        if self.vat and self.vat[:2].isalpha():
            return "GR" if self.vat[:2] == "EL" else self.vat[:2]
        return "BE"

    @property
    def enterprise_number(self) -> str | None:
        return self.vat[2:] if self.vat and self.vat.startswith("BE") else None


@dataclass(frozen=True)
class UblInvoice:
    number: str
    kind: str  # "invoice" | "credit_note"
    issue_date: date
    due_date: date
    currency: str
    seller: Party
    buyer: Party
    payment_reference: str
    lines: tuple[Line, ...]
    seller_iban: str | None = None
    buyer_reference: str | None = None
    billing_reference: str | None = None
    pdf: bytes | None = None
    pdf_filename: str = "invoice.pdf"
    notes: tuple[str, ...] = field(default_factory=tuple)


def _c(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    prefix, _, name = tag.partition(":")
    element = ET.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _money(parent: ET.Element, tag: str, amount: Decimal, currency: str) -> None:
    _c(parent, tag, str(amount.quantize(CENT)), currencyID=currency)


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _party(parent: ET.Element, role: str, party: Party, *, with_vat: bool) -> None:
    node = _c(_c(parent, role), "cac:Party")
    if party.endpoint:
        scheme, _, identifier = party.endpoint.partition(":")
        _c(node, "cbc:EndpointID", identifier, schemeID=scheme)
    _c(_c(node, "cac:PartyName"), "cbc:Name", party.name)
    address = _c(node, "cac:PostalAddress")
    if party.address is not None:
        if party.address.street:
            _c(address, "cbc:StreetName", party.address.street)
        if party.address.city:
            _c(address, "cbc:CityName", party.address.city)
        if party.address.postal_code:
            _c(address, "cbc:PostalZone", party.address.postal_code)
    _c(_c(address, "cac:Country"), "cbc:IdentificationCode", party.country)
    if party.vat and with_vat:
        tax = _c(node, "cac:PartyTaxScheme")
        _c(tax, "cbc:CompanyID", party.vat)
        _c(_c(tax, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _c(node, "cac:PartyLegalEntity")
    _c(legal, "cbc:RegistrationName", party.name)
    if party.enterprise_number:
        _c(legal, "cbc:CompanyID", party.enterprise_number, schemeID="0208")


def _tax_category(parent: ET.Element, tag: str, category: str, rate: Decimal, sub: VatSubtotal | None) -> None:
    node = _c(parent, tag)
    _c(node, "cbc:ID", category)
    if category != "O":  # "not subject to VAT" has no rate at all (BR-O-05)
        _c(node, "cbc:Percent", _number(rate))
    if sub is not None and category in ("E", "AE", "K", "G", "O"):
        if sub.exemption_code:
            _c(node, "cbc:TaxExemptionReasonCode", sub.exemption_code)
        if sub.exemption_reason and not sub.exemption_reason.upper().startswith("VATEX-"):
            _c(node, "cbc:TaxExemptionReason", sub.exemption_reason)
        if not sub.exemption_code and not sub.exemption_reason:
            _c(node, "cbc:TaxExemptionReason", CATEGORIES[category])
    _c(_c(node, "cac:TaxScheme"), "cbc:ID", "VAT")


def build_ubl(invoice: UblInvoice) -> bytes:
    if not invoice.lines:
        raise ValueError("a UBL document is generated from lines only; this invoice has none")
    credit = invoice.kind == "credit_note"
    totals = compute_totals(list(invoice.lines))
    categories = {sub.category for sub in totals.breakdown}
    out_of_scope = categories == {"O"}  # such an invoice names no VAT number at all (BR-O-02, BR-O-04)
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
    for note in invoice.notes:
        _c(root, "cbc:Note", note)
    _c(root, "cbc:DocumentCurrencyCode", currency)
    _c(root, "cbc:BuyerReference", invoice.buyer_reference or invoice.payment_reference)
    if invoice.billing_reference:
        _c(_c(_c(root, "cac:BillingReference"), "cac:InvoiceDocumentReference"), "cbc:ID", invoice.billing_reference)
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
    _party(root, "cac:AccountingSupplierParty", invoice.seller, with_vat=not out_of_scope)
    _party(root, "cac:AccountingCustomerParty", invoice.buyer, with_vat=not out_of_scope)
    if "K" in categories:  # an intra-community supply says when and where it was delivered (BR-IC-11, -12)
        delivery = _c(root, "cac:Delivery")
        _c(delivery, "cbc:ActualDeliveryDate", invoice.issue_date.isoformat())
        location = _c(_c(delivery, "cac:DeliveryLocation"), "cac:Address")
        _c(_c(location, "cac:Country"), "cbc:IdentificationCode", invoice.buyer.country)
    means = _c(root, "cac:PaymentMeans")
    _c(means, "cbc:PaymentMeansCode", "30")  # credit transfer
    if credit:
        _c(means, "cbc:PaymentDueDate", invoice.due_date.isoformat())
    _c(means, "cbc:PaymentID", invoice.payment_reference)
    if invoice.seller_iban:
        _c(_c(means, "cac:PayeeFinancialAccount"), "cbc:ID", invoice.seller_iban)
    tax_total = _c(root, "cac:TaxTotal")
    _money(tax_total, "cbc:TaxAmount", totals.tax, currency)
    for sub in totals.breakdown:
        subtotal = _c(tax_total, "cac:TaxSubtotal")
        _money(subtotal, "cbc:TaxableAmount", sub.taxable_amount, currency)
        _money(subtotal, "cbc:TaxAmount", sub.tax_amount, currency)
        _tax_category(subtotal, "cac:TaxCategory", sub.category, sub.rate, sub)
    monetary = _c(root, "cac:LegalMonetaryTotal")
    _money(monetary, "cbc:LineExtensionAmount", totals.tax_exclusive, currency)
    _money(monetary, "cbc:TaxExclusiveAmount", totals.tax_exclusive, currency)
    _money(monetary, "cbc:TaxInclusiveAmount", totals.total, currency)
    _money(monetary, "cbc:PayableAmount", totals.total, currency)
    for number, line in enumerate(invoice.lines, start=1):
        node = _c(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _c(node, "cbc:ID", str(number))
        _c(
            node,
            "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
            _number(line.quantity),
            unitCode=line.unit_code,
        )
        _money(node, "cbc:LineExtensionAmount", line.net, currency)
        item = _c(node, "cac:Item")
        _c(item, "cbc:Name", line.description[:200])
        _tax_category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, None)
        price = _c(node, "cac:Price")
        _c(price, "cbc:PriceAmount", _number(line.unit_price) if line.unit_price else "0", currencyID=currency)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)
