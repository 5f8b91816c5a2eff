"""The money guards under real concurrency: threads with their own database transactions, released at once
(PostgreSQL in its pass, where writers really run side by side; SQLite's one writer at a time here)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from sqlmodel import Session

from app.core.db import unit_of_work
from app.core.errors import AppError
from app.reconciliation import decisions
from app.reconciliation.invariants import check
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

THREADS = 10


def race(work: Callable[[Session, int], object]) -> Counter:
    """Run ``work(session, n)`` in THREADS threads released together, each in its own transaction; count the
    outcomes (what ``work`` returned, or the status of the error it raised)."""
    barrier = threading.Barrier(THREADS)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        try:
            with unit_of_work() as session:
                outcome = work(session, n)
        except AppError as exc:
            outcome = exc.status
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def setup(client, *invoices: str, payment: str, reference: str | None = None):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    created = []
    for n, total in enumerate(invoices):
        body = invoice_body(f"INV-{n}", total=total)
        if reference and n == 0:
            body["structured_reference"] = reference
        created.append(client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key).json())
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file((payment, None)), headers=key)
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    company_id = client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]
    return key, company_id, tx, created


def money(client, key, tx_id):
    tx = client.get(f"/v1/companies/{VAT}/transactions/{tx_id}", headers=key).json()
    return Decimal(tx["allocated_amount"]), tx


def no_violations():
    with unit_of_work(read_only=True) as session:
        assert [str(v) for v in check(session)] == []


def test_ten_parallel_accepts_of_one_suggestion_make_one_allocation(client):
    key, company_id, tx, [invoice] = setup(client, "987.65", payment="987.65")
    [suggestion] = tx["suggestions"]
    outcomes = race(
        lambda session, n: (
            decisions.accept_suggestion(session, company_id, tx["id"], suggestion["id"], f"t{n}") and "accepted"
        )
    )
    assert outcomes == Counter({"accepted": 1, 409: THREADS - 1})
    allocated, after = money(client, key, tx["id"])
    assert (allocated, len(after["allocations"])) == (Decimal("987.65"), 1)
    paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert (paid["status"], paid["amount_paid"]) == ("paid", "987.65")
    no_violations()


def test_parallel_manual_allocations_never_exceed_the_payment(client):
    key, company_id, tx, [invoice] = setup(client, "600.00", payment="100.00")
    outcomes = race(
        lambda session, n: (
            decisions.allocate_manually(
                session, company_id, tx["id"], invoice["id"], Decimal("60.00"), f"t{n}", allow_overpayment=False
            )
            and "allocated"
        )
    )
    assert outcomes == Counter({"allocated": 1, 422: THREADS - 1})
    allocated, _ = money(client, key, tx["id"])
    assert allocated == Decimal("60.00")
    no_violations()


def test_parallel_allocations_to_different_invoices_stop_at_the_payment(client):
    key, company_id, tx, invoices = setup(client, *["30.00"] * THREADS, payment="100.00")
    outcomes = race(
        lambda session, n: (
            decisions.allocate_manually(
                session, company_id, tx["id"], invoices[n]["id"], Decimal("30.00"), f"t{n}", allow_overpayment=False
            )
            and "allocated"
        )
    )
    assert outcomes == Counter({"allocated": 3, 422: THREADS - 3})
    allocated, after = money(client, key, tx["id"])
    assert (allocated, after["unallocated_amount"], after["status"]) == (Decimal("90.00"), "10.00", "partially_matched")
    no_violations()


def test_parallel_uploads_paying_one_invoice_never_overpay_it(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    reference = "+++090/9337/55493+++"
    invoice = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(total="100.00", structured_reference=reference), headers=key
    ).json()
    company_id = client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]
    files = [payment_file(("100.00", reference), sequence=n + 1) for n in range(THREADS)]

    from app.statements.service import ingest_statement_file
    from app.statements.sources import uploaded

    outcomes = race(lambda session, n: ingest_statement_file(session, company_id, uploaded(files[n])) and "stored")
    assert outcomes == Counter({"stored": THREADS})
    paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert (paid["status"], paid["amount_paid"], len(paid["allocations"])) == ("paid", "100.00", 1)
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert Counter(t["status"] for t in items) == Counter({"matched": 1, "unmatched": THREADS - 1})
    no_violations()


def test_the_same_file_uploaded_in_parallel_is_stored_once(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    company_id = client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]
    data = payment_file(("10.00", None), ("20.00", None))

    from app.statements.service import ingest_statement_file
    from app.statements.sources import uploaded

    outcomes = race(lambda session, n: ingest_statement_file(session, company_id, uploaded(data)).created)
    assert outcomes == Counter({True: 1, False: THREADS - 1})
    assert len(client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]) == 2


def test_the_same_file_uploaded_ten_times_at_once_is_stored_once_and_no_upload_fails(client):
    """Racing uploads of one file: one stores it, the nine others answer with duplicates (200), never 500."""
    from app.statements.service import ingest_statement_file
    from app.statements.sources import uploaded

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    company_id = client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]
    data = payment_file(("121.00", None), ("50.00", None))
    outcomes = race(lambda session, n: ingest_statement_file(session, company_id, uploaded(data)).created)
    assert outcomes == Counter({True: 1, False: 9})
    transactions = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert len(transactions) == 2
    no_violations()
