"""`check()` (app/reconciliation/invariants.py) rule by rule: a ledger built through the API breaks none, and each
row changed behind the ledger's back is reported under its rule, with the ids of the rows involved, and nothing
else. Each case corrupts one thing with plain SQL (money in mills: 121.00 EUR is 121000).

Where one corrupted field feeds two rules, both are expected, by name: an invoice's stored status and amounts are
also what its latest event must record (``event.stale``), so a change to them alone leaves that event stale too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.reconciliation.invariants import check
from app.reconciliation.models import Allocation, WriteOff
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

pytestmark = pytest.mark.timeout(120)

BASE = f"/v1/companies/{VAT}"
PAYER = "BE71096123456769"  # the account the customer pays from
STRANGER = "BE68539007547034"  # an account nobody paid from


@dataclass
class World:
    """What the API built: ids by name (invoices and their payments share the name), and the other company."""

    company: str
    other_company: str
    invoices: dict[str, str] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)
    allocations: dict[str, str] = field(default_factory=dict)  # by the name of the invoice it pays
    write_offs: dict[str, str] = field(default_factory=dict)
    suggestions: dict[str, str] = field(default_factory=dict)
    customer_key: str = ""


def _ok(response: Any, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def build(client: Any) -> World:
    """One company's ledger with something for every rule: invoices paid in full, in part, within the payment
    tolerance (a payment_difference write-off), by write-offs alone; an overpayment whose remainder is partly
    allocated by hand and partly written off without an invoice; a refund settling a credit note; an accepted and
    an open suggestion; an undone allocation; a cancelled invoice; a payment from no known account; a
    globalisation total and its details. And a second company, that owns nothing."""
    company = make_company(client, accounts=[IBAN])
    other = make_company(client, vat=OTHER_VAT, name="Other BV")
    key = make_key(client)
    world = World(company=company["id"], other_company=other["id"])
    _ok(client.patch(BASE, json={"payment_tolerance": {"amount": "1.00"}}, headers=key), 200)

    def invoice(name: str, total: str, **extra: Any) -> dict:
        created = _ok(client.post(f"{BASE}/invoices", json=invoice_body(name, total=total, **extra), headers=key))
        world.invoices[name] = created["id"]
        return created

    def paying(amount: str, of: dict | None, communication: str = "", **extra: Any) -> MovementSpec:
        extra.setdefault("counterparty_iban", PAYER)
        return MovementSpec(
            Decimal(amount),
            ogm=of["structured_reference"] if of else None,
            communication=communication,
            counterparty_name="KLANT NV",
            **extra,
        )

    full, part, tol, over = (
        invoice("FULL", "100.00"),
        invoice("PART", "200.00"),
        invoice("TOL", "50.00"),
        invoice("OVER", "30.00"),
    )
    invoice("SUGG", "61.00")
    invoice("ACC", "73.00")
    undone, anonymous = invoice("UNDONE", "40.00"), invoice("ANON", "25.00")
    invoice("GIFT", "12.00")
    invoice("GONE", "9.00")
    invoice("NOTE", "20.00", kind="credit_note")
    movements = {
        "FULL": paying("100.00", full),
        "PART": paying("80.00", part),  # 120.00 left due
        "TOL": paying("49.50", tol),  # 0.50 short: within the tolerance, written off
        "OVER": paying("50.00", over),  # 20.00 more than the invoice
        "SUGG": paying("61.00", None, "factuur SUGG"),
        "ACC": paying("73.00", None, "factuur ACC"),
        "UNDONE": paying("40.00", undone),
        "ANON": paying("25.00", anonymous, counterparty_iban=""),  # no account: nothing to learn
        "NOTE": paying("-20.00", None, "terugbetaling"),
        "TOTAL": paying(
            "33.33", None, "verzamel", details=[MovementSpec(Decimal("11.11")), MovementSpec(Decimal("22.22"))]
        ),
    }
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), list(movements.values()))])
    _ok(client.post(f"{BASE}/statements", content=data, headers=key))

    with unit_of_work(read_only=True) as session:
        rows = session.execute(
            text("SELECT id, amount, kind FROM transactions WHERE company_id = :c"), {"c": company["id"]}
        )
        by_amount = {(amount, kind): tx_id for tx_id, amount, kind in rows}
    for name, movement in movements.items():
        world.transactions[name] = by_amount[(int(movement.amount * 1000), "total" if name == "TOTAL" else "movement")]
    tx = world.transactions

    def on(name: str, tail: str) -> str:
        return f"{BASE}/transactions/{tx[name]}{tail}"

    accepted = _ok(client.get(on("ACC", ""), headers=key), 200)
    [offer] = [
        s for s in accepted["suggestions"] if [a["invoice_id"] for a in s["allocations"]] == [world.invoices["ACC"]]
    ]
    world.suggestions["ACC"] = offer["id"]
    _ok(client.post(on("ACC", f"/suggestions/{offer['id']}/accept"), headers=key), 200)
    _ok(
        client.post(
            on("NOTE", "/allocations"), json={"invoice_id": world.invoices["NOTE"], "amount": "20.00"}, headers=key
        )
    )
    # PART: 80.00 paid, then 20.00 discounted, then 10.00 more from OVER's remainder (partially_paid throughout).
    _ok(
        client.post(
            f"{BASE}/invoices/{world.invoices['PART']}/write-offs",
            json={"amount": "20.00", "reason": "discount"},
            headers=key,
        )
    )
    _ok(client.post(on("OVER", "/write-offs"), json={"amount": "5.00", "reason": "manual"}, headers=key))
    _ok(
        client.post(
            on("OVER", "/allocations"), json={"invoice_id": world.invoices["PART"], "amount": "10.00"}, headers=key
        )
    )
    # OVER: 50.00 = 30.00 + 10.00 allocated + 5.00 written off + 5.00 left (partially_matched).
    _ok(
        client.post(
            f"{BASE}/invoices/{world.invoices['GIFT']}/write-offs",
            json={"amount": "12.00", "reason": "discount"},
            headers=key,
        )
    )
    _ok(client.post(f"{BASE}/invoices/{world.invoices['GONE']}/cancel", headers=key), 200)
    [undo] = _ok(client.get(on("UNDONE", ""), headers=key), 200)["allocations"]
    _ok(client.delete(on("UNDONE", f"/allocations/{undo['id']}"), headers=key), 204)

    with unit_of_work(read_only=True) as session:
        names = {invoice_id: name for name, invoice_id in world.invoices.items()}
        for allocation in session.exec(select(Allocation)).all():
            if allocation.transaction_id != tx["OVER"] or names[allocation.invoice_id] == "OVER":
                world.allocations[names[allocation.invoice_id]] = allocation.id
            else:
                world.allocations["OVER->PART"] = allocation.id
        for write_off in session.exec(select(WriteOff)).all():
            world.write_offs[names[write_off.invoice_id] if write_off.invoice_id else "OVER"] = write_off.id
        [world.customer_key] = session.execute(text("SELECT DISTINCT customer_key FROM invoices")).scalars()
    return world


def sql(statement: str, **params: Any) -> None:
    """One statement behind the ledger's back, committed; it must change exactly one row."""
    query = text(statement)
    typed = {"reasons": Allocation.__table__.c.reasons.type, "payload": Event.__table__.c.payload.type}
    typed |= {"created_at": Event.__table__.c.created_at.type}
    query = query.bindparams(*(bindparam(name, type_=typed[name]) for name in params if name in typed))
    with unit_of_work() as session:
        assert session.execute(query, params).rowcount == 1


