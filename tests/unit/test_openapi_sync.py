"""The committed OpenAPI document is what the app serves; `make openapi` regenerates it."""

from __future__ import annotations

import json
from pathlib import Path

from app.openapi.export import openapi_document, render

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_is_in_sync():
    assert COMMITTED.exists(), "run `make openapi` and commit openapi/openapi.json"
    assert COMMITTED.read_text() == render(), "the API changed: run `make openapi` and commit the result"


def test_contract_paths_are_documented():
    paths = openapi_document()["paths"]
    for path in (
        "/v1/companies",
        "/v1/companies/{vat}/api-keys",
        "/v1/companies/{vat}/invoices",
        "/v1/companies/{vat}/invoices/batch",
        "/v1/companies/{vat}/invoices/{invoice_id}",
        "/v1/companies/{vat}/invoices/{invoice_id}/cancel",
        "/v1/companies/{vat}/statements",
        "/v1/companies/{vat}/transactions",
        "/v1/companies/{vat}/transactions/{transaction_id}",
        "/v1/companies/{vat}/transactions/{transaction_id}/allocations",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    json.dumps(paths)  # serialisable
