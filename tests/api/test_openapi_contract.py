"""The OpenAPI document as an integrator codes against it: every operation summarised and described, the bearer
scheme on every protected one, every error in the problem+json shape actually returned, Idempotency-Key on every
POST, and a whole example of every JSON body, which the service itself accepts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app.invoices import service as invoice_service
from app.openapi.examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from app.openapi.export import openapi_document
from tests.helpers import ADMIN

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PUBLIC = {"/healthz", "/readyz", "/v1/webhooks/inbound", "/v1/webhooks/ponto", "/v1/ponto/callback"}
#: A page for a person's browser: its refusals are pages too.
HTML = {"text/html": {}}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def models_by_name() -> dict[str, type[BaseModel]]:
    import app.main  # noqa: F401  (every route's models)

    found: dict[str, type[BaseModel]] = {}
    stack = list(BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        found.setdefault(model.__name__, model)
        stack += model.__subclasses__()
    return found


def test_every_operation_is_summarised_described_secured_and_answers_problems():
    for path, method, operation in operations():
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation.get("description"), where
        assert (operation.get("security") == [{"bearer": []}]) == (path not in PUBLIC), where
        errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
        assert errors or path in ("/healthz", "/readyz"), where
        for status, response in errors.items():
            page = path == "/v1/ponto/callback" and response.get("content") == HTML
            assert response.get("content") == PROBLEM or page, (where, status)
        if path not in PUBLIC:
            assert {"401", "403"} <= set(errors), where
        if method == "post":
            assert any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])), where
    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A company key (read or write scope) or the admin token.",
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_json_body_has_a_whole_example_that_its_model_accepts():
    schemas = openapi_document()["components"]["schemas"]
    models = models_by_name()
    bodies = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for _, _, operation in operations()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    assert bodies == set(REQUEST_EXAMPLES)
    for name, example in {**REQUEST_EXAMPLES, **RESPONSE_EXAMPLES}.items():
        assert schemas[name]["examples"] == [example], name
        models[name].model_validate(example)
    for item in REQUEST_EXAMPLES["BatchCreate"]["invoices"]:  # a batch reads each invoice on its own
        assert not isinstance(invoice_service.parse_batch_item(item), Exception), item


@pytest.mark.parametrize("kind", ["invoice", "batch"])
def test_the_examples_are_requests_the_service_takes(client, kind):
    company = REQUEST_EXAMPLES["CompanyCreate"]
    created = client.post("/v1/companies", json=company, headers=ADMIN)
    assert created.status_code == 201, created.text
    base = f"/v1/companies/{company['vat']}"
    assert client.post(f"{base}/api-keys", json=REQUEST_EXAMPLES["ApiKeyCreate"], headers=ADMIN).status_code == 201
    assert client.patch(base, json=REQUEST_EXAMPLES["CompanyUpdate"], headers=ADMIN).status_code == 200
    assert client.put(f"{base}/matching-config", json=REQUEST_EXAMPLES["MatchingConfigIn"], headers=ADMIN).is_success
    if kind == "invoice":
        answer = client.post(f"{base}/invoices", json=REQUEST_EXAMPLES["InvoiceCreate"], headers=ADMIN)
        assert answer.status_code == 201, answer.text
        shown = RESPONSE_EXAMPLES["InvoicePublic"]
        got = answer.json()
        # The documented answer is this invoice once paid: the same amounts, lines and VAT.
        for field in ("number", "total_amount", "lines", "vat_breakdown", "tax_exclusive_amount", "tax_amount"):
            assert got[field] == shown[field], field
    else:
        answer = client.post(f"{base}/invoices/batch", json=REQUEST_EXAMPLES["BatchCreate"], headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert [r["status"] for r in answer.json()["results"]] == [201, 201]
