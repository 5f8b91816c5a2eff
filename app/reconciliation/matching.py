"""The matching engine: payments and open invoices in, allocations and suggestions out. Pure (no HTTP, no
database), so it is fast to test and to measure.

Policy (see docs/matching.md): every candidate gets a confidence score with the reasons behind it, both
from the table of signals (signals.py; a reason is a signal's code with parameters, reasons.py).
Score >= ``auto_threshold`` (0.95): allocated without a person. Score >= ``suggest_threshold`` (0.30): a
suggestion a person confirms. Otherwise nothing. What reaches the automatic threshold:

- a reference that identifies the invoice (structured, or typed in free text); several references only when
  their amounts due add up to the payment;
- a reference one typo away, or full invoice numbers, confirmed by amount and payer;
- a payer known for certain (by IBAN, one customer) whose open invoices have exactly one combination that
  adds up to the payment.

An amount, a name or an IBAN alone never does. Allocations never exceed what an invoice has due: what a
payment brings beyond that stays on the payment as a visible remainder. A shortfall within the company's
payment tolerance settles the invoice with a write-off.

Candidates come from hash indexes (reference, OGM digits, invoice number, customer IBAN and name, amount due),
never from comparing every payment with every invoice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from app.companies.tolerance import Tolerance
from app.identifiers.references import FoundReference, find_references, format_ogm, is_valid_ogm_digits, ogm_digits
from app.reconciliation.invoice_numbers import full_keys, numbers_in_text, tail_key
from app.reconciliation.keys import name_tokens
from app.reconciliation.names import normalize_name, similar_names
from app.reconciliation.reasons import Reason
from app.reconciliation.signals import SIGNALS

ZERO = Decimal("0.00")
CENTS = 100
# The signals whose scores decide below (app/reconciliation/signals.py says what each reads and is worth).
_STRUCTURED, _FREE_TEXT, _SEVERAL_REFS = (
    SIGNALS[n] for n in ("structured_reference", "free_text_reference", "several_references")
)
_TYPO, _NUMBER, _NUMBERS = SIGNALS["reference_typo"], SIGNALS["invoice_number"], SIGNALS["invoice_numbers"]
_DISAGREE, _REMAINDER = SIGNALS["amounts_disagree"], SIGNALS["remainder"]
_PAYER_AMOUNT, _SUBSET, _UNIQUE = SIGNALS["payer_amount"], SIGNALS["amount_subset"], SIGNALS["unique"]
_AMOUNT_ONLY = SIGNALS["amount_equals_due"]
#: A list of bare invoice numbers ("fact. 12, 13 en 14") longer than this is not read as one payment of them.
MAX_BARE_NUMBERS_IN_GROUP = 8


@dataclass(frozen=True)
class MatchConfig:
    auto_threshold: float = 0.95
    suggest_threshold: float = 0.30
    #: How far short a payment may be and still settle an invoice (the company's payment tolerance).
    tolerance: Tolerance = field(default_factory=Tolerance)
    name_threshold: float = 85.0
    #: Suggestions from a payer's open invoices: combinations of at most this many, among the oldest few.
    max_subset_size: int = 4
    max_subset_candidates: int = 12
    #: A combination is only called unique (and matched without a person) after an exhaustive search over
    #: at most this many open documents of the payer, within this many search steps.
    max_exhaustive_pool: int = 24
    max_search_steps: int = 50_000
    max_suggestions: int = 3

    @classmethod
    def from_overrides(cls, overrides: dict | None, tolerance: Tolerance | None = None) -> MatchConfig:
        values = {k: v for k, v in (overrides or {}).items() if k in cls.__dataclass_fields__ and k != "tolerance"}
        return cls(**values, tolerance=tolerance or Tolerance())


@dataclass(slots=True)  # a whole open ledger can be held at once: 100,000 of these in a large upload
class OpenInvoice:
    id: str
    number: str
    kind: str  # invoice | credit_note
    due: Decimal  # what is still open (updated as the run allocates)
    issue_date: date
    due_date: date
    reference: str  # "+++ddd/dddd/ddddd+++" or "RF.."
    customer_key: str
    customer_name: str
    customer_iban: str | None = None
    total: Decimal | None = None  # the invoice total (the base of a percentage tolerance); defaults to due

    def __post_init__(self) -> None:
        if self.total is None:
            self.total = self.due

    @property
    def signed_due(self) -> Decimal:
        """What the document adds to a payment that settles it: a credit note takes away."""
        return -self.due if self.kind == "credit_note" else self.due


@dataclass(frozen=True)
class Payment:
    id: str
    amount: Decimal  # signed: + money in
    booking_date: date
    communication: str = ""
    structured_reference: str | None = None
    structured_content: str | None = None  # raw structured communication (for typos in a 101)
    counterparty_name: str | None = None
    counterparty_iban: str | None = None


@dataclass
class Allocation:
    invoice_id: str
    amount: Decimal  # money from the payment
    write_off: Decimal = ZERO  # a shortfall within the tolerance, settled without money
    method: str = ""
    confidence: float = 1.0
    reasons: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    """One invoice's share of a suggestion."""

    invoice_id: str
    amount: Decimal
    write_off: Decimal = ZERO