def violations(company_id: str | None = None) -> list[tuple[str, str]]:
    with unit_of_work(read_only=True) as session:
        return sorted((v.rule, v.subject_id) for v in check(session, company_id))


def test_a_ledger_built_through_the_api_breaks_no_rule(client):
    world = build(client)
    assert violations() == []
    assert violations(world.company) == []
    assert violations(world.other_company) == []
    # What the rules have to look at is there.
    with unit_of_work(read_only=True) as session:
        statuses = dict(session.execute(text("SELECT id, status FROM transactions")).all())
        invoices = dict(session.execute(text("SELECT id, status FROM invoices")).all())
        payers = session.execute(text("SELECT iban, allocations FROM learned_payers")).all()
    tx, inv = world.transactions, world.invoices
    assert {name: statuses[tx[name]] for name in tx} == {
        "FULL": "matched",
        "PART": "matched",
        "TOL": "matched",
        "OVER": "partially_matched",
        "SUGG": "suggested",
        "ACC": "matched",
        "UNDONE": "unmatched",
        "ANON": "matched",
        "NOTE": "matched",
        "TOTAL": "ignored",
    }
    assert {name: invoices[inv[name]] for name in inv} == {
        "FULL": "paid",
        "PART": "partially_paid",
        "TOL": "paid",
        "OVER": "paid",
        "SUGG": "open",
        "ACC": "paid",
        "UNDONE": "open",
        "ANON": "paid",
        "GIFT": "paid",
        "GONE": "cancelled",
        "NOTE": "paid",
    }
    assert payers == [(PAYER, 7)]  # FULL, PART (twice), TOL, OVER, ACC, NOTE; not ANON, not the undone one
    assert set(world.write_offs) == {"TOL", "PART", "OVER", "GIFT"}


