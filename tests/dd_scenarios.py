"""A seeded generator of SEPA direct-debit scenarios with ground truth (issue 40): collections the company
issued and the R-transactions that undo some of them, written as CODA (type 127) or camt.053, and the
figures per kind of movement (precision and recall of what the service did without a person).

Kinds of collection: by the end-to-end id the company gave it (``collection_e2e``), by mandate and amount
(``collection_mandate``), by the OGM in its communication (``collection_ogm``), by the customer the mandate's
earlier collection taught (``collection_learned``), and the details of a batch (``batch_detail``). Kinds of
return (each a reject, return, refund or reversal of an earlier collection): naming its end-to-end id
(``return_e2e``), its mandate alone (``return_mandate``), part of the amount (``return_partial``), only the
account and amount (``return_account``: a suggestion, never applied alone), and money out that returns
nothing we collected (``return_unknown``). Some returned invoices are presented again (``represented``).

Like tests/scenarios.py it shares the engine's assumptions, so its figures are upper bounds: each kind is
written the way the Febelfin and EPC documents describe the fields, not from a bank's real files.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from app.identifiers.references import format_ogm, ogm_check_digits
from app.statements.coda_writer import MovementSpec, StatementSpec, sepa_direct_debit_content

ACCOUNT = "BE80001000000177"
R_TYPES = {"reject": "1", "return": "2", "refund": "3", "reversal": "4"}
REASONS = ["AM04", "MD06", "MS02", "AC04", "MD01", "SL01"]
#: What a person must decide (a suggestion) rather than the service alone.
SUGGESTED_KINDS = frozenset({"return_account"})
NOTHING_KINDS = frozenset({"return_unknown"})


@dataclass
class Expect:
    """What one movement should do: pay ``invoice_id`` (a collection), or return the collection ``returns``
    (its label); ``None`` for both: nothing."""

    kind: str
    invoice_id: str | None = None
    returns: str | None = None


@dataclass
class DdScenario:
    invoices: list[dict]  # API bodies
    statements: list[list[MovementSpec]]  # one statement per list, uploaded in order
    expect: dict[str, Expect]  # by movement label (its end-to-end id, else its bank reference)
    statuses: dict[str, str]  # invoice external id -> status once everything is booked
    start: date = date(2026, 9, 1)

    def statement_specs(self) -> list[StatementSpec]:
        out, balance = [], Decimal(0)
        for n, movements in enumerate(self.statements, start=1):
            st = StatementSpec(ACCOUNT, max(m.booking_date for m in movements), balance, movements, sequence=n)
            balance = st.closing_balance
            out.append(st)
        return out


def _ogm(n: int) -> str:
    base = 700_000_000 + n
    return format_ogm(f"{base:010d}{ogm_check_digits(f'{base:010d}')}")


def _iban(rng: random.Random) -> str:
    digits = f"{rng.randrange(10**10):010d}"
    account = f"{rng.randrange(100, 999)}{digits[:7]}"
    check = int(account) % 97 or 97
    bban = f"{account}{check:02d}"
    numeric = int(bban + "111400")  # BE00 as digits, per ISO 13616
    return f"BE{98 - numeric % 97:02d}{bban}"


def generate(seed: int = 1, customers: int = 60) -> DdScenario:
    rng = random.Random(seed)
    invoices: list[dict] = []
    statements: list[list[MovementSpec]] = [[], [], [], []]  # collections, more collections, returns, again
    expect: dict[str, Expect] = {}
    statuses: dict[str, str] = {}
    collected: list[tuple[str, dict, MovementSpec, str]] = []  # (label, invoice, movement, kind)
    counter = iter(range(1, 1_000_000))
    day = date(2026, 9, 1)

    def invoice(customer: str, amount: Decimal, **fields: str) -> dict:
        n = next(counter)
        body = {
            "external_id": f"DD-{n}",
            "number": f"2026/{n:05d}",
            "issue_date": (day - timedelta(days=20)).isoformat(),
            "due_date": day.isoformat(),
            "total_amount": str(amount),
            "customer": {"name": customer},
            "structured_reference": _ogm(n),
            **fields,
        }
        invoices.append(body)
        statuses[body["external_id"]] = "open"
        return body

    def collection(
        amount: Decimal, mandate: str, iban: str, customer: str, *, e2e: str, text: str, when: date, r_type: str = "0",
        reason: str = "", reference: str = "",
    ) -> MovementSpec:  # fmt: skip
        content = sepa_direct_debit_content(
            settlement=when, mandate=mandate, communication=text, r_type=r_type, reason=reason
        )
        return MovementSpec(
            amount, structured_type="127", structured_content=content, counterparty_name=customer.upper()[:35],
            counterparty_iban=iban, end_to_end=e2e, booking_date=when, bank_reference=reference,
        )  # fmt: skip

    for c in range(customers):
        name = f"{rng.choice(['Bakkerij', 'Garage', 'Immo', 'Studio', 'Transport'])} {c:03d} BV"
        iban, mandate = _iban(rng), f"MANDATE-{seed}-{c:04d}"
        amount = Decimal(rng.randrange(2_000, 90_000)) / 100
        kind = rng.choice(["collection_e2e", "collection_mandate", "collection_ogm", "collection_learned", "batch"])
        if kind == "batch":  # this customer's collection is one detail of a batch of three customers' invoices
            kind = "batch_detail"
        fields: dict[str, str] = {}
        e2e = f"COLL-{seed}-{c:04d}"
        if kind in ("collection_e2e", "batch_detail"):
            fields["collection_reference"] = e2e
        elif kind == "collection_mandate":
            fields["mandate_reference"] = mandate
        target = invoice(name, amount, **fields)
        text = target["structured_reference"] if kind in ("collection_ogm", "collection_learned") else "abonnement"
        when = day + timedelta(days=rng.randrange(0, 5))
        if kind == "collection_learned":
            # The first collection pays by its OGM and teaches the mandate; the next names nothing but it.
            first = collection(amount, mandate, iban, name, e2e=e2e, text=text, when=when)
            statements[0].append(first)
            expect[e2e] = Expect("collection_ogm", target["external_id"])
            statuses[target["external_id"]] = "paid"
            later_amount = Decimal(rng.randrange(2_000, 90_000)) / 100
            target = invoice(name, later_amount)
            e2e = f"COLL-{seed}-{c:04d}-2"
            movement = collection(
                later_amount, mandate, iban, name, e2e=e2e, text="abonnement", when=when + timedelta(days=30)
            )
            statements[1].append(movement)
        else:
            movement = collection(amount, mandate, iban, name, e2e=e2e, text=text, when=when)
            statements[0 if kind != "batch_detail" else 1].append(movement)
        expect[e2e] = Expect(kind, target["external_id"])
        statuses[target["external_id"]] = "paid"
        collected.append((e2e, target, movement, kind))
    # Batch details go together: every three become one globalisation total.
    details = [m for m in statements[1] if expect[m.end_to_end].kind == "batch_detail"]
    statements[1] = [m for m in statements[1] if expect[m.end_to_end].kind != "batch_detail"]
    for n in range(0, len(details), 3):
        part = details[n : n + 3]
        total = MovementSpec(sum((m.amount for m in part), Decimal(0)), booking_date=max(m.booking_date for m in part),
                             details=part, communication="SEPA batch")  # fmt: skip
        statements[1].append(total)

    # Some collections come back, in many ways.
    returned_day = day + timedelta(days=45)
    for label, target, original, _ in rng.sample(collected, k=len(collected) // 2):
        kind = rng.choice(["return_e2e", "return_e2e", "return_mandate", "return_partial", "return_account"])
        r_type = rng.choice(list(R_TYPES))
        content_mandate = original.structured_content[44:79].strip()  # type: ignore[index]
        amount = -original.amount if kind != "return_partial" else -(original.amount / 2).quantize(Decimal("0.01"))
        reference = f"R{next(counter):06d}"
        movement = collection(
            amount, content_mandate if kind != "return_account" else f"OTHER-{reference}", original.counterparty_iban,
            original.counterparty_name, e2e=label if kind in ("return_e2e", "return_partial") else "", text="",
            when=returned_day, r_type=R_TYPES[r_type], reason=rng.choice(REASONS), reference=reference,
        )  # fmt: skip
        statements[2].append(movement)
        # A return that names the original's end-to-end id is known by it too: keyed apart (see evaluate).
        expect[f"{label}/return" if movement.end_to_end else reference] = Expect(kind, returns=label)
        if kind == "return_partial":
            statuses[target["external_id"]] = "partially_paid"
        elif kind != "return_account":
            statuses[target["external_id"]] = "open"
            if rng.random() < 0.5:  # presented again, with its OGM this time, and paid
                again = f"AGAIN-{reference}"
                statements[3].append(collection(
                    -amount, content_mandate, original.counterparty_iban, original.counterparty_name, e2e=again,
                    text=target["structured_reference"], when=returned_day + timedelta(days=10),
                ))  # fmt: skip
                expect[again] = Expect("represented", target["external_id"])
                statuses[target["external_id"]] = "paid"
    for n in range(max(1, customers // 20)):  # money out that returns nothing we collected
        reference = f"U{n:06d}"
        statements[2].append(collection(
            -Decimal(rng.randrange(1_000, 9_000)) / 100, f"UNKNOWN-{n}", _iban(rng), "SOMEONE", e2e="", text="",
            when=returned_day, r_type="2", reason="AM04", reference=reference,
        ))  # fmt: skip
        expect[reference] = Expect("return_unknown")
    return DdScenario(invoices, [s for s in statements if s], expect, statuses)


# -- measuring --------------------------------------------------------------------------------------------


@dataclass
class KindFigures:
    movements: int = 0  # movements of this kind in the scenario
    expected: int = 0  # movements of this kind that should be settled (or suggested) by the service
    done: int = 0  # the service settled (or suggested) something for them
    right: int = 0  # ... and it was what the truth says

    @property
    def precision(self) -> float:
        return self.right / self.done if self.done else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0


@dataclass
class DdEvaluation:
    kinds: dict[str, KindFigures] = field(default_factory=lambda: defaultdict(KindFigures))
    wrong: list[str] = field(default_factory=list)

    def table(self) -> str:
        rows = ["| kind | movements | precision | recall |", "|---|---|---|---|"]
        for kind, f in sorted(self.kinds.items()):
            rows.append(f"| {kind} | {f.movements} | {f.precision:.1%} | {f.recall:.1%} |")
        return "\n".join(rows)


def evaluate(scenario: DdScenario, transactions: list[dict], invoice_ids: dict[str, str]) -> DdEvaluation:
    """Compare the API's transactions (with allocations and suggestions) with the truth. ``invoice_ids``: the
    service's id of each invoice, by external id."""
    out = DdEvaluation()
    by_id = {t["id"]: t for t in transactions}
    external = {v: k for k, v in invoice_ids.items()}

    def label(t: dict) -> str:
        if t["amount"].startswith("-") and t["end_to_end_reference"]:
            return f"{t['end_to_end_reference']}/return"
        return t["end_to_end_reference"] or t["bank_reference"]

    for t in transactions:
        truth = scenario.expect.get(label(t))
        if truth is None:
            continue
        figures = out.kinds[truth.kind]
        figures.movements += 1
        if truth.kind in NOTHING_KINDS:
            if t["status"] not in ("unmatched",):
                figures.done += 1
                out.wrong.append(f"{label(t)}: {truth.kind} was {t['status']}")
            continue
        figures.expected += 1
        if truth.invoice_id is not None:  # a collection: which invoice did it pay?
            paid = {external.get(a["invoice_id"]) for a in t["allocations"] if a["returns"] is None}
            if paid:
                figures.done += 1
                if paid == {truth.invoice_id}:
                    figures.right += 1
                else:
                    out.wrong.append(f"{label(t)}: {truth.kind} paid {paid}, not {truth.invoice_id}")
            continue
        original = by_id.get(t["returns"] or "") if truth.kind not in SUGGESTED_KINDS else None
        if truth.kind in SUGGESTED_KINDS:
            proposed = {a.get("returns") for s in t["suggestions"] for a in s["allocations"]}
            if t["status"] == "returned":
                figures.done += 1
                out.wrong.append(f"{label(t)}: {truth.kind} was applied without a person")
            elif proposed - {None}:
                figures.done += 1
                originals = {a["id"]: label(o) for o in transactions for a in o["allocations"] if a["returns"] is None}
                if {originals.get(p) for p in proposed} == {truth.returns}:
                    figures.right += 1
            continue
        if original is not None:
            figures.done += 1
            if (original["end_to_end_reference"] or original["bank_reference"]) == truth.returns:
                figures.right += 1
            else:
                out.wrong.append(f"{label(t)}: {truth.kind} returned {label(original)}, not {truth.returns}")
    return out
