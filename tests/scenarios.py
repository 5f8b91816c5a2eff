"""A deterministic, seeded generator of matching scenarios with ground truth: customers, open invoices and
incoming payments covering the cases the matcher must handle and the mistakes payers make. It also writes
the payments as a CODA file, for end-to-end tests and benchmarks, and measures an engine's outcomes against
the truth, per kind of case (see ``evaluate``).

It shares the engine's assumptions, so its figures are upper bounds for real ledgers: each kind is written
the way payers were seen to write it, not the way the engine reads it.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from app.companies.tolerance import Tolerance
from app.identifiers.references import format_ogm, ogm_check_digits
from app.reconciliation.matching import MatchConfig, OpenInvoice, Outcome, Payment
from app.reconciliation.status import invoice_status

LEGAL = ["BV", "NV", "SRL", "BVBA", "SA", "SPRL", ""]
WORDS = ["Bakkerij", "Garage", "Dakwerken", "Immo", "Transport", "Consult", "Brasserie", "Atelier", "Studio",
         "Tuinen", "Schrijnwerk", "Elektro", "Sanitair", "Apotheek", "Drukkerij", "Logistics", "Verhuur"]  # fmt: skip
CITIES = ["Gent", "Brugge", "Leuven", "Namur", "Liège", "Hasselt", "Mechelen", "Aalst", "Kortrijk", "Mons"]

#: The payment tolerance of the scenario's company (the "tolerance" kind pays within it).
TOLERANCE = Tolerance(amount=Decimal("2.00"), percent=Decimal("2"))
CONFIG = MatchConfig(tolerance=TOLERANCE)

#: case -> weight (share of payments); see docs/matching.md
CASES = {
    "structured": 50,
    "free_text_reference": 8,
    "reference_typo": 4,
    "invoice_number": 6,
    "partial": 5,
    "several_by_reference": 4,
    "several_by_number": 3,
    "several_not_adding_up": 2,
    "payer_subset": 3,
    "customer_total": 2,
    "tolerance": 3,
    "overpaid": 2,
    "third_party": 2,
    "credit_note_netting": 2,
    "amount_only": 3,
    "payer_amount": 3,
    "unrelated": 5,
    "refund": 1,
    "same_amount_ambiguous": 2,
}


@dataclass
class Truth:
    payment_id: str
    case: str
    invoice_ids: frozenset[str]  # empty: nothing should be matched
    auto_expected: bool
    #: What each invoice the payment is for should show once it is booked (a person confirming suggestions).
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    invoices: list[OpenInvoice]
    payments: list[Payment]
    truth: dict[str, Truth]
    account_iban: str = "BE80001000000177"
    start: date = date(2026, 3, 1)
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def invoice_body(inv: OpenInvoice) -> dict:
        """An invoice of the scenario as the API registers it (POST .../invoices or one item of a batch)."""
        return {
            "external_id": inv.id,
            "number": inv.number,
            "kind": inv.kind,
            "issue_date": inv.issue_date.isoformat(),
            "due_date": inv.due_date.isoformat(),
            "total_amount": str(inv.due),
            "customer": {"name": inv.customer_name, **({"iban": inv.customer_iban} if inv.customer_iban else {})},
            "structured_reference": inv.reference,
        }

    def to_statements(self, per_statement: int = 1000, first_sequence: int = 1) -> list:
        from app.statements.coda_writer import MovementSpec, StatementSpec

        statements, balance = [], Decimal(0)
        for n in range(0, len(self.payments), per_statement):
            chunk = self.payments[n : n + per_statement]
            movements = [
                MovementSpec(
                    p.amount,
                    ogm=p.structured_content if p.structured_content else None,
                    communication="" if p.structured_content else p.communication,
                    counterparty_name=p.counterparty_name or "",
                    counterparty_iban=p.counterparty_iban or "",
                    booking_date=p.booking_date,
                )
                for p in chunk
            ]
            st = StatementSpec(
                self.account_iban,
                max(p.booking_date for p in chunk),
                balance,
                movements,
                sequence=n // per_statement + first_sequence,
            )
            balance = st.closing_balance
            statements.append(st)
        return statements

    def to_coda(self, per_statement: int = 1000, first_sequence: int = 1) -> bytes:
        from app.statements.coda_writer import write_coda

        return write_coda(self.to_statements(per_statement, first_sequence))

    def to_camt(self, per_statement: int = 1000, first_sequence: int = 1) -> bytes:
        """The same statements as camt.053, laid out as Febelfin's XML guidelines map CODA."""
        from app.statements.camt_writer import write_camt

        return write_camt(self.to_statements(per_statement, first_sequence))


