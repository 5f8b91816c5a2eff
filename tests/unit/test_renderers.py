"""One renderer per resource: each resource is rendered by one function that builds the API's JSON directly, and
its pydantic model only describes it in the OpenAPI document. Here the two are held equal, so they cannot drift:
for rows of every shape, the model takes the rendered JSON as it is (``model_validate``) and gives it back
unchanged (``model_dump(mode="json")``), key order included (events and the hot read send the JSON as built).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from app.invoices.presenter import invoice_document
from app.invoices.schemas import InvoicePublic
from app.peppol.lines import Line, compute_totals, line_dict
from app.reconciliation.presenter import (
    allocation_document,
    audit_event_document,
    suggestion_document,
    write_off_document,
)
from app.reconciliation.schemas import AllocationPublic, AuditEventPublic, SuggestionPublic, WriteOffPublic
from app.statements.presenter import transaction_document
from app.statements.schemas import TransactionPublic

# SQLite gives naive datetimes back, PostgreSQL aware ones; a whole second has no fraction in ISO 8601.
NAIVE = datetime(2026, 3, 2, 9, 15, 30, 123456)
AWARE = datetime(2026, 3, 2, 9, 15, 31, tzinfo=UTC)
LATER = datetime(2026, 3, 4, 17, 0, 0, 500, tzinfo=UTC)


def _allocation(n: int, invoice_id: str = "inv_1", tx_id: str = "tx_1", amount: str = "60.00") -> SimpleNamespace:
    return SimpleNamespace(
        id=f"alc_{n}",
        transaction_id=tx_id,
        invoice_id=invoice_id,
        amount=Decimal(amount),
        method="reference" if n % 2 else "manual",
        confidence=1 if n % 2 else 0.87,  # an int confidence is still a float in JSON
        reasons=[{"code": "reference", "message": "the structured reference matches"}] if n % 2 else [],
        created_by="matcher",
        created_at=NAIVE if n % 2 else AWARE,
        returns_allocation_id=None,
        reason_codes=None,
    )


def _write_off(n: int, invoice_id: str | None = "inv_1", tx_id: str | None = "tx_1") -> SimpleNamespace:
    return SimpleNamespace(
        id=f"wo_{n}",
        amount=Decimal("0.50"),
        reason="payment_difference" if invoice_id else "bank_fee",
        invoice_id=invoice_id,
        transaction_id=tx_id,
        allocation_id=f"alc_{n}" if invoice_id and tx_id else None,
        note=None if n % 2 else "the customer rounded down",
        created_by="key:k_1",
        created_at=LATER,
    )


def _suggestion(n: int, write_off: bool) -> SimpleNamespace:
    part: dict[str, str] = {"invoice_id": f"inv_{n}", "amount": "80.00"}
    if write_off:
        part["write_off"] = "0.40"
    return SimpleNamespace(
        id=f"sug_{n}",
        score=0.62 if n % 2 else 1,
        status="open",
        allocations=[part, {"invoice_id": "inv_9", "amount": "12.5"}],
        reasons=[{"code": "amount", "message": "the amount is an invoice's amount due", "params": {"n": 1}}],
    )


def _document() -> SimpleNamespace:
    return SimpleNamespace(id="doc_1", filename="f.pdf", content_type="application/pdf", size=8, sha256="ab" * 32)


def _invoice(**changes: Any) -> SimpleNamespace:
    row = {
        "id": "inv_1",
        "external_id": "ext-1",
        "number": "F2026-001",
        "kind": "invoice",
        "issue_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "currency": "EUR",
        "total_amount": Decimal("121.00"),
        "customer_name": "Bakkerij Peeters BV",
        "customer_vat": None,
        "customer_iban": None,
        "customer_email": None,
        "customer_address": None,
        "customer_peppol_id": None,
        "lines": None,
        "vat_breakdown": None,
        "tax_exclusive_amount": None,
        "tax_amount": None,
        "buyer_reference": None,
        "billing_reference": None,
        "structured_reference": "+++090/9337/55493+++",
        "mandate_reference": None,
        "collection_reference": None,
        "status": "open",
        "amount_paid": Decimal("0.00"),
        "write_off_amount": Decimal("0.00"),
        "pending_amount": Decimal("0.00"),
        "paid_at": None,
        "cancelled_at": None,
        "delivery_status": "pending",
        "delivery_attempts": 0,
        "delivery_last_error": None,
        "created_at": NAIVE,
        "updated_at": AWARE,
    }
    return SimpleNamespace(**{**row, **changes})


def _with_lines() -> dict[str, Any]:
    lines = [
        Line("Werk", Decimal("2"), Decimal("50.00"), "HUR", "S", Decimal("21"), None),
        Line("Vrijgesteld", Decimal("1.5"), Decimal("13.3333"), "C62", "E", Decimal("0"), "VATEX-EU-132"),
    ]
    totals = compute_totals(lines)
    return {
        "lines": [line_dict(line) for line in lines],
        "vat_breakdown": [sub.as_dict() for sub in totals.breakdown],
        "tax_exclusive_amount": totals.tax_exclusive,
        "tax_amount": totals.tax,
        "total_amount": totals.total,
        "customer_vat": "BE0417497106",
        "customer_iban": "BE71096123456769",
        "customer_email": "boekhouding@peeters.be",
        "customer_address": {"street": "Markt 5", "city": "Brugge", "postal_code": "8000", "country": "BE"},
        "customer_peppol_id": "0208:0417497106",
        "buyer_reference": "PO-1",
    }


def _return(n: int, returns: str, *, code: str | None = "AM04") -> SimpleNamespace:
    """A return allocation as returns.py writes it: its reason's parameters say when and why."""
    params = {"amount": "121.00", "day": "2026-03-04", "evidence": "mandate", "code": code or "-",
              "text": "insufficient funds" if code else "-", "booked": "2026-03-09"}  # fmt: skip
    return SimpleNamespace(
        **{
            **vars(_allocation(n, tx_id="tx_r", amount="121.00")),
            "method": "returned",
            "returns_allocation_id": returns,
            "reason_codes": [["returned", params]],
        }
    )


