"""Mixed-payment benchmark (issue 39's second mix): a quarter of the payments carry no usable reference.

Ledgers of 10,000 and 100,000 open invoices, one customer per six invoices (Belgian company names, many sharing
words such as "Bakkerij", "Garage", "Services" or "Janssens", so that finding a payer by name has work to do),
registered through the API's batch endpoint. The CODA file has 0.24 movements per open invoice (24,000 in 24
statements of 1,000 at 100,000 invoices; 2,400 at 10,000, so both compare per movement in the same proportions):

- 75 %: a structured OGM, an OGM typed in the free text, an invoice number, or an OGM with one typo;
- 25 %: a customer's name (as a bank writes it) and the amount of one or two of their open invoices, paid from
  an account the ledger does not know; same-amount traps (a stranger paying exactly what some open invoice is
  due); unknown OGMs (valid mod 97, naming no invoice); money out; bank noise (fees, interest, card payouts).

For each ledger it prints the upload's wall time on a real server process (parse, store, match, events), pycoda's
bare parse of the same bytes (median of three) and their ratio, the cost per movement, the server's peak memory,
and the matching outcome counts, overall and per kind (so that a change in results shows).

Run (SQLite; a fresh database file per ledger; about a minute on two cores):
    .venv/bin/python bench/bench_mixed.py
    BENCH_MIXED_INVOICES=2000,20000 .venv/bin/python bench/bench_mixed.py   # a quick run (about 15 s)
PostgreSQL (each ledger its own company on one fresh database):
    scripts/with-postgres sh -c 'CODARECON_BENCH_DATABASE_URL=$CODARECON_TEST_DATABASE_URL exec "$0" "$1"' \
        .venv/bin/python bench/bench_mixed.py
Profile (BENCH_PROFILE=1): the same upload at the largest ledger, once more in this process under cProfile
(a second company with the same ledger), printing the top entries by own time and our own functions by
cumulative time. It adds a second registration of the ledger and a profiled upload (about 50 s at 100,000).
BENCH_PROFILE_OUT=path also writes the raw profile (pstats) there.

Outcomes do not depend on PYTHONHASHSEED (the set order a name's candidates once depended on): the servers run
with whatever seed they get, as in production, and the counts printed are the same from run to run.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_api import ADMIN, free_port, start_server
from bench_ingest import peak_rss_mb

from app.identifiers.references import format_ogm, ogm_check_digits
from app.reconciliation.matching import one_typo_variants
from app.reconciliation.names import LEGAL_FORMS, normalize_name
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.scenarios import TOLERANCE, _iban, _notation, _ogm_typo

SIZES = [int(n) for n in os.environ.get("BENCH_MIXED_INVOICES", "10000,100000").split(",")]
MOVEMENTS_PER_INVOICE = Decimal("0.24")  # 24,000 movements at 100,000 open invoices
PER_STATEMENT = 1000
INVOICES_PER_CUSTOMER = 6
PROFILE = os.environ.get("BENCH_PROFILE") == "1"

#: kind -> percent of the movements. The first four carry a usable reference; the rest (25 %) do not.
KINDS = {
    "ogm": 57,
    "ogm_in_text": 8,
    "invoice_number": 8,
    "ogm_typo": 2,
    "payer_amount": 9,
    "stranger_same_amount": 4,
    "unknown_ogm": 3,
    "money_out": 5,
    "bank_noise": 4,
}
REFERENCED = ("ogm", "ogm_in_text", "invoice_number", "ogm_typo")

# -- names -------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words("""Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters De_Smet Dubois Lambert Dupont Martin
Hermans Aerts Michiels Vermeulen Van_Damme De_Clercq Pauwels Leclercq Lemaire Simon Laurent Renard Wauters Desmet
Stevens Smets Verhoeven Van_den_Bossche De_Backer Coppens Vandenberghe Segers Lemmens Cools Thys Verstraeten
Hendrickx De_Vos Bogaerts Van_de_Velde Martens Verbruggen Claeys Mahieu Collard Gérard François Denis Legrand Leroy
Noël Fontaine Lejeune Mathieu Dumont Michel Hubert Van_Acker De_Wilde Verhaegen Baert De_Meyer Van_Hecke Verschueren
Geerts Van_Dyck Vermeersch Bosmans Verlinden Huysmans Sterckx Dewaele Deprez Desmedt Lauwers Van_Looy Vanhove
Timmermans Heylen Van_Hoof Schepers Dierckx Moens Pieters Vanderstraeten D'Hondt Vanhoutte Carlier Lefebvre
Delvaux Dethier Massart""")
FIRST_NAMES = _words("""Jan Piet Luc Marc Koen Tom Bart Sofie An Els Lies Marie Pierre Jean Philippe Nathalie Isabelle Kris
Dirk Wim Geert Hilde Sarah Thomas Nicolas Julie Emma Lucas Louis Ann""")
ACTIVITIES = _words("""Bakkerij Slagerij Beenhouwerij Garage Carrosserie Dakwerken Schrijnwerkerij Elektriciteitswerken
Sanitair Loodgieterswerken Tuinaanleg Transport Drukkerij Apotheek Brasserie Frituur Kapsalon Bouwonderneming
Schilderwerken Immo Verzekeringskantoor Boekhoudkantoor Architectenbureau Meubelmakerij Bloemen Optiek Fietsen
Bandencentrale Vloerwerken Keukens Verwarming Installatietechniek Grondwerken Traiteur Wijnhandel
Dierenartsenpraktijk Boulangerie Boucherie Menuiserie Toitures Électricité Chauffage Plomberie Transports
Imprimerie Pharmacie Friterie Construction Peinture Fiduciaire Immobilière""")
COMPANY_WORDS = _words("""Services Consult Group Invest Bouw Solutions Partners Logistics Trading Projects Engineering
Management Technics Interieur Design Motors Automotive Food Construct Renovatie Distribution""")
PLACES = _words("""Gent Brugge Antwerpen Leuven Mechelen Hasselt Kortrijk Aalst Namur Liège Mons Charleroi Wavre Genk
Roeselare Oostende Sint-Niklaas Turnhout Lier Tienen Dendermonde Ieper Waregem Geel Herentals Lokeren Wetteren
Deinze Tournai Arlon Nivelles Huy Verviers""")
SIGNS = ["De Kroon", "Het Anker", "De Zwaan", "Sint-Pieter", "Den Hoek", "De Linde", "Le Coq", "Du Centre",
         "De Molen", "Het Zonneke", "La Couronne", "De Sleutel"]  # fmt: skip
#: Registered legal forms, with weights ("" for a sole trader's own name).
LEGAL = {"BV": 40, "NV": 14, "SRL": 14, "SA": 5, "VOF": 3, "CommV": 2, "BVBA": 6, "SPRL": 3, "": 13}
SUPPLIERS = ["ELECTRABEL NV", "PROXIMUS NV", "TELENET BV", "LUMINUS NV", "MAKRO CASH AND CARRY BELGIUM",
             "BRUSSELS AIRLINES", "SD WORX", "PARTENA", "VANDEMOORTELE NV", "BOUWMAKER BV", "BOLT ENERGIE",
             "ETHIAS SA", "AG INSURANCE", "RENTA LEASE NV", "TOTALENERGIES MARKETING BELGIUM"]  # fmt: skip


#: The long tail of family names (Flemish and Walloon shapes): a name with one of these has a rare word.
RARE_SURNAMES = sorted(
    {
        prefix + (root.capitalize() if not prefix or prefix.endswith(" ") else root)
        for prefix in ("Van ", "Van de ", "Van den ", "Van der ", "Vande", "Vander", "De ", "Ver", "")
        for root in _words("""walle velde berghe kerckhove poel meersch linden broeck putte steen moortel hoecke
            eeckhout wiele maele haute cauter heuvel dijck hove wouwer straete plancke goethem leene vreken baets
            coninck keyser schrijver bruyne cock graeve vriendt pauw wulf waele meulemeester rycke muynck paepe
            roo geest""")
    }
    | {
        prefix + (root.capitalize() if not prefix or prefix.endswith(" ") else root) + suffix
        for prefix in ("Du", "Le", "De la ", "")
        for root in _words("mont bois champ fosse pre chene moulin pont val rieu marais roche haye jardin")
        for suffix in ("", "s")
        if not (suffix and root.endswith("s"))
    }
)


def _surname(rng: random.Random) -> str:
    """Half of them among the hundred commonest family names, half from the long tail."""
    if rng.random() < 0.5:
        return rng.choice(SURNAMES).replace("_", " ")
    return rng.choice(RARE_SURNAMES)


def company_name(rng: random.Random) -> str:
    """A Belgian company name as a customer is registered: an activity, a family name, a place, a form."""
    act, sur, other = rng.choice(ACTIVITIES), _surname(rng), _surname(rng)
    pattern = rng.choices(range(10), [30, 15, 5, 8, 5, 8, 8, 6, 4, 6])[0]
    if pattern == 0:
        name = f"{act} {sur}"
    elif pattern == 1:
        name = f"{sur} {rng.choice(COMPANY_WORDS)}"
    elif pattern == 2:
        name = f"{act} {sur} & {rng.choice(['Zonen', 'Zoon', 'Fils', 'Co'])}"
    elif pattern == 3:
        name = f"{sur} & {other}"
    elif pattern == 4:
        name = f"{act} {rng.choice(SIGNS)}"
    elif pattern == 5:
        return f"{rng.choice(FIRST_NAMES)} {sur}"  # a sole trader: no legal form
    elif pattern == 6:
        name = f"{act} {sur}-{other}"
    elif pattern == 7:
        name = f"{act} {rng.choice(PLACES)}"
    elif pattern == 8:
        name = f"{rng.choice(['Gebroeders', 'Ets', 'Établissements'])} {sur}"
    else:
        name = f"{act} en {rng.choice(ACTIVITIES).lower()} {sur}"  # long: banks cut these at 35
    legal = rng.choices(list(LEGAL), list(LEGAL.values()))[0]
    if not legal:
        return name
    return f"{legal} {name}" if rng.random() < 0.1 else f"{name} {legal}"


def bank_name(name: str, rng: random.Random) -> str:
    """How a bank shows the payer: upper case (often without accents), the legal form moved to the front or
    dropped, cut at 35 characters."""
    words = name.split()
    legal = [w for w in words if w.upper() in LEGAL_FORMS]
    rest = [w for w in words if w.upper() not in LEGAL_FORMS]
    style = rng.random()
    if style < 0.3 and legal:
        shown = " ".join(legal + rest)
    elif style < 0.6:
        shown = " ".join(rest)
    else:
        shown = name
    if rng.random() < 0.5:
        shown = unicodedata.normalize("NFKD", shown).encode("ascii", "ignore").decode()
    return shown.upper()[:35]


def stranger_name(rng: random.Random, customer_names: set[str]) -> str:
    """Someone not among the customers: a private person (family name first, as banks show them) or a company."""
    while True:
        if rng.random() < 0.6:
            first, sur = rng.choice(FIRST_NAMES), _surname(rng)
            name = rng.choice([f"{sur} {first}", f"{first} {sur}", f"{sur}-{_surname(rng)} {first}"])
        else:
            name = company_name(rng)
        if normalize_name(name) not in customer_names:
            return bank_name(name, rng)


def _vat(rng: random.Random) -> str:
    base = f"0{rng.randint(2_000_000, 9_999_999)}"
    return f"BE{base}{97 - int(base) % 97:02d}"


# -- the mix -----------------------------------------------------------------------------------------------


@dataclass
class Invoice:
    external_id: str
    number: str
    kind: str
    total: Decimal
    issue_date: date
    digits: str  # the OGM's 12 digits
    customer: dict

    def body(self) -> dict:
        c = self.customer
        customer = {"name": c["name"], **({"vat": c["vat"]} if c["vat"] else {})}
        if c["known_iban"]:
            customer["iban"] = c["iban"]
        return {
            "external_id": self.external_id,
            "number": self.number,
            "kind": self.kind,
            "issue_date": self.issue_date.isoformat(),
            "due_date": (self.issue_date + timedelta(days=30)).isoformat(),
            "total_amount": str(self.total),
            "customer": customer,
            "structured_reference": format_ogm(self.digits),
        }


@dataclass
class Mix:
    invoices: list[Invoice]
    customers: int
    movements: list[MovementSpec]  # bank_reference: "MIX" + the movement's number
    truth: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # bank ref -> (kind, invoices)

    def statements(self, account: str) -> list[StatementSpec]:
        out, balance, day = [], Decimal(0), date(2026, 11, 2)
        for n in range(0, len(self.movements), PER_STATEMENT):
            st = StatementSpec(
                account, day, balance, self.movements[n : n + PER_STATEMENT], sequence=n // PER_STATEMENT + 1
            )
            balance = st.closing_balance
            day += timedelta(days=1)
            out.append(st)
        return out

    def coda(self, account: str) -> bytes:
        return write_coda(self.statements(account))


def kind_counts(total: int) -> dict[str, int]:
    counts = {kind: total * weight // 100 for kind, weight in KINDS.items()}
    counts["ogm"] += total - sum(counts.values())
    return counts


def generate(size: int, seed: int = 39) -> Mix:
    rng = random.Random(seed)
    customers, seen = [], set()
    while len(customers) < max(size // INVOICES_PER_CUSTOMER, 10):
        name = company_name(rng)
        key = normalize_name(name)
        if key in seen:
            continue
        seen.add(key)
        customers.append({
            "name": name,
            "vat": _vat(rng) if rng.random() < 0.5 else None,
            "iban": _iban(rng),
            "other_iban": _iban(rng),  # an account the ledger never heard of (the name-and-amount payments)
            "known_iban": rng.random() < 0.5,
        })  # fmt: skip
    # Some customers buy much more often than others.
    weights = [rng.choice((1, 1, 1, 2, 3, 8)) for _ in customers]
    owners = rng.choices(customers, weights, k=size)
    price_list = [(Decimal(rng.randint(10, 400) * 5) * Decimal("1.21")).quantize(Decimal("0.01")) for _ in range(150)]
    bases: set[int] = set()
    invoices = []
    for n, owner in enumerate(owners):
        base = rng.randint(1, 9_999_999_999)
        while base in bases:
            base = rng.randint(1, 9_999_999_999)
        bases.add(base)
        total = rng.choice(price_list) if rng.random() < 0.15 else Decimal(rng.randint(2_000, 900_000)) / 100
        invoices.append(
            Invoice(
                external_id=f"mix{n}", number=f"2026/{n + 1:06d}",
                kind="credit_note" if rng.random() < 0.02 else "invoice", total=total,
                issue_date=date(2026, 6, 1) + timedelta(days=rng.randint(0, 150)),
                digits=f"{base:010d}" + ogm_check_digits(f"{base:010d}"), customer=owner,
            )
        )  # fmt: skip
    digits_in_use = {inv.digits for inv in invoices}
    customer_names = {normalize_name(c["name"]) for c in customers}

    # Each payment pays invoices no other payment pays: the first unused one in a shuffled order.
    payable = [inv for inv in invoices if inv.kind == "invoice"]
    rng.shuffle(payable)
    by_customer: dict[int, list[Invoice]] = defaultdict(list)
    for inv in payable:
        by_customer[id(inv.customer)].append(inv)
    used: set[str] = set()
    position: dict[str, int] = defaultdict(int)

    def take(pool_name: str, pool: list[Invoice]) -> Invoice:
        while pool[position[pool_name]].external_id in used:
            position[pool_name] += 1
        inv = pool[position[pool_name]]
        used.add(inv.external_id)
        return inv

    unknown_account = [inv for inv in payable if not inv.customer["known_iban"]]

    def unknown_ogm() -> str:
        while True:
            base = f"{rng.randint(1, 9_999_999_999):010d}"
            digits = base + ogm_check_digits(base)
            if digits not in digits_in_use and not digits_in_use.intersection(one_typo_variants(digits)):
                return digits

    movements: list[MovementSpec] = []
    truth: dict[str, tuple[str, frozenset[str]]] = {}
    counts = kind_counts(int(size * MOVEMENTS_PER_INVOICE))
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    rng.shuffle(kinds)
    for n, kind in enumerate(kinds):
        ref = f"MIX{n:07d}"
        ids: list[str] = []
        if kind in REFERENCED or kind == "stranger_same_amount":
            inv = take("all", payable)
            c = inv.customer
            ids = [inv.external_id]
            spec = MovementSpec(inv.total, counterparty_name=bank_name(c["name"], rng), counterparty_iban=c["iban"])
            if kind == "ogm":
                spec.ogm = inv.digits
            elif kind == "ogm_in_text":
                spec.communication = (
                    rng.choice(["Betaling ", "Paiement ", "", "Ref "])
                    + _notation(inv.digits, rng)
                    + rng.choice(["", " dank u", " merci"])
                )
            elif kind == "invoice_number":
                spec.communication = rng.choice(
                    [f"Factuur {inv.number}", f"Facture {inv.number}", f"invoice {inv.number} thanks"]
                )
            elif kind == "ogm_typo":
                spec.ogm = _ogm_typo(inv.digits, rng)
            else:  # a stranger pays exactly what this invoice is due (which nobody else pays in this file)
                ids = []
                spec.counterparty_name = stranger_name(rng, customer_names)
                spec.counterparty_iban = _iban(rng)
                spec.communication = rng.choice(["", "terugbetaling", "huur november", "lidgeld 2027", "voorschot"])
        elif kind == "payer_amount":
            inv = take("unknown_account", unknown_account)
            c = inv.customer
            group = [inv]
            if rng.random() < 0.2:  # two of the customer's invoices in one payment
                more = next((i for i in by_customer[id(c)] if i.external_id not in used), None)
                if more is not None:
                    used.add(more.external_id)
                    group.append(more)
            ids = [i.external_id for i in group]
            spec = MovementSpec(
                sum((i.total for i in group), Decimal(0)),
                communication=rng.choice(["", "betaling", "factuur", "paiement facture", "BETALING FACTUUR", "saldo"]),
                counterparty_name=bank_name(c["name"], rng),
                counterparty_iban=c["other_iban"],
            )
        elif kind == "unknown_ogm":
            amount = Decimal(rng.randint(2_000, 900_000)) / 100
            if rng.random() < 0.5:
                c = rng.choice(customers)
                spec = MovementSpec(amount, ogm=unknown_ogm(), counterparty_name=bank_name(c["name"], rng),
                                    counterparty_iban=c["iban"])  # fmt: skip
            else:
                spec = MovementSpec(amount, ogm=unknown_ogm(), counterparty_name=stranger_name(rng, customer_names),
                                    counterparty_iban=_iban(rng))  # fmt: skip
        elif kind == "money_out":
            amount = -Decimal(rng.randint(1_000, 500_000)) / 100
            style = rng.random()
            if style < 0.4:
                spec = MovementSpec(amount, communication=f"Factuur {rng.randint(24, 26)}/{rng.randint(1, 99999):05d}",
                                    counterparty_name=rng.choice(SUPPLIERS), counterparty_iban=_iban(rng))  # fmt: skip
            elif style < 0.6:  # the tax office's or a social fund's own OGM
                spec = MovementSpec(amount, ogm=unknown_ogm(), counterparty_name=rng.choice(["FOD FINANCIEN",
                                    "RSZ-ONSS", "SPF FINANCES"]), counterparty_iban=_iban(rng))  # fmt: skip
            else:
                person = f"{_surname(rng).upper()} {rng.choice(FIRST_NAMES).upper()}"
                spec = MovementSpec(amount, communication=f"Loon 11/2026 {person}", counterparty_name=person,
                                    counterparty_iban=_iban(rng))  # fmt: skip
        else:  # bank_noise
            style = rng.random()
            if style < 0.4:
                spec = MovementSpec(-Decimal(rng.randint(50, 2_500)) / 100,
                                    communication=rng.choice(["Beheerskosten rekening", "Kosten overschrijving",
                                                              "Frais de gestion", "Kosten kaart"]))  # fmt: skip
            elif style < 0.55:
                spec = MovementSpec(Decimal(rng.randint(1, 900)) / 100, communication="Creditinterest")
            else:
                spec = MovementSpec(Decimal(rng.randint(1_000, 800_000)) / 100,
                                    communication=f"BCMC {rng.randint(1, 28):02d}/11 {rng.randint(3, 200)} TRX",
                                    counterparty_name=rng.choice(["WORLDLINE SA/NV", "PAYCONIQ BY BANCONTACT",
                                                                  "CCV BELGIUM"]),
                                    counterparty_iban=_iban(rng))  # fmt: skip
        spec.bank_reference = ref
        movements.append(spec)
        truth[ref] = (kind, frozenset(ids))
    return Mix(invoices, len(customers), movements, truth)


# -- measuring ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    size: int
    customers: int
    movements: int
    statements: int
    megabytes: float
    register_seconds: float
    pycoda_seconds: float
    upload_seconds: float
    matching: dict
    peak_mb: float
    before_mb: float
    per_kind: dict[str, Counter[str]]

    @property
    def per_movement_us(self) -> float:
        return self.upload_seconds / self.movements * 1e6


def pycoda_parse_seconds(data: bytes) -> float:
    from coda.parser import Parser

    times = []
    for _ in range(3):
        started = time.perf_counter()
        Parser().parse(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def register(client: httpx.Client, vat: str, account: str, mix: Mix) -> tuple[str, dict[str, str], float]:
    """The company and its ledger, through the API; returns the company's id and invoice ids by external id."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    company = client.post(
        "/v1/companies",
        json={
            "vat": vat,
            "name": f"Mixed {len(mix.invoices)}",
            "bank_accounts": [account],
            "payment_tolerance": TOLERANCE.as_config(),
        },
        headers=admin,
    )
    company.raise_for_status()
    ids: dict[str, str] = {}
    started = time.perf_counter()
    for start in range(0, len(mix.invoices), 1000):
        batch = [inv.body() for inv in mix.invoices[start : start + 1000]]
        response = client.post(f"/v1/companies/{vat}/invoices/batch", json={"invoices": batch}, headers=admin)
        response.raise_for_status()
        for r in response.json()["results"]:
            if r["invoice"] is None:
                raise SystemExit(f"invoice {r['external_id']} refused: {r['problem']}")
            ids[r["invoice"]["id"]] = r["external_id"]
    return company.json()["id"], ids, time.perf_counter() - started


