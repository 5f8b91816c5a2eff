"""What the matching engine tells a person: for each kind of evidence, the outcome with every amount, method,
confidence and reason (code and sentence) that reaches the review page, the API and the audit trail.

The sentences are the product here: a bookkeeper decides on them. Each case below is written out whole, so a
changed word, a lost reason or a different confidence is a failing test, not a silent change.
"""

from __future__ import annotations

import copy
from decimal import Decimal as D

import pytest

from app.companies.tolerance import Tolerance
from app.reconciliation.matching import MatchConfig, match_payments
from tests.unit.test_matching_search import IBAN, doc, ogm, pay

TYPO = ogm(1234567).replace("1234", "1243")  # +++000/1243/56748+++: two digits swapped


def render(outcome) -> dict:
    def reasons(items):
        return [(r["code"], r["message"]) for r in items]

    return {
        "status": outcome.status,
        "remainder": str(outcome.remainder),
        "allocations": [
            (a.invoice_id, str(a.amount), str(a.write_off), a.method, a.confidence, reasons(a.reasons))
            for a in outcome.allocations
        ],
        "suggestions": [
            (s.score, [(p.invoice_id, str(p.amount), str(p.write_off)) for p in s.allocations], reasons(s.reasons))
            for s in outcome.suggestions
        ],
    }


CASES = {
    "structured": ([pay("130.00", structured_reference=ogm(1))], [doc(1, "100.00")]),
    "free_text": ([pay("100.00", communication=f"betaling {ogm(1)}")], [doc(1, "100.00")]),
    "several_refs": (
        [pay("150.00", structured_reference=ogm(1), communication=f"en {ogm(2)}")],
        [doc(1, "100.00", age=2), doc(2, "50.00", age=1)],
    ),
    "several_refs_short": (
        [pay("120.00", communication=f"{ogm(1)} {ogm(2)}")],
        [doc(1, "100.00", age=2), doc(2, "50.00", age=1)],
    ),
    "typo": ([pay("100.00", communication=TYPO, counterparty_iban=IBAN)], [doc(1234567, "100.00")]),
    "numbers": (
        [pay("150.00", communication="facturen 2026/00001 en 2026/00002", counterparty_iban=IBAN)],
        [doc(1, "100.00", age=2), doc(2, "50.00", age=1)],
    ),
    "number_amount": ([pay("100.00", communication="factuur 2026/00001")], [doc(1, "100.00", iban=None)]),
    "payer_single": ([pay("40.00", counterparty_iban=IBAN)], [doc(1, "100.00", age=2), doc(2, "40.00", age=1)]),
    "payer_two_singles": (
        [pay("40.00", counterparty_name="BAKKERIJ PEETERS")],
        [doc(1, "40.00", age=2, iban=None), doc(2, "40.00", age=1, iban=None)],
    ),
    "unique_combo": (
        [pay("140.00", counterparty_iban=IBAN)],
        [doc(1, "100.00", age=2), doc(2, "40.00", age=1), doc(3, "7.00")],
    ),
    "amount_only": (
        [pay("100.00", communication="bedankt")],
        [doc(1, "100.00", iban=None, customer="c9", name="Garage Janssens")],
    ),
    "tolerance": ([pay("99.50", structured_reference=ogm(1))], [doc(1, "100.00")]),
    "two_combinations": (
        [pay("60.00", counterparty_iban=IBAN)],
        [doc(1, "10.00"), doc(2, "20.00"), doc(3, "30.00"), doc(4, "40.00"), doc(5, "50.00")],
    ),
    "netting": (
        [pay("70.00", communication=f"{ogm(1)} min creditnota {ogm(2)}")],
        [doc(1, "100.00"), doc(2, "30.00", kind="credit_note")],
    ),
}

#: Reasons that several expected outcomes below share, word for word.
PAID_FROM_KNOWN_ACCOUNT = ("payer_iban", "paid from BE71096123456769, an account of the customer")
SEVERAL_REFERENCES_ADD_UP = [
    ("several_references", "the payment names the references of 2026/00001, 2026/00002"),
    ("amounts_add_up", "their amounts due come to 150.00"),
]