@dataclass(frozen=True)
class Case:
    id: str
    corrupt: Callable[[World], None]
    expected: Callable[[World], list[tuple[str, str]]]


CASES = [
    # -- transactions --------------------------------------------------------------------------------------
    Case(
        "transaction.exceeded",  # 45.00 allocated and written off of a payment now said to be 44.00
        lambda w: sql("UPDATE transactions SET amount = 44000 WHERE id = :t", t=w.transactions["OVER"]),
        lambda w: [("transaction.exceeded", w.transactions["OVER"])],
    ),
    Case(
        "transaction.figures-written-off",  # 5.00 written off without an invoice, the row says none
        lambda w: sql("UPDATE transactions SET amount_written_off = 0 WHERE id = :t", t=w.transactions["OVER"]),
        lambda w: [("transaction.figures", w.transactions["OVER"])],
    ),
    Case(
        "transaction.figures-allocated",  # a refund's allocation to a credit note stored with the wrong sign
        lambda w: sql("UPDATE transactions SET amount_allocated = 20000 WHERE id = :t", t=w.transactions["NOTE"]),
        lambda w: [("transaction.figures", w.transactions["NOTE"])],
    ),
    Case(
        "transaction.status",
        lambda w: sql("UPDATE transactions SET status = 'partially_matched' WHERE id = :t", t=w.transactions["FULL"]),
        lambda w: [("transaction.status", w.transactions["FULL"])],
    ),
    Case(
        "transaction.suggestions",  # the accepted suggestion of a matched payment open again
        lambda w: sql("UPDATE suggestions SET status = 'open' WHERE id = :s", s=w.suggestions["ACC"]),
        lambda w: [("transaction.suggestions", w.transactions["ACC"])],
    ),
    Case(
        "transaction.ignored",  # a booked payment set aside as if it were a globalisation total
        lambda w: sql("UPDATE transactions SET status = 'ignored' WHERE id = :t", t=w.transactions["FULL"]),
        lambda w: [("transaction.ignored", w.transactions["FULL"])],
    ),
    Case(
        "total.status",  # a globalisation total counted as money of its own
        lambda w: sql("UPDATE transactions SET status = 'unmatched' WHERE id = :t", t=w.transactions["TOTAL"]),
        lambda w: [("total.status", w.transactions["TOTAL"])],
    ),
    # -- invoices ------------------------------------------------------------------------------------------
    Case(
        "invoice.amount_paid",
        lambda w: sql("UPDATE invoices SET amount_paid = 90000 WHERE id = :i", i=w.invoices["FULL"]),
        lambda w: [("event.stale", w.invoices["FULL"]), ("invoice.amount_paid", w.invoices["FULL"])],
    ),
    Case(
        "invoice.write_off_amount",  # the tolerance's 0.50 gone from the figure
        lambda w: sql("UPDATE invoices SET write_off_amount = 0 WHERE id = :i", i=w.invoices["TOL"]),
        lambda w: [("event.stale", w.invoices["TOL"]), ("invoice.write_off_amount", w.invoices["TOL"])],
    ),
    Case(
        "invoice.status",
        lambda w: sql("UPDATE invoices SET status = 'overpaid' WHERE id = :i", i=w.invoices["FULL"]),
        lambda w: [("event.stale", w.invoices["FULL"]), ("invoice.status", w.invoices["FULL"])],
    ),
    Case(
        "invoice.cancelled_paid",  # cancelled although settled (by a write-off alone)
        lambda w: sql(
            "UPDATE invoices SET status = 'cancelled', cancelled_at = CURRENT_TIMESTAMP WHERE id = :i",
            i=w.invoices["GIFT"],
        ),
        lambda w: [("event.stale", w.invoices["GIFT"]), ("invoice.cancelled_paid", w.invoices["GIFT"])],
    ),
    Case(
        "invoice.outstanding",  # 90.00 due, the row says nothing is
        lambda w: sql("UPDATE invoices SET outstanding = 0 WHERE id = :i", i=w.invoices["PART"]),
        lambda w: [("invoice.outstanding", w.invoices["PART"])],
    ),
    Case(
        # amount_paid + write_off_amount + outstanding still make the total (100 + 20 + 80 = 200); the allocations
        # (90.00) say 90.00 is due, not 80.00.
        "invoice.outstanding-against-allocations",
        lambda w: sql(
            "UPDATE invoices SET amount_paid = amount_paid + 10000, outstanding = outstanding - 10000 WHERE id = :i",
            i=w.invoices["PART"],
        ),
        lambda w: [
            ("event.stale", w.invoices["PART"]),
            ("invoice.amount_paid", w.invoices["PART"]),
            ("invoice.outstanding", w.invoices["PART"]),
        ],
    ),
    # -- learned payers ------------------------------------------------------------------------------------
    Case(
        "learned_payer.count",  # an account no allocation links to the customer, kept as if one did
        lambda w: sql(
            "INSERT INTO learned_payers (company_id, iban, customer_key, allocations) VALUES (:c, :iban, :k, 1)",
            c=w.company,
            iban=STRANGER,
            k=w.customer_key,
        ),
        lambda w: [("learned_payer.count", f"{STRANGER} -> {w.customer_key}")],
    ),
    # -- links -----------------------------------------------------------------------------------------------
    Case(
        "allocation.company",  # the payment that settles FULL now belongs to the other company
        lambda w: sql(
            "UPDATE transactions SET company_id = :c WHERE id = :t", c=w.other_company, t=w.transactions["FULL"]
        ),
        lambda w: [("allocation.company", w.allocations["FULL"])],
    ),
    Case(
        "allocation.amount",  # a zero allocation beside the real one: no sum changes
        lambda w: sql(
            "INSERT INTO allocations (id, company_id, transaction_id, invoice_id, amount, method, confidence, reasons,"
            " created_by, created_at) VALUES ('al_zero', :c, :t, :i, 0, 'manual', 1.0, :reasons, 'test', :created_at)",
            c=w.company,
            t=w.transactions["ANON"],
            i=w.invoices["ANON"],
            reasons=[],
            created_at=utcnow(),
        ),
        lambda w: [("allocation.amount", "al_zero")],
    ),
    Case(
        "allocation.total",  # the payment that settles FULL turned into a globalisation total
        lambda w: sql("UPDATE transactions SET kind = 'total' WHERE id = :t", t=w.transactions["FULL"]),
        # A total carries no status of its own either: it is reported as a total that is not ignored too.
        lambda w: [("allocation.total", w.allocations["FULL"]), ("total.status", w.transactions["FULL"])],
    ),
    Case(
        "write_off.amount",  # a zero write-off beside the real one: no sum changes
        lambda w: sql(
            "INSERT INTO write_offs (id, company_id, invoice_id, amount, reason, created_by, created_at)"
            " VALUES ('wo_zero', :c, :i, 0, 'discount', 'test', :created_at)",
            c=w.company,
            i=w.invoices["GIFT"],
            created_at=utcnow(),
        ),
        lambda w: [("write_off.amount", "wo_zero")],
    ),
    Case(
        "write_off.reason",  # on money kept without an invoice
        lambda w: sql("UPDATE write_offs SET reason = 'goodwill' WHERE id = :x", x=w.write_offs["OVER"]),
        lambda w: [("write_off.reason", w.write_offs["OVER"])],
    ),
    Case(
        "write_off.owner",
        lambda w: sql(
            "INSERT INTO write_offs (id, company_id, amount, reason, created_by, created_at)"
            " VALUES ('wo_orphan', :c, 1000, 'manual', 'test', :created_at)",
            c=w.company,
            created_at=utcnow(),
        ),
        lambda w: [("write_off.owner", "wo_orphan")],
    ),
    Case(
        "write_off.company",  # the tolerance's write-off: both its invoice and its payment are of another company
        lambda w: sql("UPDATE write_offs SET company_id = :c WHERE id = :x", c=w.other_company, x=w.write_offs["TOL"]),
        lambda w: [("write_off.company", w.write_offs["TOL"])] * 2,
    ),
    # -- events ----------------------------------------------------------------------------------------------
    Case(
        "event.missing",
        lambda w: sql("DELETE FROM events WHERE subject_id = :i", i=w.invoices["FULL"]),
        lambda w: [("event.missing", w.invoices["FULL"])],
    ),
    Case(
        # PART's last change (10.00 more paid) was never announced: its latest event says partially_paid, as it
        # is, with 80.00 paid instead of 90.00.
        "event.stale-amount-paid",
        lambda w: sql(
            "DELETE FROM events WHERE id = (SELECT id FROM events WHERE subject_id = :i"
            " ORDER BY created_at DESC, id DESC LIMIT 1)",
            i=w.invoices["PART"],
        ),
        lambda w: [("event.stale", w.invoices["PART"])],
    ),
    Case(
        # A later event says partially_paid, as it is, with the 90.00 paid, but without the 20.00 written off.
        "event.stale-write-off",
        lambda w: sql(
            "INSERT INTO events (id, company_id, type, subject_id, payload, created_at)"
            " VALUES ('evt_stale', :c, 'invoice.partially_paid', :i, :payload, :created_at)",
            c=w.company,
            i=w.invoices["PART"],
            payload={
                "data": {},
                "change": {"status": "partially_paid", "amount_paid": "90.00", "write_off_amount": "0.00"},
            },
            created_at=utcnow(),
        ),
        lambda w: [("event.stale", w.invoices["PART"])],
    ),
    # -- money on its way, movements seen twice (issue 43) ----------------------------------------------------
    Case(
        "invoice.pending_amount",  # 5.00 "on its way" that no pending payment brings
        lambda w: sql("UPDATE invoices SET pending_amount = pending_amount + 500 WHERE id = :i", i=w.invoices["SUGG"]),
        lambda w: [("invoice.pending_amount", w.invoices["SUGG"])],
    ),
    Case(
        "twin.payment",  # a movement counted as FULL's payment, but of another amount
        lambda w: sql(
            "INSERT INTO movement_twins (id, company_id, statement_id, line, bank_reference, transaction_id,"
            " booking_date, amount, created_at) SELECT 'tw_planted', company_id, statement_id, 1, 'x', id,"
            " booking_date, amount + 100, :now FROM transactions WHERE id = :t",
            t=w.transactions["FULL"],
            now=utcnow(),
        ),
        lambda w: [("twin.payment", "tw_planted")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_corrupted_row_is_reported_under_its_rule(client, case):
    world = build(client)
    assert violations() == []
    case.corrupt(world)
    assert violations() == sorted(case.expected(world))


def test_a_write_off_moved_onto_a_globalisation_total_is_reported(client):
    world = build(client)
    sql(
        "UPDATE write_offs SET transaction_id = :t WHERE id = :w",
        t=world.transactions["TOTAL"],
        w=world.write_offs["OVER"],
    )
    assert ("write_off.total", world.write_offs["OVER"]) in violations()


def test_a_write_off_naming_another_allocation_is_reported(client):
    """Undoing an allocation undoes the write-off that came with it: one that names another invoice's allocation
    would be removed by the wrong undo."""
    world = build(client)
    with unit_of_work(read_only=True) as session:
        tolerance = session.get(WriteOff, world.write_offs["TOL"])
        assert tolerance is not None and tolerance.allocation_id is not None  # the tolerance's own allocation
    sql(
        "UPDATE write_offs SET allocation_id = :a WHERE id = :w", a=world.allocations["FULL"], w=world.write_offs["TOL"]
    )
    assert violations() == [("write_off.allocation", world.write_offs["TOL"])]


def test_an_open_suggestion_proposing_a_cancelled_invoice_is_reported(client):
    build(client)
    with unit_of_work(read_only=True) as session:
        open_ones = session.execute(text("SELECT id, allocations FROM suggestions WHERE status = 'open'")).all()
    assert open_ones, "the ledger holds an open suggestion"
    suggestion_id, lines = open_ones[0]
    lines = json.loads(lines) if isinstance(lines, str) else lines
    sql("UPDATE invoices SET status = 'cancelled' WHERE id = :i", i=lines[0]["invoice_id"])
    assert ("suggestion.cancelled", suggestion_id) in violations()