@dataclass
class Suggestion:
    score: float
    allocations: list[Part]
    reasons: list[dict]


@dataclass
class Outcome:
    payment_id: str
    status: str  # matched | suggested | unmatched
    allocations: list[Allocation] = field(default_factory=list)
    #: For "suggested": the proposals. For "matched" with money left over: proposals for the remainder.
    suggestions: list[Suggestion] = field(default_factory=list)
    #: For "matched": what the allocations leave of the payment (it stays on the payment, visibly).
    remainder: Decimal = ZERO


@dataclass(frozen=True)
class Payer:
    """Who the payer is among the customers: by IBAN (known or learned), else by a close name."""

    customers: frozenset[str] = frozenset()
    reasons: tuple[dict, ...] = ()
    #: One customer, identified by the account the money came from (a name alone is never certain).
    certain: bool = False


K = TypeVar("K", bound=Hashable)


class MultiIndex(dict[K, "OpenInvoice | list[OpenInvoice]"]):
    """Key -> the open invoices with it: one held as itself, several as a list. Most keys of an open ledger (an
    amount due, an invoice number, its last digits) name one invoice, and a list for each was half the memory
    of a whole ledger's index."""

    def add(self, key: K, inv: OpenInvoice) -> None:
        held = self.get(key)
        if held is None:
            self[key] = inv
        elif type(held) is list:
            held.append(inv)
        else:
            self[key] = [held, inv]  # type: ignore[list-item]

    def all(self, key: K) -> list[OpenInvoice]:
        held = self.get(key)
        if held is None:
            return []
        return held if type(held) is list else [held]  # type: ignore[list-item]


#: At most this many customers per word of a name are compared with a payer's name: the first in key order.
NAME_BUCKET = 200


