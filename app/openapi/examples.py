"""Whole-request examples for every JSON body of the API, shown in /docs and /redoc as the body to send.

Each one is a real request: tests/unit/test_openapi_examples.py validates it against the document's schema and
against the route's own model, and sends the invoice, statement and allocation examples to the service.
"""

from __future__ import annotations

from typing import Any

_INVOICE: dict[str, Any] = {
    "external_id": "INV-2026-0042",
    "number": "2026/0042",
    "kind": "invoice",
    "issue_date": "2026-11-02",
    "due_date": "2026-12-02",
    "currency": "EUR",
    "customer": {
        "name": "Klant NV",
        "vat": "BE0417497106",
        "iban": "BE71096123456769",
        "email": "boekhouding@klant.example",
        "address": {"street": "Markt 5", "city": "Brugge", "postal_code": "8000", "country": "BE"},
    },
    "buyer_reference": "PO-7781",
    "lines": [
        {"description": "Consultancy, November", "quantity": "10", "unit_price": "95.00", "vat_rate": "21"},
        {"description": "Vakboek", "quantity": "2", "unit_price": "30.00", "vat_rate": "6"},
    ],
    "structured_reference": "+++090/9337/55493+++",
}

#: By component schema name: one whole request each.
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "CompanyCreate": {
        "vat": "BE0403200393",
        "name": "Demo BV",
        "email": "facturatie@demo.example",
        "bank_accounts": ["BE80001000000177"],
        "address": {"street": "Kerkstraat 1", "city": "Gent", "postal_code": "9000", "country": "BE"},
        "payment_tolerance": {"amount": "1.00"},
    },
    "CompanyUpdate": {"bank_accounts": ["BE80001000000177", "BE68539007547034"], "payment_tolerance": {"percent": "1"}},
    "ApiKeyCreate": {"scope": "write", "name": "webshop"},
    "ApiKeyRotate": {"grace_seconds": 86400},
    "BankAccountMove": {"to": "BE0417497106"},
    "TokenIn": {"token": "the token CodaBox e-mailed to the company"},
    "InvoiceCreate": _INVOICE,
    "BatchCreate": {
        "invoices": [
            _INVOICE,
            {
                "external_id": "CN-2026-0007",
                "number": "2026/CN/0007",
                "kind": "credit_note",
                "issue_date": "2026-11-20",
                "due_date": "2026-11-20",
                "total_amount": "60.50",
                "customer": {"name": "Klant NV", "vat": "BE0417497106"},
                "billing_reference": "2026/0042",
            },
        ]
    },
    "WriteOffIn": {"amount": "0.50", "reason": "payment_difference", "note": "the customer rounded down"},
    "MatchingConfigIn": {"auto_threshold": 0.9, "suggest_threshold": 0.5, "name_threshold": 85},
    "ManualAllocationIn": {
        "invoice_id": "inv_01JD8Z6Q3S9K2W4Y7B5N1M0PXR",
        "amount": "1213.10",
        "allow_overpayment": False,
    },
    "TransactionWriteOffIn": {"amount": "2.50", "reason": "bank_fee", "note": "charges of the payer's bank"},
    "EndpointCreate": {
        "url": "https://app.example/hooks/codarecon",
        "company_vat": "BE0403200393",
        "events": ["invoice.paid", "invoice.partially_paid", "invoice.overpaid", "suggestion.created"],
    },
    "EndpointUpdate": {"enabled": False},
    "RuleCreate": {
        "name": "KBC charges",
        "words": ["kosten"],
        "counterparty_iban": "BE68539007547034",
        "direction": "out",
        "amount_max": "10.00",
        "action": "keep",
        "reason": "bank_fee",
    },
    "RuleUpdate": {"state": "on"},
}

#: By component schema name: the answer to the examples above (the invoice, paid by its structured reference).
RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "InvoicePublic": {
        "id": "inv_01a24012d82a75a67bc7fc489ca9",
        # As sent: the same identity, dates and currency (tests/api/test_openapi_contract.py sends the request).
        **{k: _INVOICE[k] for k in ("external_id", "number", "kind", "issue_date", "due_date", "currency")},
        "total_amount": "1213.10",
        "customer": {
            **_INVOICE["customer"],
            "peppol_id": "0208:0417497106",
        },
        "lines": [
            {
                "description": "Consultancy, November",
                "quantity": "10",
                "unit_price": "95",
                "unit_code": "C62",
                "vat_category": "S",
                "vat_rate": "21",
                "vat_exemption_reason": None,
                "net_amount": "950.00",
            },
            {
                "description": "Vakboek",
                "quantity": "2",
                "unit_price": "30",
                "unit_code": "C62",
                "vat_category": "S",
                "vat_rate": "6",
                "vat_exemption_reason": None,
                "net_amount": "60.00",
            },
        ],
        "vat_breakdown": [
            {"category": "S", "rate": "21", "taxable_amount": "950.00", "tax_amount": "199.50"},
            {"category": "S", "rate": "6", "taxable_amount": "60.00", "tax_amount": "3.60"},
        ],
        "tax_exclusive_amount": "1010.00",
        "tax_amount": "203.10",
        "buyer_reference": "PO-7781",
        "billing_reference": None,
        "structured_reference": "+++090/9337/55493+++",
        "mandate_reference": None,
        "collection_reference": None,
        "status": "paid",
        "amount_paid": "1213.10",
        "write_off_amount": "0.00",
        "amount_due": "0.00",
        "pending_amount": "0.00",
        "paid_at": "2026-11-28",
        "cancelled_at": None,
        "allocations": [
            {
                "id": "alc_5c1e0d6a2b7f49e3a8d1c0b9e4f7",
                "transaction_id": "tx_3f9a1c7e5b2d48a6b0e4c2d9f1a8",
                "invoice_id": "inv_01a24012d82a75a67bc7fc489ca9",
                "amount": "1213.10",
                "method": "structured_reference",
                "confidence": 1.0,
                "reasons": [
                    {
                        "code": "structured_reference",
                        "message": "+++090/9337/55493+++ is the structured reference of invoice 2026/0042",
                    }
                ],
                "returns": None,
                "created_by": "matcher",
                "created_at": "2026-11-28T06:12:09Z",
            }
        ],
        "returns": [],
        "write_offs": [],
        "documents": [],
        "delivery": {"status": "delivered", "attempts": 1, "last_error": None},
        "created_at": "2026-11-02T09:30:00Z",
        "updated_at": "2026-11-28T06:12:09Z",
    }
}
