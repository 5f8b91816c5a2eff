"""The matching engine: payments and open invoices in, allocations and suggestions out. Pure (no HTTP, no
database), so it is fast to test and to measure.

Policy (see docs/matching.md): every candidate gets a confidence score with the reasons behind it.
Score >= ``auto_threshold`` (0.95): allocated without a person. Score >= ``suggest_threshold`` (0.30): a
suggestion a person confirms. Otherwise nothing. Only a reference that identifies the invoice (structured,
typed in free text, or one typo away *and* confirmed by both amount and payer) or a full invoice number
confirmed by amount and payer reaches the automatic threshold: an amount, a name or an IBAN alone never does.

Candidates come from hash indexes (reference, OGM digits, invoice number, customer IBAN and name, amount due),
never from comparing every payment with every invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations

from app.money import format_amount
from app.reconciliation.invoice_numbers import full_keys, numbers_in_text, tail_key
from app.reconciliation.names import name_similarity, normalize_name
from app.references import FoundReference, find_references, format_ogm, is_valid_ogm_digits, ogm_digits

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MatchConfig:
    auto_threshold: float = 0.95
    suggest_threshold: float = 0.30
    #: A payment short of the amount due by at most this much (and this share) settles it, the difference
    #: recorded as a bank fee.
    fee_tolerance: Decimal = Decimal("5.00")
    fee_tolerance_ratio: Decimal = Decimal("0.02")
    name_threshold: float = 85.0
    max_subset_size: int = 4
    max_subset_candidates: int = 12
    max_suggestions: int = 3

    @classmethod
    def from_overrides(cls, overrides: dict | None) -> MatchConfig:
        if not overrides:
            return cls()
        values = {
            k: (Decimal(str(v)) if k.startswith("fee_tolerance") else v)
            for k, v in overrides.items()
            if k in cls.__dataclass_fields__
        }
        return cls(**values)


@dataclass
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
    fee: Decimal = ZERO  # difference written off as a bank fee
    method: str = ""
    confidence: float = 1.0
    reasons: list[dict] = field(default_factory=list)


@dataclass
class Suggestion:
    score: float
    allocations: list[tuple[str, Decimal]]
    reasons: list[dict]


@dataclass
class Outcome:
    payment_id: str
    status: str  # matched | suggested | unmatched
    allocations: list[Allocation] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)


def reason(code: str, message: str) -> dict:
    return {"code": code, "message": message}


class InvoiceIndex:
    """Open invoices by every key a payment can point at them with."""

    def __init__(self, invoices: Iterable[OpenInvoice], learned_ibans: dict[str, set[str]] | None = None) -> None:
        self.by_id: dict[str, OpenInvoice] = {}
        self.by_reference: dict[str, OpenInvoice] = {}
        self.by_full_number: dict[str, list[OpenInvoice]] = defaultdict(list)
        self.by_tail: dict[int, list[OpenInvoice]] = defaultdict(list)
        self.by_customer: dict[str, list[OpenInvoice]] = defaultdict(list)
        self.by_amount: dict[Decimal, list[OpenInvoice]] = defaultdict(list)
        self.customers_by_iban: dict[str, set[str]] = defaultdict(set)
        self.customers_by_name: dict[str, set[str]] = defaultdict(set)
        self.customer_names: dict[str, str] = {}
        for inv in invoices:
            self.add(inv)
        for iban, keys in (learned_ibans or {}).items():
            self.customers_by_iban[iban] |= keys

    def add(self, inv: OpenInvoice) -> None:
        self.by_id[inv.id] = inv
        self.by_reference[inv.reference] = inv
        for key in full_keys(inv.number):
            self.by_full_number[key].append(inv)
        tail = tail_key(inv.number)
        if tail is not None:
            self.by_tail[tail].append(inv)
        self.by_customer[inv.customer_key].append(inv)
        self.by_amount[inv.due].append(inv)
        if inv.customer_iban:
            self.customers_by_iban[inv.customer_iban].add(inv.customer_key)
        normalized = normalize_name(inv.customer_name)
        if normalized and inv.customer_key not in self.customer_names:
            for token in set(normalized.split()):
                self.customers_by_name[token].add(inv.customer_key)
            self.customer_names[inv.customer_key] = inv.customer_name

    def open(self, inv: OpenInvoice | None) -> OpenInvoice | None:
        return inv if inv is not None and inv.due > 0 else None

    def payer_customers(self, payment: Payment, threshold: float) -> tuple[set[str], list[dict]]:
        """Customers the payer is: by IBAN (known or learned), else by a close name."""
        if payment.counterparty_iban and payment.counterparty_iban in self.customers_by_iban:
            keys = self.customers_by_iban[payment.counterparty_iban]
            return set(keys), [
                reason("payer_iban", f"paid from {payment.counterparty_iban}, an account of the customer")
            ]
        normalized = normalize_name(payment.counterparty_name)
        if not normalized:
            return set(), []
        # Candidates from the rarest word of the payer's name (a name index, not a scan of all customers).
        buckets = [self.customers_by_name[t] for t in set(normalized.split()) if t in self.customers_by_name]
        if not buckets:
            return set(), []
        found: set[str] = set()
        for key in list(min(buckets, key=len))[:200]:
            if name_similarity(payment.counterparty_name, self.customer_names.get(key)) >= threshold:
                found.add(key)
        if found:
            return found, [reason("payer_name", f"payer name {payment.counterparty_name!r} is the customer's")]
        return set(), []


@dataclass
class _Candidate:
    score: float
    invoices: list[OpenInvoice]
    method: str
    reasons: list[dict]


class Matcher:
    def __init__(
        self, index: InvoiceIndex, config: MatchConfig | None = None, rejected: set[tuple[str, str]] | None = None
    ) -> None:
        self.index = index
        self.config = config or MatchConfig()
        self.rejected = rejected or set()

    # -- helpers --------------------------------------------------------------------------------------

    def _fee_fits(self, paid: Decimal, due: Decimal) -> bool:
        short = due - paid
        return ZERO < short <= self.config.fee_tolerance and short <= due * self.config.fee_tolerance_ratio

    def _amount_agrees(self, paid: Decimal, due: Decimal) -> bool:
        return paid == due or self._fee_fits(paid, due)

    def _usable(self, payment: Payment, inv: OpenInvoice | None) -> OpenInvoice | None:
        inv = self.index.open(inv)
        if inv is None or (payment.id, inv.id) in self.rejected:
            return None
        # Money in settles invoices; money out (refunds) settles credit notes.
        if payment.amount > 0 and inv.kind == "credit_note":
            return inv  # may still be netted against invoices of the same payment
        if payment.amount < 0 and inv.kind != "credit_note":
            return None
        return inv

    # -- candidates ------------------------------------------------------------------------------------

    def _by_references(self, payment: Payment) -> _Candidate | None:
        if payment.structured_reference:
            inv = self._usable(payment, self.index.by_reference.get(payment.structured_reference))
            if inv is not None and (inv.kind != "credit_note" or payment.amount < 0):
                return _Candidate(
                    1.0,
                    [inv],
                    "structured_reference",
                    [
                        reason(
                            "structured_reference",
                            f"structured communication {payment.structured_reference} is the reference of {inv.number}",
                        )
                    ],
                )
        found = [r for r in find_references(payment.communication) if r.valid]
        invoices: list[OpenInvoice] = []
        for ref in found:
            inv = self._usable(payment, self.index.by_reference.get(ref.value))
            if inv is not None and inv not in invoices:
                invoices.append(inv)
        if invoices and (payment.amount < 0 or any(i.kind != "credit_note" for i in invoices)):
            numbers = ", ".join(i.number for i in invoices)
            return _Candidate(
                0.98,
                invoices,
                "free_text_reference",
                [reason("free_text_reference", f"the communication names the reference of {numbers}")],
            )
        return None

    def _typo_candidates(self, payment: Payment) -> list[OpenInvoice]:
        raw: list[str] = []
        if payment.structured_content and payment.structured_content[:12].isdigit():
            digits = payment.structured_content[:12]
            if not is_valid_ogm_digits(digits) or format_ogm(digits) not in self.index.by_reference:
                raw.append(digits)
        for ref in find_references(payment.communication):
            if ref.kind == "ogm" and (not ref.valid or ref.value not in self.index.by_reference):
                raw.append(ref.raw)
        found: list[OpenInvoice] = []
        for digits in raw:
            for variant in _one_typo_variants(digits):
                inv = self._usable(payment, self.index.by_reference.get(format_ogm(variant)))
                if inv is not None and inv not in found:
                    found.append(inv)
        return found

    def _by_typo(self, payment: Payment, payers: set[str], payer_reasons: list[dict]) -> _Candidate | None:
        best: _Candidate | None = None
        for inv in self._typo_candidates(payment):
            amount_ok = self._amount_agrees(abs(payment.amount), inv.due)
            payer_ok = inv.customer_key in payers
            if not (amount_ok or payer_ok):
                continue  # a near reference alone is not enough
            score = 0.97 if amount_ok and payer_ok else 0.85
            reasons = [reason("reference_typo", f"the reference is one typo away from {inv.reference} ({inv.number})")]
            if amount_ok:
                reasons.append(reason("amount", f"{format_amount(abs(payment.amount))} is the amount due"))
            if payer_ok:
                reasons += payer_reasons
            if best is None or score > best.score:
                best = _Candidate(score, [inv], "reference_typo", reasons)
        return best

    def _by_number(self, payment: Payment, payers: set[str], payer_reasons: list[dict]) -> _Candidate | None:
        fulls, tails = numbers_in_text(payment.communication)
        scored: dict[str, tuple[float, OpenInvoice, str]] = {}
        for key in fulls:
            for inv in self.index.by_full_number.get(key, ()):
                if self._usable(payment, inv) is not None:
                    scored[inv.id] = max(scored.get(inv.id, (0, inv, "")), (0.75, inv, "full"), key=lambda t: t[0])
        for tail in tails:
            for inv in self.index.by_tail.get(tail, ()):
                if self._usable(payment, inv) is not None and inv.id not in scored:
                    scored[inv.id] = (0.55, inv, "tail")
        best: _Candidate | None = None
        for base, inv, how in scored.values():
            amount_ok = self._amount_agrees(abs(payment.amount), inv.due)
            payer_ok = inv.customer_key in payers
            score = base + (0.15 if amount_ok else 0) + (0.1 if payer_ok else 0)
            if how == "full" and amount_ok and payer_ok:
                score = 0.97
            score = min(score, 0.97 if how == "full" else 0.85)
            reasons = [reason("invoice_number", f"the communication names invoice {inv.number}")]
            if amount_ok:
                reasons.append(reason("amount", f"{format_amount(abs(payment.amount))} is the amount due"))
            if payer_ok:
                reasons += payer_reasons
            if best is None or score > best.score:
                best = _Candidate(score, [inv], "invoice_number", reasons)
        return best

    def _by_payer_amount(self, payment: Payment, payers: set[str], payer_reasons: list[dict]) -> list[_Candidate]:
        if not payers:
            return []
        paid = abs(payment.amount)
        pool = [
            i for key in payers for i in self.index.by_customer.get(key, ()) if self._usable(payment, i) is not None
        ]
        exact = [i for i in pool if self._amount_agrees(paid, i.due) and i.kind != "credit_note"]
        if exact:
            score = 0.8 if len(exact) == 1 else 0.45
            extra = []
            if len(exact) > 1:
                extra = [reason("ambiguous", f"{len(exact)} open invoices of this customer are due for this amount")]
            return [
                _Candidate(
                    score,
                    [i],
                    "payer_amount",
                    [
                        *payer_reasons,
                        reason("amount", f"{format_amount(paid)} is the amount due of invoice {i.number}"),
                        *extra,
                    ],
                )
                for i in sorted(exact, key=lambda i: (i.due_date, i.id))
            ]
        subset = self._subset(paid, pool)
        if subset:
            numbers = ", ".join(i.number for i in subset)
            return [
                _Candidate(
                    0.75,
                    subset,
                    "payer_amount_subset",
                    [
                        *payer_reasons,
                        reason("amount_subset", f"{format_amount(paid)} is what {numbers} come to together"),
                    ],
                )
            ]
        return []

    def _subset(self, paid: Decimal, pool: list[OpenInvoice]) -> list[OpenInvoice] | None:
        """The one combination of a customer's open documents (credit notes count negative) that adds up."""
        pool = sorted(pool, key=lambda i: (i.due_date, i.id))[: self.config.max_subset_candidates]
        found: list[list[OpenInvoice]] = []
        for size in range(2, min(self.config.max_subset_size, len(pool)) + 1):
            for combo in combinations(pool, size):
                if sum((-i.due if i.kind == "credit_note" else i.due for i in combo), ZERO) == paid and any(
                    i.kind != "credit_note" for i in combo
                ):
                    found.append(list(combo))
                    if len(found) > 1:
                        return None  # ambiguous
        return found[0] if found else None

    def _by_amount_only(self, payment: Payment) -> list[_Candidate]:
        paid = abs(payment.amount)
        kind_ok = (lambda i: i.kind == "credit_note") if payment.amount < 0 else (lambda i: i.kind != "credit_note")
        pool = [
            i
            for i in self.index.by_amount.get(paid, ())
            if self._usable(payment, i) is not None and i.due == paid and kind_ok(i)
        ]
        if not pool:
            return []
        score = 0.5 if len(pool) == 1 else 0.3
        out = []
        for inv in sorted(pool, key=lambda i: (i.due_date, i.id)):
            reasons = [
                reason(
                    "amount_equals_due",
                    f"{format_amount(paid)} is the amount due of invoice {inv.number} ({inv.customer_name})",
                )
            ]
            if len(pool) > 1:
                reasons.append(reason("ambiguous", f"{len(pool)} open invoices are due for this amount"))
            out.append(_Candidate(score, [inv], "amount", reasons))
        return out

    # -- decisions ---------------------------------------------------------------------------------------

    def match(self, payment: Payment) -> Outcome:
        if payment.amount == 0:
            return Outcome(payment.id, "unmatched")
        payers, payer_reasons = self.index.payer_customers(payment, self.config.name_threshold)
        candidates: list[_Candidate] = []
        by_ref = self._by_references(payment)
        if by_ref is not None:
            candidates.append(by_ref)
        else:
            for finder in (self._by_typo, self._by_number):
                found = finder(payment, payers, payer_reasons)
                if found is not None:
                    candidates.append(found)
            candidates += self._by_payer_amount(payment, payers, payer_reasons)
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
                self.index.by_id[a.invoice_id].due -= a.amount + a.fee
            return Outcome(payment.id, "matched", allocations=allocations)
        suggestions = [
            Suggestion(
                round(c.score, 3), [(a.invoice_id, a.amount + a.fee) for a in self._split(payment, c)], c.reasons
            )
            for c in candidates[: self.config.max_suggestions]
            if c.score >= self.config.suggest_threshold
        ]
        return Outcome(payment.id, "suggested" if suggestions else "unmatched", suggestions=suggestions)

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

    def _split(self, payment: Payment, candidate: _Candidate) -> list[Allocation]:
        """Spread the payment over the candidate's documents: credit notes first (they add money), then
        invoices oldest first; what is left over goes to the last invoice (an overpayment); a shortfall
        within the fee tolerance on the last invoice is recorded as a fee."""
        remaining = abs(payment.amount)
        docs = sorted(candidate.invoices, key=lambda i: (i.kind != "credit_note", i.due_date, i.id))
        out: list[Allocation] = []
        if payment.amount < 0:  # a refund settles credit notes
            for inv in docs:
                part = min(remaining, inv.due) if inv is not docs[-1] else remaining
                out.append(Allocation(inv.id, part, ZERO, candidate.method, candidate.score, list(candidate.reasons)))
                remaining -= part
            return [a for a in out if a.amount > 0]
        credit_notes = [i for i in docs if i.kind == "credit_note"]
        invoices = [i for i in docs if i.kind != "credit_note"]
        for note in credit_notes:
            out.append(Allocation(note.id, note.due, ZERO, candidate.method, candidate.score, list(candidate.reasons)))
            remaining += note.due
        for position, inv in enumerate(invoices):
            last = position == len(invoices) - 1
            part = remaining if last else min(remaining, inv.due)
            fee = ZERO
            reasons = list(candidate.reasons)
            if last and part < inv.due and self._fee_fits(part, inv.due):
                fee = inv.due - part
                reasons.append(
                    reason("bank_fee", f"{format_amount(fee)} short of the amount due: recorded as a bank fee")
                )
            if last and part > inv.due:
                reasons.append(reason("overpaid", f"{format_amount(part - inv.due)} more than the amount due"))
            out.append(Allocation(inv.id, part, fee, candidate.method, candidate.score, reasons))
            remaining -= part
        return [a for a in out if a.amount > 0 or a.fee > 0]


def _one_typo_variants(digits: str) -> Iterable[str]:
    """Valid OGMs one changed digit or one swap of neighbours away from ``digits``."""
    seen: set[str] = set()
    for i in range(12):
        for d in "0123456789":
            if d != digits[i]:
                variant = digits[:i] + d + digits[i + 1 :]
                if variant not in seen and is_valid_ogm_digits(variant):
                    seen.add(variant)
                    yield variant
    for i in range(11):
        if digits[i] != digits[i + 1]:
            variant = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            if variant not in seen and is_valid_ogm_digits(variant):
                seen.add(variant)
                yield variant


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
    "Payment",
    "Suggestion",
    "match_payments",
    "ogm_digits",
]
