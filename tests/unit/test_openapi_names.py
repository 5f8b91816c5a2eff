"""The names a generated client takes from the committed OpenAPI document: one readable, unique operationId per
operation, and schema names without Python module paths or generic brackets."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())


def test_every_operation_has_a_readable_unique_id():
    ids = [op["operationId"] for ops in DOCUMENT["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", operation_id), operation_id


def test_the_operations_clients_use_most_have_the_names_they_expect():
    ids = {(method, path): op["operationId"] for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()}
    assert ids[("post", "/v1/companies/{vat}/invoices")] == "createInvoice"
    assert ids[("get", "/v1/companies/{vat}/transactions")] == "listTransactions"
    path = "/v1/companies/{vat}/transactions/{transaction_id}/suggestions/{suggestion_id}/accept"
    assert ids[("post", path)] == "acceptSuggestion"


def test_schema_names_are_names():
    names = list(DOCUMENT["components"]["schemas"])
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) for name in names), [n for n in names if "_" in n]
    assert {"InvoicePage", "TransactionPage", "InvoiceDelivery", "WebhookDelivery"} <= set(names)
    # Every reference names a schema that is there.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(DOCUMENT)))
    assert refs <= set(names), refs - set(names)