class InvoiceIndex:
    """Open invoices by every key a payment can point at them with."""

    def __init__(self, invoices: Iterable[OpenInvoice], learned_ibans: dict[str, set[str]] | None = None) -> None:
        self.by_id: dict[str, OpenInvoice] = {}
        self.by_reference: dict[str, OpenInvoice] = {}
        self.by_full_number: MultiIndex[str] = MultiIndex()
        self.by_tail: MultiIndex[int] = MultiIndex()
        self.by_customer: dict[str, list[OpenInvoice]] = defaultdict(list)
        self.by_amount: MultiIndex[Decimal] = MultiIndex()
        self.customers_by_iban: dict[str, set[str]] = defaultdict(set)
        self.customers_by_name: dict[str, set[str]] = defaultdict(set)
        self.customer_names: dict[str, str] = {}
        #: Per word: its first NAME_BUCKET customers in key order (name_candidates), until the word gains one.
        self._first_by_name: dict[str, list[str]] = {}
        # Per customer, kept current as the run allocates: so a customer with thousands of open invoices
        # costs a payment a few lookups, not a pass over all of them.
        self.by_customer_due: MultiIndex[tuple[str, Decimal]] = MultiIndex()
        self.open_count: dict[str, int] = defaultdict(int)
        #: Per customer: how many documents at the head of by_customer are settled (dues only go down in a
        #: run, so the head only grows until the list is sorted or compacted again).
        self.settled_head: dict[str, int] = {}
        self.due_sum: dict[str, Decimal] = defaultdict(Decimal)
        self.open_kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for inv in invoices:
            self.add(inv)
        for key in self.by_customer:
            self.sort_customer(key)
        for iban, keys in (learned_ibans or {}).items():
            self.customers_by_iban[iban] |= keys

    def add(self, inv: OpenInvoice) -> None:
        self.by_id[inv.id] = inv
        self.by_reference[inv.reference] = inv
        for key in full_keys(inv.number):
            self.by_full_number.add(key, inv)
        tail = tail_key(inv.number)
        if tail is not None:
            self.by_tail.add(tail, inv)
        self.by_customer[inv.customer_key].append(inv)
        self.settled_head.pop(inv.customer_key, None)
        self.by_amount.add(inv.due, inv)
        if inv.due > 0:
            self.by_customer_due.add((inv.customer_key, inv.due), inv)
            self.open_count[inv.customer_key] += 1
            self.due_sum[inv.customer_key] += inv.signed_due
            self.open_kinds[inv.customer_key][inv.kind] += 1
        if inv.customer_iban:
            self.customers_by_iban[inv.customer_iban].add(inv.customer_key)
        if inv.customer_key not in self.customer_names:  # a customer's name is indexed once
            normalized = normalize_name(inv.customer_name)
            if normalized:
                for token in set(normalized.split()):
                    self.customers_by_name[token].add(inv.customer_key)
                    self._first_by_name.pop(token, None)
                self.customer_names[inv.customer_key] = inv.customer_name

    def sort_customer(self, customer: str) -> None:
        """Once all of a customer's open documents are in: oldest first, as open_documents() relies on."""
        self.by_customer[customer].sort(key=_age)
        self.settled_head.pop(customer, None)

    def open(self, inv: OpenInvoice | None) -> OpenInvoice | None:
        return inv if inv is not None and inv.due > 0 else None

    # -- lookups (what the Matcher asks; a stored index loads what it lacks before answering) ---------------

    def reference(self, ref: str) -> OpenInvoice | None:
        return self.by_reference.get(ref)

    def with_full_number(self, key: str) -> list[OpenInvoice]:
        return self.by_full_number.all(key)

    def with_tail(self, tail: int) -> list[OpenInvoice]:
        return self.by_tail.all(tail)

    def with_amount(self, amount: Decimal) -> list[OpenInvoice]:
        return self.by_amount.all(amount)

    def customer_size(self, customer: str) -> int:
        return self.open_count.get(customer, 0)

    def customer_with_due(self, customer: str, amount: Decimal) -> list[OpenInvoice]:
        return self.by_customer_due.all((customer, amount))

    def customer_due_sum(self, customer: str) -> Decimal:
        return self.due_sum.get(customer, ZERO)

    def customer_kinds(self, customer: str) -> set[str]:
        return {kind for kind, n in self.open_kinds.get(customer, {}).items() if n > 0}

    def name_candidates(self, tokens: set[str]) -> list[tuple[str, str | None]]:
        """Customers sharing the rarest word of a name (a name index, not a scan of all customers): the first
        NAME_BUCKET in key order, as the stored index reads them, the rarest word chosen by its count and then by
        itself. Never a set's order: a cut of a set once made the answer depend on the process's hash seed."""
        present = [t for t in sorted(tokens) if t in self.customers_by_name]
        if not present:
            return []
        rarest = min(present, key=lambda t: len(self.customers_by_name[t]))
        keys = self._first_by_name.get(rarest)
        if keys is None:  # sorted once per word until a customer joins it
            keys = self._first_by_name[rarest] = sorted(self.customers_by_name[rarest])[:NAME_BUCKET]
        return [(key, self.customer_names.get(key)) for key in keys]

    def settle(self, inv: OpenInvoice, amount: Decimal) -> None:
        """``amount`` of what ``inv`` has due is settled: every index that knows it by its due follows."""
        key = inv.customer_key
        self.due_sum[key] -= inv.signed_due
        inv.due -= amount
        if inv.due > 0:
            self.due_sum[key] += inv.signed_due
            self.by_amount.add(inv.due, inv)  # under the old amount it is skipped (due no longer equal)
            self.by_customer_due.add((key, inv.due), inv)
        else:
            self.open_count[key] -= 1
            self.open_kinds[key][inv.kind] -= 1

    def customer_iban_keys(self, iban: str) -> set[str] | None:
        return self.customers_by_iban.get(iban)

    def learn_payer(self, iban: str, customer: str) -> None:
        """The customer paid from this account (an allocation says so): later payments from it are theirs."""
        self.customers_by_iban[iban].add(customer)

    def open_documents(self, customer: str, limit: int | None = None) -> list[OpenInvoice]:
        """The customer's open documents, oldest first (at most ``limit``)."""
        docs = self.by_customer.get(customer, [])
        settled = len(docs) - self.open_count.get(customer, 0)
        if settled > max(16, len(docs) // 5):
            # Settled documents leave in bulk once they are a fifth of the list: a payer with thousands of open
            # invoices costs each payment a short walk, and each settle O(1) amortised, not a pass over all.
            docs[:] = [inv for inv in docs if inv.due > 0]
            self.settled_head.pop(customer, None)
        # Payers settle their oldest documents first: the settled ones gather at the head, which is skipped
        # rather than walked again by every payment.
        head = self.settled_head.get(customer, 0)
        while head < len(docs) and docs[head].due <= 0:
            head += 1
        if docs:
            self.settled_head[customer] = head
        out = []
        end = head
        while end < len(docs) and (limit is None or len(out) < limit):
            if docs[end].due > 0:
                out.append(docs[end])
            end += 1
        if end - head > 2 * len(out) + 16:
            # Mostly settled documents behind an open one the head cannot pass (an old invoice paid in part):
            # they leave the list now, or every payment of the customer walks them again.
            docs[head:end] = out
        return out

    def payer(self, payment: Payment, threshold: float) -> Payer:
        known = self.customer_iban_keys(payment.counterparty_iban) if payment.counterparty_iban else None
        if known:
            keys = frozenset(known)
            return Payer(
                keys,
                (Reason("payer_iban", iban=payment.counterparty_iban),),
                certain=len(keys) == 1,
            )
        tokens = name_tokens(payment.counterparty_name)
        if not tokens:
            return Payer()
        found = frozenset(similar_names(payment.counterparty_name, self.name_candidates(tokens), threshold))
        if not found:
            return Payer()
        return Payer(found, (Reason("payer_name", name=payment.counterparty_name),))


@dataclass
class _Candidate:
    score: float
    invoices: list[OpenInvoice]
    method: str
    reasons: list[dict]


def _age(inv: OpenInvoice) -> tuple:
    """Oldest first, in an order that does not depend on (random) ids when dates tie."""
    return (inv.due_date, inv.issue_date, inv.number, inv.id)


def _numbers(invoices: Sequence[OpenInvoice]) -> str:
    return ", ".join(i.number for i in invoices)


class Matcher:
    def __init__(
        self, index: InvoiceIndex, config: MatchConfig | None = None, rejected: set[tuple[str, str]] | None = None
    ) -> None:
        self.index = index
        self.config = config or MatchConfig()
        self.rejected = rejected or set()

    # -- helpers --------------------------------------------------------------------------------------

    def _amount_agrees(self, paid: Decimal, due: Decimal, total: Decimal | None = None) -> bool:
        return paid == due or self.config.tolerance.allows(due - paid, total if total is not None else due)

    def _usable(self, payment: Payment, inv: OpenInvoice | None) -> OpenInvoice | None:
        inv = self.index.open(inv)
        if inv is None or (payment.id, inv.id) in self.rejected:
            return None
        # Money out (a refund) only ever touches credit notes. Money in settles invoices, and a credit note may
        # still be netted against invoices of the same payment.
        if payment.amount < 0 and inv.kind != "credit_note":
            return None
        return inv

    def _settles(self, payment: Payment, inv: OpenInvoice) -> bool:
        """A document a payment of this direction can settle on its own."""
        return (inv.kind == "credit_note") == (payment.amount < 0)

    def _group(
        self, payment: Payment, invoices: list[OpenInvoice], method: str, found: dict, score: float
    ) -> _Candidate:
        """Several documents named in one payment: matched when their amounts due add up, else a suggestion
        that says by how much they differ."""
        paid = abs(payment.amount)
        together = abs(sum((i.signed_due for i in invoices), ZERO))
        last = max((i for i in invoices if self._settles(payment, i)), key=_age)
        adds_up = together == paid or (
            paid < together and self.config.tolerance.allows(together - paid, last.total or together)
        )
        reasons = [found]
        if adds_up:
            reasons.append(Reason("amounts_add_up", total=together))
            return _Candidate(score, invoices, method, reasons)
        reasons.append(Reason("amounts_disagree", total=together, paid=paid))
        return _Candidate(min(score, _DISAGREE.scores["at_most"]), invoices, method, reasons)

    # -- candidates ------------------------------------------------------------------------------------

    def _by_references(self, payment: Payment) -> _Candidate | None:
        invoices: list[OpenInvoice] = []
        structured = None
        if payment.structured_reference:
            structured = self._usable(payment, self.index.reference(payment.structured_reference))
            if structured is not None and self._settles(payment, structured):
                invoices.append(structured)
            else:
                structured = None
        for ref in find_references(payment.communication):
            if not ref.valid:
                continue
            inv = self._usable(payment, self.index.reference(ref.value))
            if inv is not None and inv not in invoices:
                invoices.append(inv)
        if not any(self._settles(payment, i) for i in invoices):
            return None
        if len(invoices) == 1:
            [inv] = invoices
            if structured is not None:
                return _Candidate(
                    _STRUCTURED.score,
                    [inv],
                    "structured_reference",
                    [Reason("structured_reference", reference=payment.structured_reference, number=inv.number)],
                )
            return _Candidate(
                _FREE_TEXT.score, [inv], "free_text_reference", [Reason("free_text_reference", number=inv.number)]
            )
        method = "structured_reference" if structured is not None else "free_text_reference"
        found = Reason("several_references", numbers=_numbers(invoices))
        return self._group(payment, invoices, method, found, _SEVERAL_REFS.score)

    def _typo_candidates(self, payment: Payment) -> list[OpenInvoice]:
        raw = typo_suspects(
            payment.structured_content,
            find_references(payment.communication),
            lambda ref: self.index.reference(ref) is not None,
        )
        found: list[OpenInvoice] = []
        for digits in raw:
            for variant in one_typo_variants(digits):
                inv = self._usable(payment, self.index.reference(format_ogm(variant)))
                if inv is not None and inv not in found and self._settles(payment, inv):
                    found.append(inv)
        return found

    def _by_typo(self, payment: Payment, payer: Payer) -> _Candidate | None:
        best: _Candidate | None = None
        for inv in self._typo_candidates(payment):
            amount_ok = self._amount_agrees(abs(payment.amount), inv.due, inv.total)
            payer_ok = inv.customer_key in payer.customers
            if not (amount_ok or payer_ok):
                continue  # a near reference alone is not enough
            score = _TYPO.scores["confirmed"] if amount_ok and payer_ok else _TYPO.score
            reasons = [Reason("reference_typo", reference=inv.reference, number=inv.number)]
            if amount_ok:
                reasons.append(Reason("amount", amount=abs(payment.amount)))
            if payer_ok:
                reasons += payer.reasons
            if best is None or score > best.score:
                best = _Candidate(score, [inv], "reference_typo", reasons)
        return best

    def _by_number(self, payment: Payment, payer: Payer) -> list[_Candidate]:
        fulls, tails = numbers_in_text(payment.communication)
        by_full: dict[str, OpenInvoice] = {}
        for key in fulls:
            for inv in self.index.with_full_number(key):
                if self._usable(payment, inv) is not None:
                    by_full[inv.id] = inv
        by_tail: dict[str, OpenInvoice] = {}
        for tail in tails:
            for inv in self.index.with_tail(tail):
                if self._usable(payment, inv) is not None and inv.id not in by_full:
                    by_tail[inv.id] = inv
        out: list[_Candidate] = []
        paid = abs(payment.amount)
        for how, found in (("full", by_full), ("tail", by_tail)):
            for inv in found.values():
                if not self._settles(payment, inv):
                    continue
                amount_ok = self._amount_agrees(paid, inv.due, inv.total)
                payer_ok = inv.customer_key in payer.customers
                # A full number with amount and payer is automatic (0.97); a bare number never is (at most 0.8).
                base = _NUMBER.score if how == "full" else _NUMBER.scores["bare"]
                bonus = _NUMBER.scores
                score = min(base + bonus["amount"] * amount_ok + bonus["payer"] * payer_ok, bonus["at_most"])
                reasons = [Reason("invoice_number", number=inv.number)]
                if amount_ok:
                    reasons.append(Reason("amount", amount=paid))
                if payer_ok:
                    reasons += payer.reasons
                out.append(_Candidate(score, [inv], "invoice_number", reasons))
        out += self._number_groups(payment, payer, list(by_full.values()), list(by_tail.values()))
        return out

    def _number_groups(
        self, payment: Payment, payer: Payer, fulls: list[OpenInvoice], tails: list[OpenInvoice]
    ) -> list[_Candidate]:
        """Several invoice numbers in one communication ("facturen 2026/0012 en 2026/0013")."""
        out: list[_Candidate] = []
        for how, found in (("full", fulls), ("tail", fulls + tails)):
            # Numbers named in full are what the payer paid, however many ("facturen 2026/0012, ..., 2026/0023").
            # Bare last groups are weaker: a long list of them is more likely amounts or dates than invoices.
            too_many = how == "tail" and len(found) > MAX_BARE_NUMBERS_IN_GROUP
            if len(found) < 2 or too_many or not any(self._settles(payment, i) for i in found):
                continue
            customers = {i.customer_key for i in found}
            same_customer = len(customers) == 1
            payer_ok = customers <= payer.customers
            scores = _NUMBERS.scores
            if how == "full":
                score = _NUMBERS.score if payer_ok else scores["one_customer" if same_customer else "several_customers"]
            else:
                score = scores[
                    "bare" if payer_ok else "bare_one_customer" if same_customer else "bare_several_customers"
                ]
            found = sorted(found, key=_age)  # oldest first: the explanation reads the same in every run
            found_reason = Reason("invoice_numbers", numbers=_numbers(found))
            candidate = self._group(payment, found, "invoice_number", found_reason, score)
            if payer_ok:
                candidate.reasons += list(payer.reasons)
            out.append(candidate)
        return out

    def _by_payer_amount(
        self, payment: Payment, payer: Payer, paid: Decimal | None = None, exclude: frozenset[str] = frozenset()
    ) -> list[_Candidate]:
        """The payer's open documents whose amounts due make up the payment: one, or a combination."""
        if not payer.customers:
            return []
        paid = abs(payment.amount) if paid is None else paid
        customers = sorted(payer.customers)
        # A payer with few open documents: search all of them. A large one: look up what has this amount due,
        # and reason on its totals.
        small = sum(self.index.customer_size(key) for key in customers) <= self.config.max_exhaustive_pool
        if small:
            pool = [
                i
                for key in customers
                for i in self.index.open_documents(key)
                if i.id not in exclude and self._usable(payment, i) is not None
            ]
            exact = [i for i in pool if i.due == paid and self._settles(payment, i)]
            near = [
                i
                for i in pool
                if i.due != paid and self._settles(payment, i) and self._amount_agrees(paid, i.due, i.total)
            ]
        else:
            exact = list(
                {
                    i.id: i
                    for key in customers
                    for i in self.index.customer_with_due(key, paid)
                    if i.due == paid and i.id not in exclude and self._usable(payment, i) is not None
                    and self._settles(payment, i)
                }.values()
            )  # fmt: skip
            near = []
        target = paid if payment.amount > 0 else -paid
        if small:
            combos, exhaustive = self._combinations(payment, target, pool)
        else:
            combos, exhaustive = self._everything(payment, target, customers, exclude)
        # A combined payment from a payer known for certain, whose open documents have exactly one combination
        # (and no single one) for the amount, is matched. A single amount alone stays a suggestion (policy above).
        if payer.certain and exhaustive and not exact and len(combos) == 1:
            [combo] = combos
            return [
                _Candidate(
                    _UNIQUE.score,
                    list(combo),
                    "payer_amount_subset",
                    [*payer.reasons, Reason("amount_subset", amount=paid, numbers=_numbers(combo)), Reason("unique")],
                )
            ]
        singles = exact or near
        out: list[_Candidate] = []
        for inv in sorted(singles, key=_age):
            extra = []
            if len(singles) > 1:
                extra = [Reason("ambiguous_payer_amount", count=len(singles))]
            out.append(
                _Candidate(
                    _PAYER_AMOUNT.score if len(singles) == 1 else _PAYER_AMOUNT.scores["ambiguous"],
                    [inv],
                    "payer_amount",
                    [*payer.reasons, Reason("payer_amount", amount=paid, number=inv.number), *extra],
                )
            )
        if not exhaustive:
            oldest = [
                i
                for key in customers
                for i in self.index.open_documents(key, self.config.max_subset_candidates)
                if i.id not in exclude and self._usable(payment, i) is not None
            ]
            combos = self._oldest_combination(payment, target, oldest)
        for combo in combos:
            extra = []
            if len(combos) > 1 or singles:
                extra = [Reason("ambiguous_combination")]
            out.append(
                _Candidate(
                    _SUBSET.score if not extra else _SUBSET.scores["ambiguous"],
                    list(combo),
                    "payer_amount_subset",
                    [*payer.reasons, Reason("amount_subset", amount=paid, numbers=_numbers(combo)), *extra],
                )
            )
        return out

    def _everything(
        self, payment: Payment, target: Decimal, customers: list[str], exclude: frozenset[str]
    ) -> tuple[list[list[OpenInvoice]], bool]:
        """For customers with many open documents: all of them together, when that is the amount. When all
        have one sign no smaller combination comes to their sum, so it is the unique one."""
        total = sum((self.index.customer_due_sum(key) for key in customers), ZERO)
        kinds = {kind for key in customers for kind in self.index.customer_kinds(key)}
        if total != target or len(kinds) != 1:
            return [], False
        docs = [i for key in customers for i in self.index.open_documents(key)]
        if any(i.id in exclude or self._usable(payment, i) is None for i in docs):
            return [], False
        return [sorted(docs, key=_age)], True

    def _combinations(
        self, payment: Payment, target: Decimal, pool: list[OpenInvoice], max_size: int | None = None
    ) -> tuple[list[list[OpenInvoice]], bool]:
        """Combinations of two or more (at most ``max_size``) of ``pool`` whose signed amounts due come to
        ``target`` (at most two are collected: one is unique, two is ambiguous), and whether the search was
        exhaustive. A depth-first search that prunes what can no longer reach the target."""
        goal = int(target * CENTS)
        signed = [int(i.signed_due * CENTS) for i in pool]
        if not sum(v for v in signed if v < 0) <= goal <= sum(v for v in signed if v > 0):
            # All of them together cannot reach it (a remainder often exceeds what is due): the search's first
            # step would find that, and it counts as one.
            return [], self.config.max_search_steps > 0
        order = sorted(range(len(pool)), key=lambda k: (-abs(pool[k].signed_due), _age(pool[k])))
        docs = [pool[k] for k in order]
        values = [signed[k] for k in order]
        n = len(values)
        most = [0] * (n + 1)  # most/least that the documents from index i on can still add
        least = [0] * (n + 1)
        for i in range(n - 1, -1, -1):
            most[i] = most[i + 1] + max(values[i], 0)
            least[i] = least[i + 1] + min(values[i], 0)
        found: list[list[int]] = []
        steps = 0
        budget = self.config.max_search_steps
        chosen: list[int] = []

        def search(i: int, remaining: int) -> bool:  # False: stop (budget spent or two found)
            nonlocal steps
            steps += 1
            if steps > budget:
                return False
            if i == n or not least[i] <= remaining <= most[i]:
                return True
            if max_size is not None and len(chosen) >= max_size:
                return True
            chosen.append(i)
            left = remaining - values[i]
            if left == 0 and len(chosen) >= 2 and any(self._settles(payment, docs[j]) for j in chosen):
                found.append(list(chosen))
                if len(found) >= 2:
                    return False
            if not search(i + 1, left):
                return False
            chosen.pop()
            return search(i + 1, remaining)

        finished = search(0, goal)
        exhaustive = finished or len(found) >= 2
        combos = [sorted((docs[j] for j in combo), key=_age) for combo in found]
        return combos, exhaustive and steps <= budget

    def _oldest_combination(
        self, payment: Payment, target: Decimal, pool: list[OpenInvoice]
    ) -> list[list[OpenInvoice]]:
        """For suggestions from a large pool: the one small combination among the oldest few that adds up."""
        pool = sorted(pool, key=_age)[: self.config.max_subset_candidates]
        combos, _ = self._combinations(payment, target, pool, max_size=self.config.max_subset_size)
        return combos if len(combos) == 1 else []  # two: ambiguous

    def _by_amount_only(self, payment: Payment) -> list[_Candidate]:
        paid = abs(payment.amount)
        pool = [
            i
            for i in self.index.with_amount(paid)
            if self._usable(payment, i) is not None and i.due == paid and self._settles(payment, i)
        ]
        if not pool:
            return []
        score = _AMOUNT_ONLY.score if len(pool) == 1 else _AMOUNT_ONLY.scores["ambiguous"]
        out = []
        for inv in sorted(pool, key=_age):
            reasons = [Reason("amount_equals_due", amount=paid, number=inv.number, customer=inv.customer_name)]
            if len(pool) > 1:
                reasons.append(Reason("ambiguous_amount", count=len(pool)))
            out.append(_Candidate(score, [inv], "amount", reasons))
        return out

    # -- decisions ---------------------------------------------------------------------------------------

    def match(self, payment: Payment) -> Outcome:
        if payment.amount == 0:
            return Outcome(payment.id, "unmatched")
        # Who paid is asked only when a reference does not settle it (or money is left over): finding a payer
        # by name is the costliest lookup, and three payments in four carry a reference.
        payer: Payer | None = None
        candidates: list[_Candidate] = []
        by_ref = self._by_references(payment)
        if by_ref is not None:
            candidates.append(by_ref)
        else:
            payer = self.index.payer(payment, self.config.name_threshold)
            typo = self._by_typo(payment, payer)
            if typo is not None:
                candidates.append(typo)
            candidates += self._by_number(payment, payer)
            candidates += self._by_payer_amount(payment, payer)
            if not candidates:
                candidates += self._by_amount_only(payment)
        candidates = self._dedupe(sorted(candidates, key=lambda c: -c.score))
        if not candidates:
            return Outcome(payment.id, "unmatched")
        best = candidates[0]
        if best.score >= self.config.auto_threshold and not (
            len(candidates) > 1
            and candidates[1].score >= self.config.auto_threshold
            and candidates[1].invoices != best.invoices
        ):
            allocations = self._split(payment, best)
            for a in allocations:
                self.index.settle(self.index.by_id[a.invoice_id], a.amount + a.write_off)
            remainder = abs(payment.amount) - abs(sum((self._effect(a) for a in allocations), ZERO))
            outcome = Outcome(payment.id, "matched", allocations=allocations, remainder=remainder)
            if remainder > 0:
                payer = payer or self.index.payer(payment, self.config.name_threshold)
                outcome.suggestions = self._for_remainder(payment, payer, remainder, allocations)
            return outcome
        suggestions = [self._suggestion(payment, c) for c in candidates[: self.config.max_suggestions]]
        suggestions = [s for s in suggestions if s.score >= self.config.suggest_threshold]
        return Outcome(payment.id, "suggested" if suggestions else "unmatched", suggestions=suggestions)

    def _effect(self, allocation: Allocation) -> Decimal:
        inv = self.index.by_id[allocation.invoice_id]
        return -allocation.amount if inv.kind == "credit_note" else allocation.amount

    def _suggestion(self, payment: Payment, candidate: _Candidate, amount: Decimal | None = None) -> Suggestion:
        parts = [Part(a.invoice_id, a.amount, a.write_off) for a in self._split(payment, candidate, amount)]
        return Suggestion(round(candidate.score, 3), parts, candidate.reasons)

    def _for_remainder(
        self, payment: Payment, payer: Payer, remainder: Decimal, allocations: list[Allocation]
    ) -> list[Suggestion]:
        """Money left after the named invoices are settled: maybe it pays more invoices of the same payer."""
        taken = frozenset(a.invoice_id for a in allocations)
        candidates = self._by_payer_amount(payment, payer, paid=remainder, exclude=taken)
        out = []
        for c in self._dedupe(sorted(candidates, key=lambda c: -c.score))[: self.config.max_suggestions]:
            c.score = min(c.score, _REMAINDER.scores["at_most"])  # a person decides what a remainder pays
            c.reasons = [Reason("remainder", amount=remainder), *c.reasons]
            out.append(self._suggestion(payment, c, remainder))
        return out

    @staticmethod
    def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
        seen: set[tuple[str, ...]] = set()
        out = []
        for c in candidates:
            key = tuple(sorted(i.id for i in c.invoices))
            if key not in seen:
                seen.add(key)
                out.append(c)
        return out

    def _split(self, payment: Payment, candidate: _Candidate, amount: Decimal | None = None) -> list[Allocation]:
        """Spread the payment over the candidate's documents, never beyond what each has due.

        Documents that add to the payment come first (credit notes netted against a transfer, invoices
        netted against a refund), then the ones it settles, oldest first. A shortfall on the last one within
        the tolerance is written off; money beyond everything due stays on the payment as a remainder.
        """
        remaining = abs(payment.amount) if amount is None else amount
        settled = sorted((i for i in candidate.invoices if self._settles(payment, i)), key=_age)
        netted = sorted((i for i in candidate.invoices if not self._settles(payment, i)), key=_age)
        out: list[Allocation] = []
        for doc in netted:
            out.append(Allocation(doc.id, doc.due, ZERO, candidate.method, candidate.score, list(candidate.reasons)))
            remaining += doc.due
        for position, inv in enumerate(settled):
            part = min(remaining, inv.due)
            write_off = ZERO
            reasons = list(candidate.reasons)
            short = inv.due - part
            if position == len(settled) - 1 and self.config.tolerance.allows(short, inv.total or inv.due):
                write_off = short
                reasons.append(Reason("payment_difference", amount=short))
            if part > 0 or write_off > 0:
                out.append(Allocation(inv.id, part, write_off, candidate.method, candidate.score, reasons))
            remaining -= part
        if remaining > 0 and out:
            out[-1].reasons.append(Reason("remainder_unallocated", amount=remaining))
        return out


def typo_suspects(
    structured_content: str | None, found: Sequence[FoundReference], names_open_invoice: Callable[[str], bool]
) -> list[str]:
    """The OGM-like digits of a payment (its structured communication, OGMs typed in its text) that name no
    open invoice as they stand: each may be one typo away from one that does."""
    raw: list[str] = []
    digits = (structured_content or "")[:12]
    names_one = is_valid_ogm_digits(digits) and names_open_invoice(format_ogm(digits))
    if len(digits) == 12 and digits.isdigit() and not names_one:
        raw.append(digits)
    for ref in found:
        if ref.kind == "ogm" and (not ref.valid or not names_open_invoice(ref.value)):
            raw.append(ref.raw)
    return raw


@lru_cache(maxsize=8192)
def one_typo_variants(digits: str) -> tuple[str, ...]:
    """The neighbours of ``digits`` (see _one_typo_variants), remembered: prefetch and matching both ask."""
    return tuple(_one_typo_variants(digits))


def _one_typo_variants(digits: str) -> Iterable[str]:
    """Valid OGMs one changed digit or one swap of neighbours away from ``digits``.

    Checked by arithmetic on the base and its check digits (a changed digit shifts the base by a known
    amount), so the 119 neighbours cost no string work until one of them is valid.
    """
    if len(digits) != 12 or not (digits.isascii() and digits.isdigit()):
        return
    base, check = int(digits[:10]), int(digits[10:])
    values = [int(ch) for ch in digits]

    def valid(b: int, c: int) -> bool:
        return ((b % 97) or 97) == c

    # No neighbour comes out twice: a changed digit and a swap of two different digits never give the same
    # string (tests/unit/test_matching_search.py checks the whole set against python-stdnum).
    for i in range(12):
        for d in range(10):
            if d == values[i]:
                continue
            if i < 10:
                ok = valid(base + (d - values[i]) * 10 ** (9 - i), check)
            else:
                ok = valid(base, check + (d - values[i]) * 10 ** (11 - i))
            if ok:
                yield digits[:i] + str(d) + digits[i + 1 :]
    for i in range(11):
        a, b = values[i], values[i + 1]
        if a == b:
            continue
        if i < 9:
            ok = valid(base + (b - a) * 10 ** (9 - i) + (a - b) * 10 ** (8 - i), check)
        elif i == 9:
            ok = valid(base + (b - a), check + (a - b) * 10)
        else:
            ok = valid(base, check + (b - a) * 10 + (a - b))
        if ok:
            yield digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]


def match_payments(
    payments: Sequence[Payment],
    invoices: Iterable[OpenInvoice],
    *,
    config: MatchConfig | None = None,
    learned_ibans: dict[str, set[str]] | None = None,
    rejected: set[tuple[str, str]] | None = None,
) -> list[Outcome]:
    """Match payments in order (earlier allocations reduce what later payments can settle)."""
    matcher = Matcher(InvoiceIndex(invoices, learned_ibans), config, rejected)
    return [matcher.match(p) for p in payments]


__all__ = [
    "Allocation",
    "FoundReference",
    "MatchConfig",
    "Matcher",
    "OpenInvoice",
    "Outcome",
    "Part",
    "Payment",
    "Suggestion",
    "match_payments",
    "ogm_digits",
]