def _iban(rng: random.Random) -> str:
    bban10 = f"{rng.randint(1, 999):03d}{rng.randint(0, 9_999_999):07d}"
    bban = bban10 + f"{(int(bban10) % 97) or 97:02d}"
    return f"BE{98 - int(bban + '111400') % 97:02d}{bban}"


def _bank_name(name: str, rng: random.Random) -> str:
    """How a bank shows the payer: upper case, legal form moved or dropped, cut at 35 characters."""
    words = name.split()
    legal = [w for w in words if w in LEGAL]
    rest = [w for w in words if w not in LEGAL]
    style = rng.random()
    if style < 0.3 and legal:
        shown = " ".join(legal + rest)
    elif style < 0.6:
        shown = " ".join(rest)
    else:
        shown = name
    return shown.upper()[:35]


def _ogm_typo(digits: str, rng: random.Random) -> str:
    i = rng.randrange(11)
    if rng.random() < 0.5 and digits[i] != digits[i + 1]:
        return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    j = rng.randrange(12)
    return digits[:j] + str((int(digits[j]) + rng.randint(1, 9)) % 10) + digits[j + 1 :]


def _notation(digits: str, rng: random.Random) -> str:
    d = digits
    return rng.choice([
        f"+++{d[:3]}/{d[3:7]}/{d[7:]}+++", f"***{d[:3]}/{d[3:7]}/{d[7:]}***", f"{d[:3]}/{d[3:7]}/{d[7:]}",
        d, f"{d[:3]} {d[3:7]} {d[7:]}", f"+++ {d[:3]}/{d[3:7]}/{d[7:]} +++",
    ])  # fmt: skip


def _number_list(numbers: list[str], rng: random.Random) -> tuple[str, bool]:
    """Several invoice numbers the way payers type them; and whether they are written in full (a bare
    last group, "fact. 12 + 13", only ever makes a suggestion)."""
    short = [n.split("/")[-1].lstrip("0") for n in numbers]
    text = rng.choice([
        "Facturen " + " en ".join(numbers), "factures " + ", ".join(numbers[:-1]) + " et " + numbers[-1],
        "INV " + " + ".join(numbers), " / ".join(numbers), "fact " + ", ".join(numbers) + " dank u",
        "Betaling facturen " + " & ".join(numbers), "fact. " + " + ".join(short),
    ])  # fmt: skip
    return text, not text.startswith("fact. ")


