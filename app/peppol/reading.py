"""What a client's own UBL Invoice or CreditNote says, read by local element names: the invoice fields the
JSON may omit (number, dates, currency, total, PaymentID, customer, references), its VAT breakdown and lines
for display, and its seller (who must be the company)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.xml_names import child as _child
from app.core.xml_names import local as _local
from app.core.xml_names import text as _text
from app.peppol.validation import Finding, read_ubl


@dataclass
class UblFacts:
    kind: str  # "invoice" | "credit_note"
    number: str | None = None
    issue_date: str | None = None
    due_date: str | None = None
    currency: str | None = None
    total_amount: Decimal | None = None
    tax_exclusive_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    payment_id: str | None = None
    buyer_reference: str | None = None
    billing_reference: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    seller_vat: str | None = None
    seller_endpoint: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    vat_breakdown: list[dict[str, Any]] = field(default_factory=list)


def _amount(element: Any, *path: str) -> Decimal | None:
    text = _text(element, *path)
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None


def _party(party: Any) -> dict[str, Any]:
    if party is None:
        return {}
    endpoint = _child(party, "EndpointID")
    address = _child(party, "PostalAddress")
    country = _text(address, "Country", "IdentificationCode") if address is not None else None
    out: dict[str, Any] = {
        "name": _text(party, "PartyLegalEntity", "RegistrationName") or _text(party, "PartyName", "Name"),
        "vat": _text(party, "PartyTaxScheme", "CompanyID"),
        "peppol_id": f"{endpoint.get('schemeID')}:{endpoint.text.strip()}"
        if endpoint is not None and endpoint.text and endpoint.get("schemeID")
        else None,
    }
    if country:
        out["address"] = {
            "street": _text(address, "StreetName"),
            "city": _text(address, "CityName"),
            "postal_code": _text(address, "PostalZone"),
            "country": country,
        }
    return {k: v for k, v in out.items() if v is not None}


def read_facts(data: bytes) -> UblFacts | Finding:
    read = read_ubl(data)
    if isinstance(read, Finding):
        return read
    root, kind = read
    credit = kind == "CreditNote"
    means = _child(root, "PaymentMeans")
    facts = UblFacts(
        kind="credit_note" if credit else "invoice",
        number=_text(root, "ID"),
        issue_date=_text(root, "IssueDate"),
        due_date=_text(root, "DueDate") or (_text(means, "PaymentDueDate") if means is not None else None),
        currency=_text(root, "DocumentCurrencyCode"),
        total_amount=_amount(root, "LegalMonetaryTotal", "PayableAmount"),
        tax_exclusive_amount=_amount(root, "LegalMonetaryTotal", "TaxExclusiveAmount"),
        tax_amount=_amount(root, "TaxTotal", "TaxAmount"),
        payment_id=_text(means, "PaymentID") if means is not None else None,
        buyer_reference=_text(root, "BuyerReference"),
        billing_reference=_text(root, "BillingReference", "InvoiceDocumentReference", "ID"),
        customer=_party(_child(root, "AccountingCustomerParty", "Party")),
    )
    seller = _child(root, "AccountingSupplierParty", "Party")
    if seller is not None:
        facts.seller_vat = _text(seller, "PartyTaxScheme", "CompanyID")
        legal = _child(seller, "PartyLegalEntity", "CompanyID")
        endpoint = _child(seller, "EndpointID")
        ids = [e for e in (legal, endpoint) if e is not None and e.text]
        facts.seller_endpoint = next((f"{e.get('schemeID')}:{e.text.strip()}" for e in ids if e.get("schemeID")), None)
    tax_total = _child(root, "TaxTotal")
    for sub in tax_total if tax_total is not None else []:
        if _local(sub) == "TaxSubtotal":
            facts.vat_breakdown.append(
                {
                    "category": _text(sub, "TaxCategory", "ID") or "",
                    "rate": _text(sub, "TaxCategory", "Percent") or "0",
                    "taxable_amount": _text(sub, "TaxableAmount") or "0",
                    "tax_amount": _text(sub, "TaxAmount") or "0",
                }
            )
    for line in root:
        if _local(line) not in ("InvoiceLine", "CreditNoteLine"):
            continue
        quantity = _child(line, "CreditedQuantity" if credit else "InvoicedQuantity")
        facts.lines.append(
            {
                "description": _text(line, "Item", "Name") or "",
                "quantity": quantity.text.strip() if quantity is not None and quantity.text else "0",
                "unit_price": _text(line, "Price", "PriceAmount") or "0",
                "unit_code": quantity.get("unitCode", "C62") if quantity is not None else "C62",
                "vat_category": _text(line, "Item", "ClassifiedTaxCategory", "ID") or "",
                "vat_rate": _text(line, "Item", "ClassifiedTaxCategory", "Percent") or "0",
                "vat_exemption_reason": None,
                "net_amount": _text(line, "LineExtensionAmount") or "0",
            }
        )
    return facts
