"""camt.053 ingest benchmark: the same kind of statements as bench_ingest (a third of the credits pay an
invoice by OGM), written as camt.053 and uploaded to the real service, next to lxml's bare parse of the same
bytes. Also prints the server's peak memory."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_ingest import generate_statements, upload_to_a_fresh_service

from app.statements.camt_writer import write_camt

MOVEMENTS = int(os.environ.get("BENCH_CAMT_MOVEMENTS", "20000"))


def main() -> None:
    statements, refs = generate_statements(MOVEMENTS, random.Random(42))
    data = write_camt(statements)
    print(f"file: {len(data) / 1e6:.1f} MB camt.053, {MOVEMENTS} movements in {len(statements)} statements")
    started = time.perf_counter()
    etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    lxml_seconds = time.perf_counter() - started
    seconds, body, before, peak = upload_to_a_fresh_service(data, refs, "application/xml")
    print(f"lxml bare parse:          {lxml_seconds:7.2f} s")
    print(
        f"codarecon camt.053 ingest: {seconds:6.2f} s  ({seconds / lxml_seconds:.1f}x lxml's parse; goal <= 4x)"
        f"  = {MOVEMENTS / seconds:,.0f} movements/s"
    )
    print(f"  stored {body['transactions_created']} transactions, matched {body['matching']['matched']} of {len(refs)}")
    print(f"server peak memory:       {peak:7.0f} MB (before the upload: {before:.0f} MB)")


if __name__ == "__main__":
    main()
