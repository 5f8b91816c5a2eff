"""No body is read before the credential is checked, and bodies are capped per route before parsing."""

from __future__ import annotations

import base64

import anyio
import pytest

from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key


def call(app, method: str, path: str, headers: dict[str, str], chunks: list[bytes] | None):
    """Drive the ASGI app directly; ``chunks`` None means that reading the body fails the test."""
    messages: list[dict] = []
    reads = 0

    async def receive():
        nonlocal reads
        if chunks is None:
            raise AssertionError("the body was read")
        if reads < len(chunks):
            reads += 1
            return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    anyio.run(app, scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer key_unknown.secret"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer not-the-admin-token", "idempotency-key": "k1"},
    ],
)
def test_a_huge_body_without_a_valid_credential_gets_401_unread(client, app, headers):
    big = {"content-type": "application/json", "content-length": str(300 * 1024 * 1024), **headers}
    status, body = call(app, "POST", f"/v1/companies/{VAT}/invoices", big, None)
    assert status == 401
    assert b"problems/unauthorized" in body


def test_a_json_body_over_one_mebibyte_is_413_before_parsing(client, app, key):
    headers = {**{k.lower(): v for k, v in key.items()}, "content-type": "application/json"}
    status, _ = call(app, "PATCH", f"/v1/companies/{VAT}", {**headers, "content-length": str(2 * 1024 * 1024)}, None)
    assert status == 413
    # Streamed without a length, cut off at the cap: still 413, not a parse error.
    chunk = b'{"name": "' + b"x" * (256 * 1024)
    status, body = call(app, "PATCH", f"/v1/companies/{VAT}", headers, [chunk] * 8)
    assert status == 413, body
    assert b"problems/too-large" in body


def test_an_inbound_webhook_is_capped_before_its_signature_is_checked(client, app):
    headers = {"content-type": "application/json", "content-length": str(1024 * 1024)}
    status, _ = call(app, "POST", "/v1/webhooks/inbound", headers, None)
    assert status == 413


def test_invoices_with_documents_may_be_larger_than_plain_json(client, key):
    pdf = base64.b64encode(b"%PDF-1.7\n" + b"0" * (1536 * 1024)).decode()  # 2 MiB of base64 in the body
    body = invoice_body(
        "DOC", documents=[{"filename": "f.pdf", "content_type": "application/pdf", "content_base64": pdf}]
    )
    response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    assert response.status_code == 201, response.text[:300]
    batch = client.post(
        f"/v1/companies/{VAT}/invoices/batch",
        json={"invoices": [{**body, "external_id": "DOC2", "number": "2026/DOC2"}]},
        headers=key,
    )
    assert batch.status_code in (200, 201), batch.text[:300]


def test_the_admin_passes_the_credential_check(client, app):
    headers = {k.lower(): v for k, v in ADMIN.items()} | {"content-type": "application/json"}
    status, body = call(app, "POST", "/v1/companies", headers, [b'{"vat": "BE0417497106", "name": "Admin BV"}'])
    assert status == 201, body


def test_a_key_checked_while_the_database_is_down_gets_503_with_retry_after(client, key, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from app.core import auth as security
    from app.core.errors import RETRY_AFTER_SECONDS

    def database_down(_key_id: str) -> None:
        raise OperationalError("SELECT api_keys", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(security, "_load_key", database_down)
    security.key_cache._entries.clear()  # the key is not cached: checking it needs the database
    response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("DOWN"), headers=key)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["type"].endswith("/unavailable")
