"""The README's walk-through, from zero to a paid invoice, written as an integrator writes it: with a Python client
generated from the committed OpenAPI document, every answer parsed into the client's own models.

Run by tests/e2e/test_generated_client.py in the client tools' environment (tools/client), never in the
service's: it imports nothing of the service, only the generated package ``codarecon_client``.

    python generated_client_walkthrough.py BASE_URL ADMIN_TOKEN CODA_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

from codarecon_client import AuthenticatedClient
from codarecon_client.api.companies import create_api_key, create_company
from codarecon_client.api.dashboard import get_company_summary
from codarecon_client.api.events import list_events
from codarecon_client.api.invoices import create_invoice, get_invoice, list_invoices
from codarecon_client.api.statements import list_statements, list_transactions, upload_statements
from codarecon_client.models import (
    ApiKeyCreate,
    ApiKeyCreateScope,
    CompanyCreate,
    CustomerIn,
    IngestResponse,
    InvoiceCreate,
    InvoicePublic,
    ListInvoicesStatusItem,
    Problem,
)
from codarecon_client.types import File

VAT = "BE0403200393"
ACCOUNT = "BE80001000000177"


def expect(answer, model):
    """The parsed answer, which must be the model the document promises (a Problem says what went wrong)."""
    if not isinstance(answer.parsed, model):
        sys.exit(f"expected {model.__name__}, got HTTP {answer.status_code}: {answer.content[:500]!r}")
    return answer.parsed


def main(base: str, admin_token: str, coda_file: str) -> None:
    admin = AuthenticatedClient(base_url=base, token=admin_token, raise_on_unexpected_status=True)

    # 1. Register the company and its bank account (admin key).
    company = create_company.sync_detailed(
        client=admin, body=CompanyCreate(vat=VAT, name="Demo BV", bank_accounts=[ACCOUNT])
    )
    print("company", company.status_code)

    # 2. Give the invoicing app a company key (shown once).
    created = create_api_key.sync_detailed(VAT, client=admin, body=ApiKeyCreate(scope=ApiKeyCreateScope.WRITE))
    key = created.parsed.key
    app = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)

    # 3. Register an invoice with the OGM printed on it.
    invoice = expect(
        create_invoice.sync_detailed(
            VAT,
            client=app,
            body=InvoiceCreate.from_dict(
                {
                    "external_id": "INV-2026-0153",
                    "number": "2026/0153",
                    "issue_date": "2026-11-01",
                    "due_date": "2026-12-01",
                    "currency": "EUR",
                    "total_amount": "121.00",
                    "customer": CustomerIn(name="Klant NV", iban="BE71096123456769").to_dict(),
                    "structured_reference": "+++090/9337/55493+++",
                }
            ),
        ),
        InvoicePublic,
    )
    print("invoice", invoice.id, invoice.status, invoice.amount_due)

    # 4. The bank statement arrives.
    payment = Path(coda_file).read_bytes()
    upload = expect(
        upload_statements.sync_detailed(VAT, client=app, body=File(payload=payment, file_name="payment.cod")),
        IngestResponse,
    )
    print("upload", upload.to_dict())

    # 5. The invoice is paid.
    paid = expect(get_invoice.sync_detailed(VAT, invoice.id, client=app), InvoicePublic)
    print("paid", paid.status, paid.amount_due, len(paid.allocations))

    # The reads an integrator polls, each parsed by its model.
    page = list_invoices.sync_detailed(VAT, client=app, status=[ListInvoicesStatusItem.PAID])
    transactions = list_transactions.sync_detailed(VAT, client=app)
    statements = list_statements.sync_detailed(VAT, client=app)
    events = list_events.sync_detailed(VAT, client=app)
    summary = get_company_summary.sync_detailed(VAT, client=app)
    for name, answer in [
        ("invoices", page),
        ("transactions", transactions),
        ("statements", statements),
        ("events", events),
        ("summary", summary),
    ]:
        if isinstance(answer.parsed, Problem) or answer.parsed is None:
            sys.exit(f"{name}: HTTP {answer.status_code}: {answer.content[:500]!r}")
    print("listed", [i.id for i in page.parsed.items], len(transactions.parsed.items), len(statements.parsed.items))
    print("events", sorted({str(e.type_) for e in events.parsed.items}))
    missing = expect(get_invoice.sync_detailed(VAT, "inv_00000000000000000000000000000", client=app), Problem)
    print("missing", missing.status, str(missing.type_))


if __name__ == "__main__":
    main(*sys.argv[1:4])