INVOICES = {
    "open": (_invoice(), [], [], []),
    "reopened: its collection came back, with and without a reason": (
        _invoice(mandate_reference="MANDAAT-0042", collection_reference="E2E-F2026-001"),
        [
            _allocation(1, amount="121.00"),
            _return(2, "alc_1"),
            _allocation(3, amount="121.00"),
            _return(4, "alc_3", code=None),
        ],
        [],
        [],
    ),
    "paid, with lines, an address and a document": (
        _invoice(
            **_with_lines(),
            status="paid",
            amount_paid=Decimal("121.00"),
            paid_at=date(2026, 3, 4),
            delivery_status="delivered",
            delivery_attempts=1,
        ),
        [_allocation(1, amount="61.00"), _allocation(2)],
        [],
        [_document()],
    ),
    "partially paid, a write-off": (
        _invoice(status="partially_paid", amount_paid=Decimal("60.00"), write_off_amount=Decimal("0.50")),
        [_allocation(1)],
        [_write_off(1)],
        [],
    ),
    "overpaid": (
        _invoice(status="overpaid", amount_paid=Decimal("150.00"), paid_at=date(2026, 3, 4)),
        [_allocation(1, amount="150.00")],
        [],
        [],
    ),
    "a credit note, written off without money": (
        _invoice(
            kind="credit_note",
            billing_reference="F2026-001",
            status="paid",
            write_off_amount=Decimal("121.00"),
            paid_at=date(2026, 3, 4),
        ),
        [],
        [_write_off(2, tx_id=None)],
        [],
    ),
    "cancelled, its delivery failed": (
        _invoice(status="cancelled", cancelled_at=LATER, delivery_status="failed", delivery_last_error="refused"),
        [],
        [],
        [],
    ),
}


def _transaction(**changes: Any) -> SimpleNamespace:
    row = {
        "id": "tx_1",
        "statement_id": "stm_1",
        "bank_reference": "0001/0002",
        "booking_date": date(2026, 3, 4),
        "value_date": date(2026, 3, 3),
        "amount": Decimal("121.00"),
        "currency": "EUR",
        "counterparty_name": "BAKKERIJ PEETERS",
        "counterparty_iban": "BE71096123456769",
        "counterparty_bic": "GKCCBEBB",
        "communication": "",
        "structured_reference": None,
        "structured_type": None,
        "structured_content": None,
        "end_to_end_reference": None,
        "direct_debit": None,
        "transfer_return": None,
        "returns_transaction_id": None,
        "transaction_code": "0150000",
        "kind": "movement",
        "status": "unmatched",
        "amount_allocated": Decimal("0.00"),
        "amount_written_off": Decimal("0.00"),
    }
    return SimpleNamespace(**{**row, **changes})