EXPECTED = {
    "two_combinations": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.45,
                [("i1", "10.00", "0.00"), ("i5", "50.00", "0.00")],
                [
                    PAID_FROM_KNOWN_ACCOUNT,
                    ("amount_subset", "60.00 is what 2026/00001, 2026/00005 come to together"),
                    ("ambiguous", "other open invoices of this customer also come to this amount"),
                ],
            ),
            (
                0.45,
                [("i2", "20.00", "0.00"), ("i4", "40.00", "0.00")],
                [
                    PAID_FROM_KNOWN_ACCOUNT,
                    ("amount_subset", "60.00 is what 2026/00002, 2026/00004 come to together"),
                    ("ambiguous", "other open invoices of this customer also come to this amount"),
                ],
            ),
        ],
    },
    "netting": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i2",
                "30.00",
                "0.00",
                "free_text_reference",
                0.98,
                [
                    ("several_references", "the payment names the references of 2026/00001, 2026/00002"),
                    ("amounts_add_up", "their amounts due come to 70.00"),
                ],
            ),
            (
                "i1",
                "100.00",
                "0.00",
                "free_text_reference",
                0.98,
                [
                    ("several_references", "the payment names the references of 2026/00001, 2026/00002"),
                    ("amounts_add_up", "their amounts due come to 70.00"),
                ],
            ),
        ],
        "suggestions": [],
    },
    "structured": {
        "status": "matched",
        "remainder": "30.00",
        "allocations": [
            (
                "i1",
                "100.00",
                "0.00",
                "structured_reference",
                1.0,
                [
                    (
                        "structured_reference",
                        "structured communication +++000/0000/00101+++ is the reference of 2026/00001",
                    ),
                    ("remainder", "30.00 more than the amount due stays unallocated"),
                ],
            )
        ],
        "suggestions": [],
    },
    "free_text": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1",
                "100.00",
                "0.00",
                "free_text_reference",
                0.98,
                [("free_text_reference", "the communication names the reference of 2026/00001")],
            )
        ],
        "suggestions": [],
    },
    "several_refs": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1",
                "100.00",
                "0.00",
                "structured_reference",
                0.98,
                SEVERAL_REFERENCES_ADD_UP,
            ),
            (
                "i2",
                "50.00",
                "0.00",
                "structured_reference",
                0.98,
                SEVERAL_REFERENCES_ADD_UP,
            ),
        ],
        "suggestions": [],
    },
    "several_refs_short": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.8,
                [("i1", "100.00", "0.00"), ("i2", "20.00", "0.00")],
                [
                    ("several_references", "the payment names the references of 2026/00001, 2026/00002"),
                    ("amounts_disagree", "their amounts due come to 150.00, the payment is 120.00"),
                ],
            )
        ],
    },
    "typo": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1234567",
                "100.00",
                "0.00",
                "reference_typo",
                0.97,
                [
                    ("reference_typo", "the reference is one typo away from +++000/1234/56748+++ (2026/1234567)"),
                    ("amount", "100.00 is the amount due"),
                    PAID_FROM_KNOWN_ACCOUNT,
                ],
            )
        ],
        "suggestions": [],
    },
    "numbers": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1",
                "100.00",
                "0.00",
                "invoice_number",
                0.97,
                [
                    ("invoice_numbers", "the communication names invoices 2026/00001, 2026/00002"),
                    ("amounts_add_up", "their amounts due come to 150.00"),
                    PAID_FROM_KNOWN_ACCOUNT,
                ],
            ),
            (
                "i2",
                "50.00",
                "0.00",
                "invoice_number",
                0.97,
                [
                    ("invoice_numbers", "the communication names invoices 2026/00001, 2026/00002"),
                    ("amounts_add_up", "their amounts due come to 150.00"),
                    PAID_FROM_KNOWN_ACCOUNT,
                ],
            ),
        ],
        "suggestions": [],
    },
    "number_amount": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.9,
                [("i1", "100.00", "0.00")],
                [
                    ("invoice_number", "the communication names invoice 2026/00001"),
                    ("amount", "100.00 is the amount due"),
                ],
            )
        ],
    },
    "payer_single": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.8,
                [("i2", "40.00", "0.00")],
                [
                    PAID_FROM_KNOWN_ACCOUNT,
                    ("amount", "40.00 is the amount due of invoice 2026/00002"),
                ],
            )
        ],
    },
    "payer_two_singles": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.45,
                [("i1", "40.00", "0.00")],
                [
                    ("payer_name", "payer name 'BAKKERIJ PEETERS' is the customer's"),
                    ("amount", "40.00 is the amount due of invoice 2026/00001"),
                    ("ambiguous", "2 open invoices of this customer are due for this amount"),
                ],
            ),
            (
                0.45,
                [("i2", "40.00", "0.00")],
                [
                    ("payer_name", "payer name 'BAKKERIJ PEETERS' is the customer's"),
                    ("amount", "40.00 is the amount due of invoice 2026/00002"),
                    ("ambiguous", "2 open invoices of this customer are due for this amount"),
                ],
            ),
        ],
    },
    "unique_combo": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1",
                "100.00",
                "0.00",
                "payer_amount_subset",
                0.95,
                [
                    PAID_FROM_KNOWN_ACCOUNT,
                    ("amount_subset", "140.00 is what 2026/00001, 2026/00002 come to together"),
                    ("unique", "no other combination of the customer's open invoices comes to this amount"),
                ],
            ),
            (
                "i2",
                "40.00",
                "0.00",
                "payer_amount_subset",
                0.95,
                [
                    PAID_FROM_KNOWN_ACCOUNT,
                    ("amount_subset", "140.00 is what 2026/00001, 2026/00002 come to together"),
                    ("unique", "no other combination of the customer's open invoices comes to this amount"),
                ],
            ),
        ],
        "suggestions": [],
    },
    "amount_only": {
        "status": "suggested",
        "remainder": "0.00",
        "allocations": [],
        "suggestions": [
            (
                0.5,
                [("i1", "100.00", "0.00")],
                [("amount_equals_due", "100.00 is the amount due of invoice 2026/00001 (Garage Janssens)")],
            )
        ],
    },
    "tolerance": {
        "status": "matched",
        "remainder": "0.00",
        "allocations": [
            (
                "i1",
                "99.50",
                "0.50",
                "structured_reference",
                1.0,
                [
                    (
                        "structured_reference",
                        "structured communication +++000/0000/00101+++ is the reference of 2026/00001",
                    ),
                    ("payment_difference", "0.50 short of the amount due, within the payment tolerance: written off"),
                ],
            )
        ],
        "suggestions": [],
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_of_evidence_explains_itself(case):
    payments, invoices = copy.deepcopy(CASES[case])  # the engine settles what it is given; each run starts anew
    config = MatchConfig(tolerance=Tolerance(amount=D("1.00"))) if case == "tolerance" else None
    [outcome] = match_payments(payments, invoices, config=config)
    assert render(outcome) == EXPECTED[case]
