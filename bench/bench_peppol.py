"""Peppol validation throughput: generated documents (10 lines over three VAT rates) checked against EN 16931
and Peppol BIS 3 in-process, after the one-off compilation of the official stylesheets. No database."""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.codabox.ubl import Address, Party, UblInvoice, build_ubl
from app.peppol.lines import Line
from app.peppol.validation import validate_ubl

DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "200"))


def document(n: int) -> bytes:
    lines = tuple(
        Line(f"Item {i}", Decimal(i + 1), Decimal("12.35") + n, "C62", "S", Decimal(("21", "12", "6")[i % 3]))
        for i in range(10)
    )
    return build_ubl(
        UblInvoice(
            number=f"2026/{n:05d}",
            kind="invoice",
            issue_date=date(2026, 11, 1),
            due_date=date(2026, 12, 1),
            currency="EUR",
            seller=Party("Demo BV", vat="BE0403200393", endpoint="0208:0403200393", address=Address("BE")),
            buyer=Party("Klant NV", vat="BE0417497106", endpoint="0208:0417497106"),
            payment_reference="+++090/9337/55493+++",
            lines=lines,
            seller_iban="BE68539007547034",
        )
    )


def main() -> None:
    started = time.perf_counter()
    validate_ubl(document(0))
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    docs = [document(n) for n in range(DOCUMENTS)]
    generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    invalid = sum(not validate_ubl(doc).valid for doc in docs)
    seconds = time.perf_counter() - started
    print(f"stylesheets compiled once (first document included): {compile_seconds:.2f} s")
    print(f"UBL generation (10 lines):   {DOCUMENTS / generate_seconds:8,.0f} documents/s")
    print(
        f"UBL validation (EN 16931 + Peppol BIS 3): {DOCUMENTS / seconds:8,.0f} documents/s "
        f"({seconds / DOCUMENTS * 1000:.1f} ms each, {invalid} invalid of {DOCUMENTS})"
    )


if __name__ == "__main__":
    main()