def outcomes_per_kind(client: httpx.Client, vat: str, mix: Mix, external: dict[str, str]) -> dict[str, Counter]:
    """Per kind: matched (to the right invoices or not), suggested (first suggestion right or not), unmatched."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    out: dict[str, Counter] = defaultdict(Counter)
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/companies/{vat}/transactions", params=params, headers=admin)
        page.raise_for_status()
        body = page.json()
        for tx in body["items"]:
            kind, truth = mix.truth[tx["bank_reference"].strip()]
            allocated = frozenset(external[a["invoice_id"]] for a in tx["allocations"])
            top = next((s for s in tx["suggestions"] if s["status"] == "open"), None)
            proposed = frozenset(external[a["invoice_id"]] for a in top["allocations"]) if top else frozenset()
            if allocated:
                out[kind]["matched right" if allocated == truth else "matched WRONG"] += 1
            elif top is not None:
                out[kind]["suggested, first right" if proposed == truth else "suggested, first not"] += 1
            else:
                out[kind][tx["status"]] += 1
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def measure(size: int, tmp: Path, number: int, profile: bool) -> tuple[Run, dict | None]:
    started = time.perf_counter()
    mix = generate(size)
    vat, account = _vat(random.Random(1000 + number)), _iban(random.Random(2000 + number))
    data = mix.coda(account)
    print(
        f"-- {size:,} open invoices, {mix.customers:,} customers: {len(mix.movements):,} movements in "
        f"{-(-len(mix.movements) // PER_STATEMENT)} statements, {len(data) / 1e6:.1f} MB "
        f"(generated in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    pycoda = pycoda_parse_seconds(data)
    database = tmp / f"ledger{number}"
    database.mkdir()
    port = free_port()
    server = start_server(database, port)
    profile_target = None
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=900) as client:
            _, external, register_seconds = register(client, vat, account, mix)
            before = peak_rss_mb(server.pid)
            started = time.perf_counter()
            response = client.post(
                f"/v1/companies/{vat}/statements",
                content=data,
                headers={**admin, "Content-Type": "application/octet-stream"},
            )
            upload_seconds = time.perf_counter() - started
            response.raise_for_status()
            body = response.json()
            peak = peak_rss_mb(server.pid)
            per_kind = outcomes_per_kind(client, vat, mix, external)
            if profile:
                # The same ledger and file for a second company (its own account): profiled in this process.
                vat2, account2 = _vat(random.Random(3000 + number)), _iban(random.Random(4000 + number))
                company_id, _, _ = register(client, vat2, account2, mix)
                profile_target = {"company_id": company_id, "data": mix.coda(account2), "database": database}
    finally:
        server.terminate()
        server.wait(timeout=60)
    run = Run(
        size, mix.customers, len(mix.movements), len(mix.statements(account)), len(data) / 1e6,
        register_seconds, pycoda, upload_seconds, body["matching"], peak, before, per_kind,
    )  # fmt: skip
    report(run)
    return run, profile_target


def report(run: Run) -> None:
    ratio = run.upload_seconds / run.pycoda_seconds
    target = "; target <= 12x at 100,000 open invoices" if run.size >= 100_000 else ""
    m = run.matching
    print(
        f"invoices registered through the API: {run.register_seconds:.1f} s ({run.size / run.register_seconds:,.0f}/s)"
    )
    print(f"pycoda bare parse of the same file:  {run.pycoda_seconds:.2f} s (median of 3)")
    print(
        f"whole upload (parse, store, match):  {run.upload_seconds:.2f} s = {ratio:.1f}x pycoda{target}; "
        f"{run.per_movement_us:,.0f} µs per movement"
    )
    print(
        f"matching: matched {m['matched']}, suggested {m['suggested']}, unmatched {m['unmatched']} "
        f"(of {run.movements} movements)"
    )
    memory_target = "; target <= 300 MB for a 24,000-movement file" if run.movements >= 24_000 else ""
    print(f"server peak memory: {run.peak_mb:.0f} MB (before the upload: {run.before_mb:.0f} MB{memory_target})")
    print(
        "per kind (read back through the API; for kinds meant for no invoice a suggestion counts as 'first not', "
        "any allocation as WRONG):"
    )
    columns = ["matched right", "matched WRONG", "suggested, first right", "suggested, first not", "unmatched"]
    other = sorted({k for c in run.per_kind.values() for k in c} - set(columns))
    columns += other
    print(f"  {'kind':21} {'pay':>6} " + " ".join(f"{c:>{max(len(c), 7)}}" for c in columns))
    for kind in KINDS:
        c = run.per_kind.get(kind, Counter())
        cells = " ".join(f"{c[col]:>{max(len(col), 7)}}" for col in columns)
        print(f"  {kind:21} {sum(c.values()):>6} {cells}")
    print(flush=True)


def profile_upload(target: dict) -> None:
    """The upload once more, in this process (the service's own path, without HTTP), under cProfile."""
    database = target["database"]
    os.environ.update({
        "CODARECON_DATABASE_URL": os.environ.get("CODARECON_BENCH_DATABASE_URL", f"sqlite:///{database / 'bench.db'}"),
        "CODARECON_ADMIN_TOKEN": ADMIN,
        "CODARECON_RATE_LIMIT": "0",
        "CODARECON_VAR_DIR": str(database / "var"),
        "CODARECON_EMBEDDED_WORKERS": "false",
        "CODARECON_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    from app.core.config import get_settings
    from app.core.db import in_one_transaction, new_session, reset_engine
    from app.core.gc_tuning import tune_for_serving
    from app.hooks import install_hooks
    from app.statements.service import ingest_statement_file
    from app.statements.sources import uploaded

    get_settings.cache_clear()
    reset_engine()
    install_hooks()
    tune_for_serving()  # as the API process runs
    session = new_session()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = in_one_transaction(session, ingest_statement_file, session, target["company_id"], uploaded(target["data"]))
    profiler.disable()
    seconds = time.perf_counter() - started
    reset_engine()
    if out := os.environ.get("BENCH_PROFILE_OUT"):
        profiler.dump_stats(out)
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"-- profile: the same upload in process under cProfile: {seconds:.1f} s (profiled); "
        f"matching {result.response.matching.model_dump()}"
    )
    entries = stats.stats  # type: ignore[attr-defined]  # (file, line, name) -> (cc, nc, tt, ct, callers)
    root = str(Path(__file__).resolve().parents[1] / "app")

    def where(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        if filename.startswith(root):
            filename = "app" + filename[len(root) :]
        elif "site-packages/" in filename:
            filename = filename.split("site-packages/", 1)[1]
        return f"{filename}:{line}({name})"

    print("top 5 by own time (tottime):")
    for key, (_, calls, tt, ct, _) in sorted(entries.items(), key=lambda e: -e[1][2])[:5]:
        print(f"  {tt:6.2f} s {tt / total:5.1%}  cumulative {ct:6.2f} s  {calls:>9} calls  {where(key)}")
    # Our own functions by cumulative time, without the entry points that hold everything (over 90 %).
    own = [(key, v) for key, v in entries.items() if key[0].startswith(root) and v[3] < 0.9 * total]
    print("our functions by cumulative time (below the upload's entry points):")
    for key, (_, calls, tt, ct, _) in sorted(own, key=lambda e: -e[1][3])[:15]:
        print(f"  {ct:6.2f} s {ct / total:5.1%}  own {tt:6.2f} s  {calls:>9} calls  {where(key)}")
    print(f"  (profile total {total:.2f} s of own time)", flush=True)


def main() -> None:
    # One key for the servers and for the profiled upload in this process.
    os.environ.setdefault("CODARECON_SECRET_KEY", Fernet.generate_key().decode())
    database = "PostgreSQL" if os.environ.get("CODARECON_BENCH_DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"mixed payments on {database}: " + ", ".join(f"{k} {v}%" for k, v in KINDS.items()))
    runs: list[Run] = []
    target = None
    with tempfile.TemporaryDirectory() as tmpdir:
        for number, size in enumerate(SIZES):
            run, found = measure(size, Path(tmpdir), number, PROFILE and size == max(SIZES))
            runs.append(run)
            target = found or target
        if len(runs) >= 2:
            small, large = min(runs, key=lambda r: r.size), max(runs, key=lambda r: r.size)
            print(
                f"per movement: {large.per_movement_us:,.0f} µs at {large.size:,} open invoices, "
                f"{small.per_movement_us:,.0f} µs at {small.size:,}: {large.per_movement_us / small.per_movement_us:.2f}x "
                f"(target <= 1.3x)"
            )
        for run in runs:
            print(
                f"summary {run.size:>7,} open invoices: {run.upload_seconds / run.pycoda_seconds:5.1f}x pycoda, "
                f"{run.per_movement_us:5,.0f} µs/movement, peak {run.peak_mb:4.0f} MB, {run.matching}"
            )
        if target is not None:
            profile_upload(target)


if __name__ == "__main__":
    main()