TRANSACTIONS = {
    "unmatched, free communication": (_transaction(communication="factuur F2026-001"), [], [], [], None),
    "matched by its reference": (
        _transaction(
            status="matched",
            amount_allocated=Decimal("121.00"),
            structured_reference="+++090/9337/55493+++",
            structured_type="101",
            structured_content="090933755493",
            end_to_end_reference="E2E-1",
        ),
        [_allocation(1, amount="61.00"), _allocation(2)],
        [],
        [],
        None,
    ),
    "partly matched, part kept as a bank fee": (
        _transaction(status="partially_matched", amount_allocated=Decimal("60.00"), amount_written_off=Decimal("0.50")),
        [_allocation(1)],
        [_write_off(1), _write_off(3, invoice_id=None)],
        [],
        None,
    ),
    "suggested, with and without a write-off": (
        _transaction(status="suggested", amount=Decimal("80.00")),
        [],
        [],
        [_suggestion(1, write_off=True), _suggestion(2, write_off=False)],
        None,
    ),
    "ignored, a third decimal, no counterparty": (
        _transaction(
            status="ignored", amount=Decimal("33.333"), counterparty_name=None, counterparty_iban=None, kind="total"
        ),
        [],
        [],
        [],
        None,
    ),
    "a returned SEPA collection": (
        _transaction(
            amount=Decimal("-121.00"),
            structured_type="127",
            direct_debit={
                "r_transaction": "return",
                "reason": "AM04",
                "mandate_reference": "MANDAAT-0042",
                "creditor_id": "BE69ZZZ0123456789",
                "settlement_date": "2026-11-04",
                "sequence_type": "recurrent",
                "scheme": "core",
                "refusal": None,
            },
        ),
        [],
        [],
        [],
        None,
    ),
    "a returned collection, its original found": (
        _transaction(
            amount=Decimal("-121.00"),
            status="returned",
            amount_allocated=Decimal("-121.00"),
            returns_transaction_id="tx_1",
            direct_debit={
                "r_transaction": "reversal",
                "reason": "MD06",
                "mandate_reference": "MANDAAT-0042",
                "creditor_id": None,
                "settlement_date": None,
                "sequence_type": None,
                "scheme": None,
                "refusal": None,
            },
        ),
        [_return(2, "alc_1")],
        [],
        [],
        None,
    ),
    "money out, its state newer than the row": (
        _transaction(amount=Decimal("-15.25")),
        [_allocation(1, amount="15.25")],
        [],
        [],
        ("matched", Decimal("-15.25"), Decimal("0.00")),
    ),
}


def _holds(model: type[BaseModel], rendered: dict[str, Any]) -> None:
    dumped = model.model_validate(rendered).model_dump(mode="json")
    assert dumped == rendered
    assert json.dumps(dumped) == json.dumps(rendered)  # the same keys in the same order, too


@pytest.mark.parametrize("shape", INVOICES)
def test_the_invoice_renderer_is_what_invoice_public_describes(shape):
    _holds(InvoicePublic, invoice_document(*INVOICES[shape]))


def test_an_invoice_renders_its_settled_state_when_it_is_newer_than_the_row():
    row, _, write_offs, documents = INVOICES["open"]
    update = {
        "status": "paid",
        "amount_paid": Decimal("121.00"),
        "write_off_amount": Decimal("0.00"),
        "paid_at": date(2026, 3, 4),
        "updated_at": LATER,
    }
    rendered = invoice_document(row, [_allocation(1, amount="121.00")], write_offs, documents, update)
    _holds(InvoicePublic, rendered)
    assert (rendered["status"], rendered["amount_due"], rendered["paid_at"]) == ("paid", "0.00", "2026-03-04")


@pytest.mark.parametrize("shape", TRANSACTIONS)
def test_the_transaction_renderer_is_what_transaction_public_describes(shape):
    _holds(TransactionPublic, transaction_document(*TRANSACTIONS[shape]))


def test_reconciliation_resources_render_as_their_models_describe():
    for n in (1, 2):
        _holds(AllocationPublic, allocation_document(_allocation(n)))
        _holds(WriteOffPublic, write_off_document(_write_off(n)))
        _holds(SuggestionPublic, suggestion_document(_suggestion(n, write_off=n == 1)))
    event = SimpleNamespace(
        id="aud_1",
        actor="ui:k_1",
        action="allocation.created",
        subject_id="alc_1",
        details={"transaction_id": "tx_1", "invoice_id": "inv_1", "amount": "60.00", "method": "manual"},
        at=NAIVE,
    )
    _holds(AuditEventPublic, audit_event_document(event))