def generate(seed: int = 1, invoices: int = 5000, payments: int = 1000) -> Scenario:
    rng = random.Random(seed)
    start = date(2026, 3, 1)
    customers = []
    for c in range(max(invoices // 4, 10)):
        name = f"{rng.choice(WORDS)} {rng.choice(CITIES)} {c} {rng.choice(LEGAL)}".strip()
        customers.append({"key": f"cust{c}", "name": name, "iban": _iban(rng), "known_iban": rng.random() < 0.7})
    open_invoices: list[OpenInvoice] = []
    used_bases: set[int] = set()
    for n in range(invoices):
        customer = rng.choice(customers)
        base = rng.randint(1, 9_999_999_999)
        while base in used_bases:
            base = rng.randint(1, 9_999_999_999)
        used_bases.add(base)
        digits = f"{base:010d}" + ogm_check_digits(f"{base:010d}")
        issue = start + timedelta(days=rng.randint(0, 200))
        total = Decimal(rng.randint(2_000, 900_000)) / 100
        kind = "credit_note" if rng.random() < 0.03 else "invoice"
        open_invoices.append(
            OpenInvoice(
                id=f"inv{n}", number=f"2026/{n + 1:05d}", kind=kind, due=total, issue_date=issue,
                due_date=issue + timedelta(days=30), reference=format_ogm(digits), customer_key=customer["key"],
                customer_name=customer["name"], customer_iban=customer["iban"] if customer["known_iban"] else None,
            )
        )  # fmt: skip
    customers_by_key = {c["key"]: c for c in customers}
    available = [i for i in open_invoices if i.kind == "invoice"]
    rng.shuffle(available)
    by_customer: dict[str, list[OpenInvoice]] = defaultdict(list)
    for i in open_invoices:
        by_customer[i.customer_key].append(i)
    credit_notes = [i for i in open_invoices if i.kind == "credit_note"]
    used: set[str] = set()
    out_payments: list[Payment] = []
    truth: dict[str, Truth] = {}
    cases, weights = zip(*CASES.items(), strict=True)

    # The first unused invoice, in the shuffled order (overall, or of one customer). Positions only move past
    # used ones, so an invoice given back (used.discard) is found again: linear, not quadratic, in size.
    available_of: dict[str | None, list[OpenInvoice]] = defaultdict(list)
    for inv in available:
        available_of[None].append(inv)
        available_of[inv.customer_key].append(inv)
    position: dict[str | None, int] = defaultdict(int)

    def take(customer: str | None = None) -> OpenInvoice | None:
        pool = available_of[customer]
        while position[customer] < len(pool) and pool[position[customer]].id in used:
            position[customer] += 1
        if position[customer] == len(pool):
            return None
        inv = pool[position[customer]]
        used.add(inv.id)
        return inv

    def same_customer(inv: OpenInvoice, count: int) -> list[OpenInvoice]:
        others = [take(inv.customer_key) for _ in range(count)]
        return [inv, *(o for o in others if o is not None)]

    for n in range(payments):
        case = rng.choices(cases, weights)[0]
        pid = f"pay{n}"
        inv = take()
        if inv is None:
            break
        customer = customers_by_key[inv.customer_key]
        payer_iban = customer["iban"]
        payer_name = _bank_name(customer["name"], rng)
        day = inv.issue_date + timedelta(days=rng.randint(1, 45))
        digits = inv.reference.strip("+").replace("/", "")
        amount, comm, structured, ids, auto = inv.due, "", None, {inv.id}, True
        statuses = {inv.id: "paid"}
        if case.startswith("several_"):
            group = same_customer(inv, rng.randint(1, 2))
            group.sort(key=lambda g: (g.due_date, g.id))
            if len(group) == 1:  # the customer has nothing else open: an ordinary payment
                case = "structured"
        if case == "structured":
            structured = digits
        elif case == "free_text_reference":
            comm = (
                rng.choice(["Betaling ", "Paiement ", "", "Ref "])
                + _notation(digits, rng)
                + rng.choice(["", " dank u", " merci"])
            )
        elif case == "reference_typo":
            structured = _ogm_typo(digits, rng)
        elif case == "invoice_number":
            comm = rng.choice([f"Factuur {inv.number}", f"Facture {inv.number}", f"invoice {inv.number} thanks"])
        elif case == "partial":
            amount = (inv.due * Decimal(rng.choice(["0.3", "0.5", "0.6"]))).quantize(Decimal("0.01"))
            structured = digits
            statuses = {inv.id: "partially_paid"}
        elif case.startswith("several_"):
            amount = sum((g.due for g in group), Decimal(0))
            if case == "several_by_number":
                comm, auto = _number_list([g.number for g in group], rng)
            else:
                comm = rng.choice([" ", " + ", ", ", " en "]).join(
                    _notation(g.reference.strip("+").replace("/", ""), rng) for g in group
                )
            ids = {g.id for g in group}
            statuses = {g.id: "paid" for g in group}
            if case == "several_not_adding_up":
                # Short by more than any tolerance: a person decides which invoice is left open.
                amount -= min(Decimal(rng.randint(500, 5000)) / 100, group[-1].due - Decimal("0.01"))
                auto = False
                statuses[group[-1].id] = "partially_paid"
        elif case in ("payer_subset", "customer_total"):
            if case == "payer_subset":
                group = same_customer(inv, rng.randint(1, 2))
            else:  # everything the customer still has open
                group = [inv] + [i for i in by_customer[inv.customer_key] if i.id not in used and i.kind == "invoice"]
                used.update(i.id for i in group)
            amount = sum((g.due for g in group), Decimal(0))
            ids = {g.id for g in group}
            statuses = {g.id: "paid" for g in group}
            comm = rng.choice(["", "betaling", "paiement factures", "openstaand saldo"])
            auto = customer["known_iban"] and len(group) > 1
            if len(group) == 1:
                case = "payer_amount"
        elif case == "tolerance":
            short = Decimal(rng.choice(["0.50", "1.00", "1.50", "2.00"]))
            if TOLERANCE.allows(short, inv.due):
                amount = inv.due - short
            structured = digits
        elif case == "overpaid":
            amount = inv.due + Decimal(rng.randint(1, 5000)) / 100  # the excess stays on the payment
            structured = digits
        elif case == "third_party":
            structured = digits
            payer_iban, payer_name = _iban(rng), "SOCIAAL SECRETARIAAT DERDE"
        elif case == "credit_note_netting":
            note = next((c for c in credit_notes if c.id not in used and c.due < inv.due), None)
            if note is None:
                structured = digits
            else:
                used.add(note.id)
                amount = inv.due - note.due
                comm = _notation(digits, rng) + " - " + _notation(note.reference.strip("+").replace("/", ""), rng)
                ids = {inv.id, note.id}
                statuses = {inv.id: "paid", note.id: "paid"}
        elif case == "amount_only":
            comm, payer_iban, payer_name, auto = "betaling", _iban(rng), "ONBEKENDE BETALER", False
        elif case == "payer_amount":
            comm, auto = "", False
        elif case == "unrelated":
            used.discard(inv.id)
            amount = Decimal(rng.randint(100, 90_000)) / 100 + Decimal("0.07")
            comm, payer_iban, payer_name, ids, auto = (
                "Terugbetaling verzekering",
                _iban(rng),
                "AG INSURANCE",
                set(),
                False,
            )
            statuses = {}
        elif case == "refund":
            used.discard(inv.id)
            note = next((c for c in credit_notes if c.id not in used), None)
            if note is None:
                continue
            used.add(note.id)
            amount, structured, ids = -note.due, note.reference.strip("+").replace("/", ""), {note.id}
            payer_iban, payer_name = customers_by_key[note.customer_key]["iban"], ""
            statuses = {note.id: "paid"}
        elif case == "same_amount_ambiguous":
            twin = OpenInvoice(
                id=f"twin{n}", number=f"2026/T{n:05d}", kind="invoice", due=inv.due, issue_date=inv.issue_date,
                due_date=inv.due_date, reference=format_ogm(f"{9_000_000_000 + n:010d}" + ogm_check_digits(f"{9_000_000_000 + n:010d}")),
                customer_key=f"twin{n}", customer_name=f"Andere Klant {n}",
            )  # fmt: skip
            open_invoices.append(twin)
            comm, payer_iban, payer_name, auto = "", _iban(rng), "IEMAND ANDERS", False
        if case == "structured" and rng.random() < 0.3:
            payer_iban = customer["iban"]
        if structured is not None and not is_valid(structured) and case != "reference_typo":
            structured = None
        out_payments.append(
            Payment(
                id=pid, amount=amount, booking_date=day, communication=comm,
                structured_reference=format_ogm(structured) if structured and is_valid(structured) else None,
                structured_content=structured, counterparty_name=payer_name, counterparty_iban=payer_iban,
            )
        )  # fmt: skip
        truth[pid] = Truth(pid, case, frozenset(ids), auto, statuses)
    return Scenario(open_invoices, out_payments, truth)


def is_valid(digits: str) -> bool:
    from app.identifiers.references import is_valid_ogm_digits

    return len(digits) == 12 and digits.isdigit() and is_valid_ogm_digits(digits)


# -- measuring ---------------------------------------------------------------------------------------------


@dataclass
class KindFigures:
    payments: int = 0
    automatic: int = 0  # payments with automatic allocations
    automatic_right: int = 0  # ... to exactly the right invoices
    with_truth: int = 0  # payments that are for some invoice
    found_automatically: int = 0
    found_or_top: int = 0  # settled automatically, or (what is left) proposed first
    meant_automatic: int = 0  # payments a rule should settle without a person (the truth's auto_expected)
    meant_automatic_found: int = 0
    invoices: int = 0
    status_right: int = 0  # invoice status right after automatic matching
    status_right_confirmed: int = 0  # ... after a person accepts each first suggestion

    @property
    def precision(self) -> float | None:
        return self.automatic_right / self.automatic if self.automatic else None

    @property
    def recall(self) -> float | None:
        return self.found_automatically / self.with_truth if self.with_truth else None

    @property
    def automatic_recall(self) -> float | None:
        """Of the payments a rule should settle, the share settled rightly without a person."""
        return self.meant_automatic_found / self.meant_automatic if self.meant_automatic else None

    @property
    def found(self) -> float | None:
        return self.found_or_top / self.with_truth if self.with_truth else None

    @property
    def status_accuracy(self) -> float | None:
        return self.status_right / self.invoices if self.invoices else None

    @property
    def confirmed_status_accuracy(self) -> float | None:
        return self.status_right_confirmed / self.invoices if self.invoices else None


@dataclass
class Evaluation:
    kinds: dict[str, KindFigures]
    total: KindFigures
    wrong: list[tuple[str, str]]  # (case, payment id) of wrong automatic matches
    misses: Counter[str]

    def table(self) -> str:
        def pct(v: float | None) -> str:
            return "   —  " if v is None else f"{v:6.1%}"

        lines = [
            f"{'kind':24} {'pay':>5} {'precision':>9} {'recall':>7} {'rule':>7} {'found':>7} {'status':>7} "
            f"{'confirmed':>9}"
        ]
        for name, k in [*sorted(self.kinds.items()), ("all", self.total)]:
            lines.append(
                f"{name:24} {k.payments:5d} {pct(k.precision):>9} {pct(k.recall):>7} {pct(k.automatic_recall):>7} "
                f"{pct(k.found):>7} "
                f"{pct(k.status_accuracy):>7} {pct(k.confirmed_status_accuracy):>9}"
            )
        return "\n".join(lines)


def evaluate(scenario: Scenario, outcomes: list[Outcome]) -> Evaluation:
    """Precision, recall and invoice status accuracy per kind of case.

    Precision: automatic matches to exactly the right invoices. Recall: payments settled automatically and
    rightly ("rule": among those a rule should settle without a person). Found: settled, or what is left proposed first. Status: each invoice the payment is for shows
    the status the truth says, once the automatic matches are applied (and, "confirmed", once a person
    accepts each payment's first suggestion); invoices no payment is for must stay open.
    """
    totals = {i.id: i.due for i in scenario.invoices}
    auto_money: dict[str, Decimal] = defaultdict(Decimal)
    confirmed_money: dict[str, Decimal] = defaultdict(Decimal)
    kinds: dict[str, KindFigures] = defaultdict(KindFigures)
    total = KindFigures()
    wrong: list[tuple[str, str]] = []
    misses: Counter[str] = Counter()
    for outcome in outcomes:
        t = scenario.truth[outcome.payment_id]
        figures = [kinds[t.case], total]
        allocated = frozenset(a.invoice_id for a in outcome.allocations)
        top = outcome.suggestions[0] if outcome.suggestions else None
        proposed = frozenset(p.invoice_id for p in top.allocations) if top else frozenset()
        for a in outcome.allocations:
            auto_money[a.invoice_id] += a.amount + a.write_off
            confirmed_money[a.invoice_id] += a.amount + a.write_off
        if top is not None:
            for part in top.allocations:
                confirmed_money[part.invoice_id] += part.amount + part.write_off
        for f in figures:
            f.payments += 1
            if allocated:
                f.automatic += 1
                f.automatic_right += allocated == t.invoice_ids
            if t.invoice_ids:
                f.with_truth += 1
                f.found_automatically += allocated == t.invoice_ids
                f.found_or_top += allocated == t.invoice_ids or (allocated | proposed) == t.invoice_ids
                if t.auto_expected:
                    f.meant_automatic += 1
                    f.meant_automatic_found += allocated == t.invoice_ids
        if allocated and allocated != t.invoice_ids:
            wrong.append((t.case, outcome.payment_id))
        if t.invoice_ids and allocated != t.invoice_ids and (allocated | proposed) != t.invoice_ids:
            misses[t.case] += 1
    expected: dict[str, tuple[str, str]] = {}  # invoice -> (status, case)
    for t in scenario.truth.values():
        for invoice_id, status in t.statuses.items():
            expected[invoice_id] = (status, t.case)
    for invoice_id, invoice_total in totals.items():
        status, case = expected.get(invoice_id, ("open", None))
        for f in [kinds[case], total] if case else [total]:
            f.invoices += 1
            f.status_right += invoice_status(invoice_total, auto_money[invoice_id], Decimal(0), False) == status
            f.status_right_confirmed += (
                invoice_status(invoice_total, confirmed_money[invoice_id], Decimal(0), False) == status
            )
    return Evaluation(dict(kinds), total, wrong, misses)
