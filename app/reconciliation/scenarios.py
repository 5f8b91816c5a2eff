"""A deterministic, seeded generator of matching scenarios with ground truth: customers, open invoices and
incoming payments covering the cases the matcher must handle and the mistakes payers make. It also writes
the payments as a CODA file, for end-to-end tests and benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from app.reconciliation.matching import OpenInvoice, Payment
from app.references import format_ogm, ogm_check_digits

LEGAL = ["BV", "NV", "SRL", "BVBA", "SA", "SPRL", ""]
WORDS = ["Bakkerij", "Garage", "Dakwerken", "Immo", "Transport", "Consult", "Brasserie", "Atelier", "Studio",
         "Tuinen", "Schrijnwerk", "Elektro", "Sanitair", "Apotheek", "Drukkerij", "Logistics", "Verhuur"]  # fmt: skip
CITIES = ["Gent", "Brugge", "Leuven", "Namur", "Liège", "Hasselt", "Mechelen", "Aalst", "Kortrijk", "Mons"]

#: case -> weight (share of payments); see docs/matching.md
CASES = {
    "structured": 50,
    "free_text_reference": 8,
    "reference_typo": 4,
    "invoice_number": 6,
    "partial": 5,
    "several_by_reference": 4,
    "bank_fee": 3,
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


@dataclass
class Scenario:
    invoices: list[OpenInvoice]
    payments: list[Payment]
    truth: dict[str, Truth]
    account_iban: str = "BE80001000000177"
    start: date = date(2026, 3, 1)
    notes: list[str] = field(default_factory=list)

    def to_coda(self, per_statement: int = 1000) -> bytes:
        from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

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
                sequence=n // per_statement + 1,
            )
            balance = st.closing_balance
            statements.append(st)
        return write_coda(statements)


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
    credit_notes = [i for i in open_invoices if i.kind == "credit_note"]
    used: set[str] = set()
    out_payments: list[Payment] = []
    truth: dict[str, Truth] = {}
    cases, weights = zip(*CASES.items(), strict=True)

    def take(predicate=lambda i: True) -> OpenInvoice | None:
        for inv in available:
            if inv.id not in used and predicate(inv):
                used.add(inv.id)
                return inv
        return None

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
        elif case == "several_by_reference":
            others = [take(lambda i, k=inv.customer_key: i.customer_key == k) for _ in range(rng.randint(1, 2))]
            others = [o for o in others if o is not None]
            group = [inv, *others]
            amount = sum((g.due for g in group), Decimal(0))
            comm = " ".join(_notation(g.reference.strip("+").replace("/", ""), rng) for g in group)
            ids = {g.id for g in group}
        elif case == "bank_fee":
            amount = inv.due - Decimal(rng.choice(["0.50", "1.00", "1.50", "2.00"]))
            if amount <= 0 or inv.due - amount > inv.due * Decimal("0.02"):
                amount = inv.due
            structured = digits
        elif case == "overpaid":
            amount = inv.due + Decimal(rng.randint(1, 5000)) / 100
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
        elif case == "refund":
            used.discard(inv.id)
            note = next((c for c in credit_notes if c.id not in used), None)
            if note is None:
                continue
            used.add(note.id)
            amount, structured, ids = -note.due, note.reference.strip("+").replace("/", ""), {note.id}
            payer_iban, payer_name = customers_by_key[note.customer_key]["iban"], ""
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
        truth[pid] = Truth(pid, case, frozenset(ids), auto)
    return Scenario(open_invoices, out_payments, truth)


def is_valid(digits: str) -> bool:
    from app.references import is_valid_ogm_digits

    return len(digits) == 12 and digits.isdigit() and is_valid_ogm_digits(digits)
