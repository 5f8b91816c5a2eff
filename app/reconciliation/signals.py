"""The matching signals, one table: each kind of evidence, what it reads, what it scores and the reason it gives.

The engine (matching.py) takes its confidences from here, the review page's ranking (app/ui/ranking.py) its
weights, and every reason is one of these entries' codes with parameters: English for the API
(reasons.py), nl/fr/en for the review page (app/ui/i18n.py). A new signal is one entry here, the function
that finds its evidence (a ``Matcher`` method, or a lookup of the ranking), and its sentence per language.

Scores are what a candidate the signal names is worth to the engine (>= 0.95: allocated without a person,
>= 0.30: suggested; docs/matching.md). ``scores`` holds the named variants of an entry: the score when the
evidence is confirmed, ambiguous, or the bounds it sets on another signal's score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Parameters that are amounts (decimal text such as "12.50"): each language writes them its own way.
AMOUNT_PARAMETERS = frozenset({"amount", "total", "paid"})


@dataclass(frozen=True)
class Signal:
    #: The reason code: what the reason is stored and translated under.
    name: str
    #: What the signal reads, of the payment and of the open invoices.
    reads: str
    #: The reason in English, as the API has always said it (``str.format`` with the parameters).
    english: str
    #: The engine's confidence in what the signal names on its own (None: it qualifies another signal).
    score: float | None = None
    #: Named variants of the score (confirmed, ambiguous, a bonus, a bound): see each entry.
    scores: Mapping[str, float] = field(default_factory=dict)
    #: The ``code`` the API shows; several signals worded differently share one (e.g. "ambiguous").
    code: str = ""
    #: What it adds to a candidate's rank on the review page (None: the ranking does not look for it).
    weight: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", self.code or self.name)


_TABLE = (
    # -- a reference: the payer copied what the invoice asked for -----------------------------------------------
    Signal(
        "structured_reference",
        reads="the payment's structured communication (OGM/VCS or RF) against the invoices' references",
        english="structured communication {reference} is the reference of {number}",
        score=1.0,
    ),
    Signal(
        "collection_reference",
        reads="a SEPA collection's end-to-end id against the invoices' collection references",
        english="the collection's end-to-end id {reference} is the one invoice {number} was collected with",
        score=1.0,
    ),
    Signal(
        "mandate",
        reads="a SEPA collection's mandate and amount against the invoices (or the customer) of that mandate",
        english="collected under mandate {mandate} for the amount due of {number}",
        score=1.0,
    ),
    Signal(
        "free_text_reference",
        reads="an OGM or RF reference typed in the free communication",
        english="the communication names the reference of {number}",
        score=0.98,
        weight=60,
    ),
    Signal(
        "several_references",
        reads="the references of several documents, structured or typed, in one payment",
        english="the payment names the references of {numbers}",
        score=0.98,
    ),
    Signal(
        "reference_typo",
        reads="an OGM one changed digit or one swap of neighbours away from an invoice's reference",
        english="the reference is one typo away from {reference} ({number})",
        # Never alone: confirmed by the amount or the payer, and automatic only when by both.
        score=0.85,
        scores={"confirmed": 0.97},
    ),
    # -- invoice numbers typed in the communication -------------------------------------------------------------
    Signal(
        "invoice_number",
        reads="an invoice number typed in full in the communication",
        english="the communication names invoice {number}",
        # A full number with amount and payer is automatic (0.97); a bare number never is (at most 0.8).
        score=0.75,
        scores={"bare": 0.55, "amount": 0.15, "payer": 0.1, "at_most": 0.97},
        weight=50,
    ),
    Signal(
        "invoice_numbers",
        reads="several invoice numbers in one communication, in full or their last digits",
        english="the communication names invoices {numbers}",
        # In full and all of the payer's: automatic when their amounts add up. Bare last groups are weaker.
        score=0.97,
        scores={
            "one_customer": 0.96,
            "several_customers": 0.8,
            "bare": 0.85,
            "bare_one_customer": 0.7,
            "bare_several_customers": 0.5,
        },
    ),
    # -- several documents named together ----------------------------------------------------------------------
    Signal(
        "amounts_add_up",
        reads="the amounts due of the documents a payment names, against the payment (within the tolerance)",
        english="their amounts due come to {total}",
    ),
    Signal(
        "amounts_disagree",
        reads="the amounts due of the documents a payment names, against the payment",
        english="their amounts due come to {total}, the payment is {paid}",
        scores={"at_most": 0.8},  # named, but not for this amount: a person decides
    ),
    # -- who paid -------------------------------------------------------------------------------------------------
    Signal(
        "payer_iban",
        reads="the payer's account: named on the customer's invoices, or learned from earlier allocations",
        english="paid from {iban}, an account of the customer",
        weight=20,
    ),
    Signal(
        "payer_name",
        reads="the payer's name as the bank gives it, close to a customer's name",
        english="payer name {name!r} is the customer's",
        weight=15,
    ),
    # -- amounts --------------------------------------------------------------------------------------------------
    Signal(
        "amount",
        reads="the payment against the amount due of a document named otherwise (within the tolerance)",
        english="{amount} is the amount due",
    ),
    Signal(
        "payer_amount",
        reads="the amounts due of the payer's open documents: one that is the payment",
        english="{amount} is the amount due of invoice {number}",
        code="amount",
        score=0.8,
        scores={"ambiguous": 0.45},
    ),
    Signal(
        "amount_subset",
        reads="the amounts due of the payer's open documents: a combination that comes to the payment",
        english="{amount} is what {numbers} come to together",
        score=0.75,
        scores={"ambiguous": 0.45},
    ),
    Signal(
        "unique",
        reads="every open document of a payer known for certain: no other combination comes to the payment",
        english="no other combination of the customer's open invoices comes to this amount",
        score=0.95,
    ),
    Signal(
        "amount_equals_due",
        reads="the amounts due of all open invoices: the payment is one's, whoever paid",
        english="{amount} is the amount due of invoice {number} ({customer})",
        score=0.5,
        scores={"ambiguous": 0.3},
        weight=30,
    ),
    Signal(
        "ambiguous_combination",
        reads="the payer's other open documents",
        english="other open invoices of this customer also come to this amount",
        code="ambiguous",
    ),
    Signal(
        "ambiguous_payer_amount",
        reads="the payer's other open documents",
        english="{count} open invoices of this customer are due for this amount",
        code="ambiguous",
    ),
    Signal(
        "ambiguous_amount",
        reads="all open invoices",
        english="{count} open invoices are due for this amount",
        code="ambiguous",
    ),
    # -- what the payment leaves ----------------------------------------------------------------------------------
    Signal(
        "remainder",
        reads="what a payment leaves after the invoices it names",
        english="{amount} is left after the named invoices",
        scores={"at_most": 0.9},  # a person decides what a remainder pays
    ),
    Signal(
        "remainder_unallocated",
        reads="what a payment brings beyond everything its invoices have due",
        english="{amount} more than the amount due stays unallocated",
        code="remainder",
    ),
    # -- money that comes back (app/reconciliation/returns.py) ----------------------------------------------------
    Signal(
        "returned",
        reads="an R-transaction's end-to-end id, mandate or OGM against the earlier payments",
        english="returns the payment of {amount} booked on {day} (found by {evidence}): {code} {text}",
        score=1.0,
    ),
    Signal(
        "returned_by_account",
        reads="an R-transaction's account and amount against the earlier payments, or several that fit",
        english="may return the payment of {amount} booked on {day} (found by {evidence}): {code} {text}",
        score=0.6,
        code="returned",
    ),
    Signal(
        "payment_difference",
        reads="the shortfall on the last invoice, against the company's payment tolerance",
        english="{amount} short of the amount due, within the payment tolerance: written off",
    ),
)

#: By name (tests/unit/test_matching_signals.py checks that no two entries share one).
SIGNALS: Mapping[str, Signal] = MappingProxyType({s.name: s for s in _TABLE})
