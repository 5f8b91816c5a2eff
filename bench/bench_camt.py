"""camt.053 ingest benchmark: the same kind of statements as bench_ingest (a third of the credits pay an
invoice by OGM), written as camt.053 and uploaded to the real service, next to lxml's bare parse of the same
bytes. Also prints the server's peak memory."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_api import ADMIN, VAT, free_port, start_server
from bench_ingest import ACCOUNT, generate_statements, peak_rss_mb

from app.statements.camt_writer import write_camt

MOVEMENTS = int(os.environ.get("BENCH_CAMT_MOVEMENTS", "20000"))


def main() -> None:
    statements, refs = generate_statements(MOVEMENTS, random.Random(42))
    data = write_camt(statements)
    print(f"file: {len(data) / 1e6:.1f} MB camt.053, {MOVEMENTS} movements in {len(statements)} statements")
    started = time.perf_counter()
    etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    lxml_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmpdir:
        port = free_port()
        server = start_server(Path(tmpdir), port)
        try:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                client.post(
                    "/v1/companies", json={"vat": VAT, "name": "Bench", "bank_accounts": [ACCOUNT]}, headers=admin
                ).raise_for_status()
                invoices = [
                    {
                        "external_id": f"b{i}",
                        "number": f"B{i}",
                        "issue_date": "2025-12-01",
                        "due_date": "2026-01-31",
                        "total_amount": "10.00",
                        "customer": {"name": "Klant"},
                        "structured_reference": ref,
                    }
                    for i, ref in enumerate(refs)
                ]
                for start in range(0, len(invoices), 1000):
                    client.post(
                        f"/v1/companies/{VAT}/invoices/batch",
                        json={"invoices": invoices[start : start + 1000]},
                        headers=admin,
                    ).raise_for_status()
                before = peak_rss_mb(server.pid)
                started = time.perf_counter()
                response = client.post(
                    f"/v1/companies/{VAT}/statements",
                    content=data,
                    headers={**admin, "Content-Type": "application/xml"},
                )
                seconds = time.perf_counter() - started
                response.raise_for_status()
                body = response.json()
            peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"lxml bare parse:          {lxml_seconds:7.2f} s")
    print(
        f"codarecon camt.053 ingest: {seconds:6.2f} s  ({seconds / lxml_seconds:.1f}x lxml's parse; goal <= 4x)"
        f"  = {MOVEMENTS / seconds:,.0f} movements/s"
    )
    print(f"  stored {body['transactions_created']} transactions, matched {body['matching']['matched']} of {len(refs)}")
    print(f"server peak memory:       {peak:7.0f} MB (before the upload: {before:.0f} MB)")


if __name__ == "__main__":
    main()
