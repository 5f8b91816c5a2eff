"""GET /metrics: request latency by route template, what was ingested and how it was matched, webhook
failures, and the job queue, in Prometheus's text format."""

from __future__ import annotations

import re

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


def value(text: str, name: str, **labels: str) -> float:
    """The sample of ``name`` with exactly these labels (in any order), 0 when absent."""
    for line in text.splitlines():
        found = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)", line)
        if not found or found.group(1) != name:
            continue
        present = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if present == labels:
            return float(found.group(3))
    return 0.0


def test_metrics_count_requests_by_route_ingest_matching_and_the_queue(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    before = client.get("/metrics").text
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    for _ in range(2):
        client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key)
    client.post(
        f"/v1/companies/{VAT}/statements",
        content=payment_file(("121.00", invoice["structured_reference"]), ("7.00", None)),
        headers=key,
    )
    after = client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text
    route = "/v1/companies/{vat}/invoices/{invoice_id}"
    count = "codarecon_http_request_duration_seconds_count"
    assert (
        value(text, count, route=route, method="GET", status="200")
        - value(before, count, route=route, method="GET", status="200")
        == 2
    )  # the template, never the ids: few label values whatever the traffic
    assert invoice["id"] not in text
    assert (
        value(text, "codarecon_statements_ingested_total", format="CODA")
        - value(before, "codarecon_statements_ingested_total", format="CODA")
        == 1
    )
    assert (
        value(text, "codarecon_transactions_ingested_total") - value(before, "codarecon_transactions_ingested_total")
        == 2
    )
    assert (
        value(text, "codarecon_matching_outcomes_total", outcome="matched")
        - value(before, "codarecon_matching_outcomes_total", outcome="matched")
        == 1
    )
    assert "codarecon_oldest_due_job_age_seconds" in text
    assert "codarecon_webhook_delivery_failures_total" in text or "codarecon_webhook_delivery_failures" in text
