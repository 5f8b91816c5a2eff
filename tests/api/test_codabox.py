"""CodaBox end to end against the local stand-in (real HTTP on loopback) with injected faults: every invoice
delivered exactly once and in date order, every CODA entry ingested exactly once, the feed offset committed
only after storage, nothing lost when a run stops half-way; signed inbound webhooks."""

from __future__ import annotations

import base64
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.core import outbox
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.outbox_models import Job
from app.peppol.validation import validate_ubl
from tests.coda_builders import payment_file
from tests.codabox_support import connect, feed_entries, run_jobs, seed, signed, statement_count
from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key

UBL = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def test_connecting_keeps_credentials_secret(client, codabox):
    key = connect(client, codabox)
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key)
    password = codabox.clients[VAT].password
    assert password not in status.text
    with unit_of_work() as session:
        stored = session.get(
            CodaboxConnection, status.json() and session.exec(select(CodaboxConnection.company_id)).one()
        )
    assert stored.password_encrypted and password not in stored.password_encrypted
    # The token is single-use: CodaBox refuses it the second time.
    again = client.post(
        f"/v1/companies/{VAT}/codabox/credentials", json={"token": codabox.last_token[VAT]}, headers=key
    )
    assert again.status_code == 422


def test_every_invoice_is_delivered_exactly_once_in_date_order_despite_faults(client, codabox):
    key = connect(client, codabox)
    run_jobs()  # the first, empty sync
    today = date.today()
    days = [5, 1, 4, 2, 3]
    for n, day in enumerate(days):
        issue = (today.replace(day=1) + timedelta(days=day)).isoformat()
        body = with_lines(invoice_body(f"D{n}", issue_date=issue, due_date=issue))
        assert (
            client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key).json()["delivery"]["status"]
            == "pending"
        )
    for kind, count in (("503", 2), ("lost", 1), ("timeout", 1)):
        codabox.inject("upload", kind, count)
    run_jobs(40)
    uploads = codabox.clients[VAT].uploads
    assert sorted(uploads) == sorted(f"2026/D{n}" for n in range(5))
    # What was sent, not what the stand-in kept: each invoice stored by exactly one upload; an invoice is
    # sent again only when an answer was lost or came too late (the 503s never reached the stand-in).
    attempts = codabox.clients[VAT].attempts
    unanswered = {a["id"] for a in attempts if a["fault"] in ("lost", "timeout")}
    assert Counter(a["id"] for a in attempts if a["status"] == 201) == Counter(f"2026/D{n}" for n in range(5))
    sent = Counter(a["id"] for a in attempts)
    assert all(sent[key] == 1 for key in sent if key not in unanswered), sent
    in_order = [k for k, _ in sorted(uploads.items(), key=lambda item: item[1]["at"])]
    assert in_order == [f"2026/D{n}" for n in sorted(range(5), key=lambda n: days[n])]
    items = client.get(f"/v1/companies/{VAT}/invoices", headers=key).json()["items"]
    assert {i["delivery"]["status"] for i in items} == {"delivered"}
    assert sum(i["delivery"]["attempts"] for i in items) >= 5 + 2  # the failures were counted
    xml = ET.fromstring(uploads["2026/D0"]["xml"])
    assert xml.find(f"{UBL}CustomizationID").text.endswith("poacc:billing:3.0")
    assert Decimal(xml.find(f".//{UBL}PayableAmount").text) == Decimal("121.00")
    for upload in uploads.values():  # exactly what reached CodaBox passes EN 16931 and Peppol BIS 3
        assert validate_ubl(upload["xml"]).errors == []


def with_lines(body: dict) -> dict:
    """The invoice as its lines: 100.00 at 21 % (121.00 to pay)."""
    body.pop("total_amount")
    body["lines"] = [{"description": "Werk", "quantity": "1", "unit_price": "100.00", "vat_rate": "21"}]
    return body


def test_an_invoice_without_lines_or_ubl_is_reconciled_but_never_forwarded(client, codabox):
    key = connect(client, codabox)
    bare = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("BARE"), headers=key).json()
    assert bare["delivery"]["status"] == "needs_document"
    assert "send lines" in bare["delivery"]["last_error"]
    run_jobs()
    assert codabox.clients[VAT].attempts == []  # no invented VAT split ever leaves


def test_a_document_that_fails_the_rules_is_never_sent_and_the_delivery_names_the_rules(client, codabox):
    """Checked again just before sending: a stored document that no longer passes (the rules were updated, the
    row was touched) is never forwarded."""
    from app.invoices.models import InvoiceDocument
    from tests.api.test_client_ubl import body

    key = connect(client, codabox)
    document = this_years_client_ubl()
    created = client.post(f"/v1/companies/{VAT}/invoices", json=body(document), headers=key).json()
    assert created["delivery"]["status"] == "pending"
    with unit_of_work() as session:
        [stored] = session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == created["id"])).all()
        stored.content = stored.content.replace(
            b'PayableAmount currencyID="EUR">121.00', b'PayableAmount currencyID="EUR">12.00'
        )
        session.add(stored)
    run_jobs()
    delivery = client.get(f"/v1/companies/{VAT}/invoices/{created['id']}", headers=key).json()["delivery"]
    assert delivery["status"] == "failed"
    assert delivery["last_error"].startswith("not sent: the UBL document fails BR-CO-16")
    assert delivery["attempts"] == 1
    assert codabox.clients[VAT].attempts == []
    assert delivery_events(created["id"]) == [("invoice.delivery_failed", "failed", delivery)]


def test_each_company_sends_its_own_invoices_and_a_refused_document_stops_nothing(client, codabox):
    """Two connected companies with invoices waiting at once: each one's run uploads only its own invoices, under
    its own CodaBox credentials. A stored document that now fails a Peppol BIS rule (not an EN 16931 one: the
    client's own UBL is held to both) is refused, and the run goes on to the next invoice."""
    from app.invoices.models import InvoiceDocument
    from tests.api.test_client_ubl import body
    from tests.helpers import OTHER_VAT

    key = connect(client, codabox)
    other_key = connect(client, codabox, vat=OTHER_VAT, iban="BE68539007547034")
    run_jobs()
    today = date.today()
    refused = client.post(
        f"/v1/companies/{VAT}/invoices", json=body(this_years_client_ubl(), external_id="R1"), headers=key
    ).json()
    with unit_of_work() as session:
        [stored] = session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == refused["id"])).all()
        without_profile = re.sub(rb"<cbc:ProfileID>[^<]*</cbc:ProfileID>", b"", stored.content)
        assert without_profile != stored.content
        stored.content = without_profile
        session.add(stored)
    later = (today.replace(day=1) + timedelta(days=20)).isoformat()
    mine = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=with_lines(invoice_body("A/2", issue_date=later, due_date=later)),
        headers=key,
    ).json()
    theirs = client.post(
        f"/v1/companies/{OTHER_VAT}/invoices",
        json=with_lines(invoice_body("B/1", issue_date=today.replace(day=1).isoformat(), due_date=later)),
        headers=other_key,
    ).json()
    run_jobs()
    delivery = client.get(f"/v1/companies/{VAT}/invoices/{refused['id']}", headers=key).json()["delivery"]
    assert delivery["status"] == "failed"
    assert "PEPPOL-EN16931-R001" in delivery["last_error"]
    assert sorted(codabox.clients[VAT].uploads) == ["2026/A/2"]
    assert sorted(codabox.clients[OTHER_VAT].uploads) == ["2026/B/1"]
    for vat, created, headers in ((VAT, mine, key), (OTHER_VAT, theirs, other_key)):
        sent = client.get(f"/v1/companies/{vat}/invoices/{created['id']}", headers=headers).json()["delivery"]
        assert sent["status"] == "delivered", (vat, sent)


def test_invoices_of_another_year_are_not_sent(client, codabox):
    key = connect(client, codabox)
    old = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=with_lines(invoice_body("OLD", issue_date="2020-01-02", due_date="2020-02-01")),
        headers=key,
    ).json()
    run_jobs()
    refreshed = client.get(f"/v1/companies/{VAT}/invoices/{old['id']}", headers=key).json()
    assert refreshed["delivery"]["status"] == "disabled"
    # The integrator sees why: CodaBox refuses other years, so it is never tried (and never retried).
    assert refreshed["delivery"]["last_error"] == "CodaBox takes sales invoices of the current calendar year only"
    assert codabox.clients[VAT].uploads == {}
    assert codabox.clients[VAT].attempts == []


def this_years_client_ubl() -> bytes:
    """The client's own UBL (tests/api/test_client_ubl.py), dated today: CodaBox takes this year's invoices only."""
    from tests.api.test_client_ubl import ubl

    today = date.today().isoformat().encode()
    return ubl().replace(b"2026-12-02", today).replace(b"2026-11-02", today)


def test_feed_is_ingested_exactly_once_and_the_offset_follows_storage(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    indexes = seed(codabox, 3)
    codabox.inject("download", "503", 1)
    codabox.inject("commit", "lost", 1)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    assert statement_count() == 3
    assert codabox.clients[VAT].offset == indexes[-1]
    with unit_of_work() as session:
        entries = session.exec(select(CodaboxFeedEntry)).all()
    assert sorted((e.status, e.attempts) for e in entries) == [("ingested", 1)] * 3
    assert Counter(codabox.clients[VAT].downloads) == Counter(indexes)  # each downloaded once (the 503 was not)
    # CodaBox re-delivers everything: what was ingested is not even downloaded again, and the offset moves
    # to the end again.
    codabox.clients[VAT].offset = None
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    assert statement_count() == 3
    assert codabox.clients[VAT].offset == indexes[-1]
    assert Counter(codabox.clients[VAT].downloads) == Counter(indexes)


def test_offset_does_not_move_past_what_was_not_stored(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    seed(codabox, 2)
    codabox.inject("download", "503", 100)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    outbox.run_due_jobs(owner="test", base_delay=0.0)
    assert codabox.clients[VAT].offset is None
    assert statement_count() == 0
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert "503" in status["last_error"]
    codabox.faults.clear()
    run_jobs(10)
    assert statement_count() == 2


def test_a_download_cut_off_half_way_is_fetched_again_not_stored_in_part(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    indexes = seed(codabox, 2)
    codabox.inject("download", "truncate", 2)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    outbox.run_due_jobs(owner="test", base_delay=0.0)
    assert statement_count() == 0 and codabox.clients[VAT].offset is None  # nothing stored, nothing skipped
    assert "incomplete" in client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()["last_error"]
    run_jobs(10)
    assert statement_count() == 2
    assert codabox.clients[VAT].offset == indexes[-1]
    with unit_of_work() as session:
        entries = sorted((e.status, e.attempts) for e in session.exec(select(CodaboxFeedEntry)))
    assert entries == [("ingested", 1), ("ingested", 3)]  # the first one took three downloads


def test_a_run_that_stops_half_way_loses_nothing(client, codabox):
    """Stored but not committed (the commit keeps failing, as if the worker died right after storing):
    the next run sees the entry as stored, commits, and goes on; nothing is stored twice."""
    key = connect(client, codabox)
    run_jobs()
    indexes = seed(codabox, 2)
    codabox.inject("commit", "503", 3)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    outbox.run_due_jobs(owner="test", base_delay=0.0)
    assert statement_count() == 1 and codabox.clients[VAT].offset is None
    run_jobs(10)
    assert statement_count() == 2
    assert codabox.clients[VAT].offset == indexes[-1]


def test_two_workers_at_once_deliver_each_invoice_once(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    for n in range(20):
        client.post(f"/v1/companies/{VAT}/invoices", json=with_lines(invoice_body(f"P{n}")), headers=key)
    codabox.inject("upload", "503", 3)

    def work(owner: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            outbox.run_due_jobs(owner=owner, base_delay=0.0)
            with unit_of_work() as session:
                if not session.exec(select(Job.id).where(Job.status.in_(("pending", "running")))).first():
                    return

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codabox.clients[VAT].uploads) == sorted(f"2026/P{n}" for n in range(20))
    assert sorted(a["id"] for a in codabox.clients[VAT].attempts) == sorted(f"2026/P{n}" for n in range(20))
    delivered = client.get(f"/v1/companies/{VAT}/invoices", params={"limit": 50}, headers=key).json()["items"]
    assert {i["delivery"]["status"] for i in delivered} == {"delivered"}


def test_inbound_webhooks(client, codabox):
    import json
    from datetime import UTC, datetime

    connect(client, codabox)
    run_jobs()
    secret = get_settings().inbound_webhook_secret
    body = json.dumps({"type": "invoice.created", "data": {"company_vat": VAT, "invoice": invoice_body("W1")}}).encode()
    first = client.post("/v1/webhooks/inbound", content=body, headers=signed(body, secret, "msg_1"))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "created"
    again = client.post("/v1/webhooks/inbound", content=body, headers=signed(body, secret, "msg_1"))
    assert again.json()["status"] == "duplicate"
    forged = signed(body, "whsec_" + base64.b64encode(b"x" * 32).decode(), "msg_2")
    assert client.post("/v1/webhooks/inbound", content=body, headers=forged).status_code == 401
    stale = signed(body, secret, "msg_3", when=datetime.now(UTC) - timedelta(hours=1))
    assert client.post("/v1/webhooks/inbound", content=body, headers=stale).status_code == 401
    # A trigger for the integrator's own relay (CodaBox sends no webhooks); its earlier name still works.
    for number, kind in enumerate(("codabox.sync_requested", "codabox.documents_available")):
        sync = json.dumps({"type": kind, "data": {"company_vat": VAT}}).encode()
        queued = client.post("/v1/webhooks/inbound", content=sync, headers=signed(sync, secret, f"msg_4{number}"))
        assert queued.json()["status"] == "sync_queued", queued.text
    cancel = json.dumps(
        {"type": "invoice.cancelled", "data": {"company_vat": VAT, "invoice": {"external_id": "W1"}}}
    ).encode()
    assert (
        client.post("/v1/webhooks/inbound", content=cancel, headers=signed(cancel, secret, "msg_5")).json()["status"]
        == "cancelled"
    )


def test_an_entry_whose_storing_keeps_failing_is_set_aside_and_the_feed_goes_on(client, codabox, monkeypatch):
    """A poison entry (here: storing it raises a database error) is tried a bounded number of times, then
    marked failed with its error, visible in the status; the entries after it are ingested."""
    from sqlalchemy.exc import OperationalError

    from app.codabox import feed
    from app.statements import service as statements

    key = connect(client, codabox)
    run_jobs()
    indexes = seed(codabox, 3)
    poison = indexes[1]
    poison_bytes = next(e["coda"] for e in codabox.clients[VAT].entries if e["feed_index"] == poison)
    real_ingest = statements.ingest_statement_file

    def ingest(session, company_id, file):
        if file.data == poison_bytes:
            raise OperationalError("INSERT INTO statements VALUES (%(iban)s)", {"iban": IBAN}, Exception("disk I/O"))
        return real_ingest(session, company_id, file)

    monkeypatch.setattr(statements, "ingest_statement_file", ingest)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    outbox.run_due_jobs(owner="test", base_delay=0.0)
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert "could not be stored: database error" in status["last_error"]  # said at once, not null
    assert IBAN not in status["last_error"]  # no SQL parameters in what a tenant reads
    run_jobs(20)

    assert statement_count() == 2
    assert codabox.clients[VAT].offset == indexes[-1]
    assert Counter(codabox.clients[VAT].downloads)[poison] == feed.STORE_ATTEMPTS
    entries = {e.feed_index: e for e in feed_entries()}
    assert (entries[poison].status, entries[poison].attempts, entries[poison].feed_id) == (
        "failed",
        feed.STORE_ATTEMPTS,
        str(codabox.clients[VAT].feed_id),
    )
    assert entries[poison].company_id == codabox_company_id()
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert (status["statements_ingested"], status["statements_failed"], status["last_error"]) == (2, 1, None)
    assert status["entries_set_aside"] == [
        {
            "feed_index": poison,
            "document_model": "coda",
            "outcome": "failed",
            "reason": f"gave up after {feed.STORE_ATTEMPTS} attempts: database error (Exception)",
            "holder_number": None,
            "attempts": feed.STORE_ATTEMPTS,
        }
    ]
    # What was set aside is not downloaded again when CodaBox re-delivers the feed.
    codabox.clients[VAT].offset = None
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    assert Counter(codabox.clients[VAT].downloads)[poison] == feed.STORE_ATTEMPTS
    assert statement_count() == 2


def codabox_company_id() -> str:
    with unit_of_work() as session:
        return session.exec(select(CodaboxConnection.company_id)).one()


def test_a_feed_entry_keeps_its_file_and_source(client, codabox):
    from app.statements.models import StatementFile

    key = connect(client, codabox)
    run_jobs()
    [index] = seed(codabox, 1)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    [entry] = feed_entries()
    with unit_of_work() as session:
        [coda_file] = session.exec(select(StatementFile)).all()
    assert (entry.feed_index, entry.status, entry.coda_file_id) == (index, "ingested", coda_file.id)
    assert coda_file.source == "codabox"


def test_an_unreadable_feed_entry_is_set_aside_with_the_parsers_reason(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    bad = codabox.add_coda(VAT, b"0" * 128 + b"\n")
    [good] = seed(codabox, 1)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    entries = {e.feed_index: e for e in feed_entries()}
    assert (entries[bad].status, entries[bad].attempts, entries[bad].company_id) == ("failed", 1, codabox_company_id())
    assert entries[bad].feed_id == str(codabox.clients[VAT].feed_id)
    assert entries[bad].last_error and "line" in entries[bad].last_error
    assert entries[good].status == "ingested"
    [shown] = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()["entries_set_aside"]
    assert (shown["feed_index"], shown["outcome"], shown["document_model"]) == (bad, "failed", "coda")
    assert "line" in shown["reason"]


def test_the_periodic_poll_queues_one_sync_per_connected_company(client, codabox):
    from app.codabox.feed import SYNC, poll_connected

    connect(client, codabox)
    run_jobs()
    make_company(client, vat="BE0417497106", name="Not connected")
    poll_connected()
    poll_connected()  # at most one waiting per company
    with unit_of_work() as session:
        jobs = session.exec(select(Job).where(Job.kind == SYNC, Job.status == "pending")).all()
    assert [j.payload["company_id"] for j in jobs] == [codabox_company_id()]


def test_another_companys_token_reads_none_of_its_statements(client, codabox):
    """CodaBox gives no VAT number to check a token against: a token of one company used by another connects,
    with a warning naming CodaBox's client, and the first statement of the token's company that comes through
    the feed is refused as foreign and stops the connection, with nothing of it stored."""
    from tests.helpers import OTHER_VAT

    make_company(client, accounts=[IBAN])
    victim = make_key(client)
    make_company(client, vat=OTHER_VAT, name="Attacker", accounts=["BE68539007547034"])
    attacker = make_key(client, vat=OTHER_VAT)
    client.post(f"/v1/companies/{VAT}/codabox/access-token", headers=victim).raise_for_status()
    codabox.clients[VAT].name = "Demo BV"
    stolen = codabox.last_token[VAT]
    response = client.post(f"/v1/companies/{OTHER_VAT}/codabox/credentials", json={"token": stolen}, headers=attacker)
    assert response.status_code == 200, response.text
    status = response.json()
    assert [c["name"] for c in status["clients"]] == ["Demo BV"]
    assert "'Demo BV'" in status["warnings"][0] and "'Attacker'" in status["warnings"][0]
    foreign = codabox.add_coda(VAT, payment_file(("10.00", None), account="BE68539007547034", holder=VAT))
    client.post(f"/v1/companies/{OTHER_VAT}/codabox/sync", headers=attacker)
    run_jobs()
    status = client.get(f"/v1/companies/{OTHER_VAT}/codabox", headers=attacker).json()
    assert status["state"] == "mismatch"
    assert [(e["feed_index"], e["outcome"], e["holder_number"]) for e in status["entries_set_aside"]] == [
        (foreign, "foreign", VAT)
    ]
    assert statement_count() == 0


@pytest.mark.parametrize(
    "event",
    [
        {"type": "invoice.created", "data": [1, 2]},
        {"type": "invoice.created", "data": {"company_vat": VAT, "invoice": [1]}},
        {"type": "invoice.created", "data": {"company_vat": 417497106, "invoice": {}}},
        {"type": ["invoice.created"], "data": {}},
        {"type": "invoice.created", "data": "text"},
    ],
)
def test_inbound_webhooks_of_the_wrong_shape_are_422(client, codabox, event):
    import json

    make_company(client, accounts=[IBAN])
    body = json.dumps(event).encode()
    response = client.post(
        "/v1/webhooks/inbound", content=body, headers=signed(body, get_settings().inbound_webhook_secret, "msg_x")
    )
    assert response.status_code == 422, response.text


def test_an_entry_that_always_arrives_cut_off_is_set_aside_after_the_last_download(client, codabox):
    from app.codabox import feed

    key = connect(client, codabox)
    run_jobs()
    indexes = seed(codabox, 2)
    codabox.inject("download", "truncate", feed.INCOMPLETE_DOWNLOAD_ATTEMPTS)  # the first entry, every time
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(20)
    downloads = Counter(codabox.clients[VAT].downloads)
    assert downloads[indexes[0]] == feed.INCOMPLETE_DOWNLOAD_ATTEMPTS  # not one download more
    entries = {e.feed_index: e for e in feed_entries()}
    first = entries[indexes[0]]
    assert (first.status, first.attempts, first.company_id, first.feed_id) == (
        "failed",
        feed.INCOMPLETE_DOWNLOAD_ATTEMPTS,
        codabox_company_id(),
        str(codabox.clients[VAT].feed_id),
    )
    assert first.last_error.startswith("incomplete CODA file")
    assert entries[indexes[1]].status == "ingested"
    assert statement_count() == 1 and codabox.clients[VAT].offset == indexes[-1]


def test_an_entry_for_another_companys_account_is_set_aside_and_the_feed_goes_on(client, codabox):
    from tests.helpers import OTHER_VAT

    key = connect(client, codabox)
    run_jobs()
    other_iban = "BE68539007547034"
    make_company(client, vat=OTHER_VAT, name="Other", accounts=[other_iban])
    foreign = codabox.add_coda(VAT, payment_file(("10.00", None), account=other_iban))
    [good] = seed(codabox, 1)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    entries = {e.feed_index: e for e in feed_entries()}
    refused = entries[foreign]
    assert (refused.status, refused.attempts, refused.company_id, refused.feed_id) == (
        "failed",
        1,
        codabox_company_id(),
        str(codabox.clients[VAT].feed_id),
    )
    assert "registered to another company" in refused.last_error
    assert entries[good].status == "ingested"
    assert codabox.clients[VAT].offset == good


def test_a_bug_while_storing_is_described_in_one_bounded_line(client, codabox, monkeypatch):
    from app.codabox import feed
    from app.statements import service as statements

    key = connect(client, codabox)
    run_jobs()
    [index] = seed(codabox, 1)

    def broken(*_, **__):
        raise RuntimeError("x" * 300)

    monkeypatch.setattr(statements, "ingest_statement_file", broken)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(20)
    [entry] = feed_entries()
    assert (entry.feed_index, entry.status) == (index, "failed")
    assert entry.last_error == f"gave up after {feed.STORE_ATTEMPTS} attempts: RuntimeError: {'x' * 200}"


def test_a_failed_sync_job_keeps_codaboxs_answer(client, codabox):
    from app.codabox.feed import SYNC

    key = connect(client, codabox)
    run_jobs()
    seed(codabox, 1)
    codabox.inject("download", "503", 100)
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    outbox.run_due_jobs(owner="test", base_delay=0.0)
    with unit_of_work() as session:
        [job] = session.exec(select(Job).where(Job.kind == SYNC, col(Job.last_error).is_not(None))).all()
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert job.status == "pending" and "503" in job.last_error
    assert job.last_error == status["last_error"]


def test_the_periodic_poll_queues_its_jobs_under_their_company(client, codabox):
    from app.codabox.feed import SYNC, poll_connected

    connect(client, codabox)
    run_jobs()
    poll_connected()
    with unit_of_work() as session:
        [job] = session.exec(select(Job).where(Job.kind == SYNC, Job.status == "pending")).all()
    assert job.company_id == codabox_company_id()  # claims take turns by company


def test_the_clients_own_ubl_is_forwarded_byte_for_byte(client, codabox):
    from tests.api.test_client_ubl import body

    key = connect(client, codabox)
    document = this_years_client_ubl()
    created = client.post(f"/v1/companies/{VAT}/invoices", json=body(document), headers=key)
    assert created.status_code == 201, created.text
    assert created.json()["delivery"]["status"] == "pending"
    run_jobs()
    assert codabox.clients[VAT].uploads["2026/UBL-1"]["xml"] == document


@pytest.mark.parametrize("preferred", ["cod", "xml"])
def test_a_feed_entry_offering_xml_is_read_in_the_preferred_format_and_counts_once(
    client, codabox, monkeypatch, preferred
):
    from app.statements.camt_writer import write_camt
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
    from app.statements.models import StatementFile

    monkeypatch.setattr(get_settings(), "codabox_statement_format", preferred)
    key = connect(client, codabox)
    spec = StatementSpec(IBAN, date(2026, 11, 5), Decimal(0), [MovementSpec(Decimal("42.00"), communication="x")])
    coda, camt = write_coda([spec]), write_camt([spec])
    index = codabox.add_coda(VAT, coda, xml=camt)
    run_jobs()
    with unit_of_work() as session:
        [stored] = session.exec(select(StatementFile)).all()
    assert stored.content == (camt if preferred == "xml" else coda)
    assert codabox.clients[VAT].offset == index  # the offset rules are the format's business no more than before
    other = camt if preferred == "cod" else coda  # the same statement in the other format: nothing new
    again = client.post(f"/v1/companies/{VAT}/statements", content=other, headers=key)
    assert (again.status_code, again.json()["duplicates"]) == (200, 1)


def delivery_events(invoice_id: str) -> list[tuple[str, str, dict]]:
    """The delivery events of an invoice: type, the status in the resource they carry, and what changed."""
    from app.core.outbox_models import Event

    with unit_of_work() as session:
        events = session.exec(select(Event).where(Event.subject_id == invoice_id, col(Event.type).like("%deliver%")))
        out = []
        for event in events.all():
            assert event.payload["data"]["id"] == invoice_id
            assert event.payload["change"] == {"delivery": event.payload["data"]["delivery"]}
            out.append((event.type, event.payload["data"]["delivery"]["status"], event.payload["data"]["delivery"]))
    return out


CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"


def test_codabox_receives_the_whole_invoice_its_pdf_and_a_file_name(client, codabox):
    """What the accountant books is what was forwarded: the buyer and seller as registered, the references,
    a credit note as a credit note, the PDF both inside the UBL and beside it, under a name CodaBox accepts."""
    from app.peppol.reading import read_facts

    key = connect(client, codabox)
    other_account = "BE68539007547034"  # registered after IBAN but sorts before it: the lowest IBAN is the payee
    client.patch(
        f"/v1/companies/{VAT}",
        json={
            "bank_accounts": [IBAN, other_account],
            "address": {"street": "Kerkstraat 1", "city": "Gent", "postal_code": "9000", "country": "BE"},
        },
        headers=ADMIN,
    ).raise_for_status()
    today = date.today().isoformat()
    pdf = b"%PDF-1.7 the invoice as the customer saw it"
    customer = {
        "name": "Klant NV",
        "vat": "BE0417497106",
        "address": {"street": "Markt 5", "city": "Brugge", "postal_code": "8000", "country": "BE"},
    }
    invoice = with_lines(invoice_body("W/1", issue_date=today, due_date=today, customer=customer))
    invoice["buyer_reference"] = "PO-77"
    invoice["documents"] = [
        {
            "filename": "factuur-W1.pdf",
            "content_type": "Application/PDF",
            "content_base64": base64.b64encode(pdf).decode(),
        }
    ]
    credit = with_lines(invoice_body("C/1", issue_date=today, due_date=today, customer=customer, kind="credit_note"))
    credit["billing_reference"] = "2026/W/1"
    for body in (invoice, credit):
        created = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
        assert created.status_code == 201, created.text
    run_jobs()

    uploads = codabox.clients[VAT].uploads
    for item in client.get(f"/v1/companies/{VAT}/invoices", headers=key).json()["items"]:
        assert item["delivery"]["status"] == "delivered" and item["delivery"]["attempts"] == 1
        assert delivery_events(item["id"]) == [("invoice.delivered", "delivered", item["delivery"])]
    sent = uploads["2026/W/1"]
    assert (sent["filename"], sent["pdf"], sent["pdf_filename"]) == ("2026-W-1.xml", pdf, "2026-W-1.pdf")
    facts = read_facts(sent["xml"])
    assert (facts.kind, facts.buyer_reference, facts.billing_reference) == ("invoice", "PO-77", None)
    assert facts.customer["vat"] == "BE0417497106"
    assert facts.customer["address"] == {"street": "Markt 5", "city": "Brugge", "postal_code": "8000", "country": "BE"}
    xml = ET.fromstring(sent["xml"])
    seller = xml.find(f"{CAC}AccountingSupplierParty/{CAC}Party/{CAC}PostalAddress")
    assert (seller.find(f"{UBL}StreetName").text, seller.find(f"{UBL}CityName").text) == ("Kerkstraat 1", "Gent")
    assert xml.find(f".//{CAC}PayeeFinancialAccount/{UBL}ID").text == other_account
    embedded = xml.find(f".//{CAC}AdditionalDocumentReference/{CAC}Attachment/{UBL}EmbeddedDocumentBinaryObject")
    assert embedded.get("filename") == "factuur-W1.pdf"
    assert base64.b64decode(embedded.text) == pdf

    note = uploads["2026/C/1"]
    assert (note["filename"], note["pdf"], note["has_pdf"]) == ("2026-C-1.xml", None, False)
    facts = read_facts(note["xml"])
    assert (facts.kind, facts.billing_reference) == ("credit_note", "2026/W/1")
    assert ET.fromstring(note["xml"]).find(f".//{CAC}AdditionalDocumentReference") is None
    for upload in uploads.values():
        assert validate_ubl(upload["xml"]).errors == []


def test_the_clients_own_ubl_goes_with_its_pdf_under_its_own_name(client, codabox):
    from tests.api.test_client_ubl import body

    key = connect(client, codabox)
    document = this_years_client_ubl()
    pdf = b"%PDF-1.4 the client's own rendering"
    data = body(document)
    data["documents"][0]["filename"] = "eigen-factuur.xml"
    data["documents"].append(
        {"filename": "eigen.pdf", "content_type": "application/pdf", "content_base64": base64.b64encode(pdf).decode()}
    )
    created = client.post(f"/v1/companies/{VAT}/invoices", json=data, headers=key)
    assert created.status_code == 201, created.text
    run_jobs()
    sent = codabox.clients[VAT].uploads["2026/UBL-1"]
    assert (sent["xml"], sent["filename"], sent["pdf"]) == (document, "eigen-factuur.xml", pdf)


def test_a_refusal_fails_that_invoice_only_and_an_outage_is_recorded_and_retried(client, codabox):
    """In one delivery run, in date order: another year's invoice is skipped, an invoice CodaBox refuses fails
    with CodaBox's reason, and the next one, met by an outage, waits with the outage recorded: nothing stops
    the run early, and nothing is lost."""
    key = connect(client, codabox)
    run_jobs()  # the first, empty sync
    today = date.today().isoformat()
    old = with_lines(invoice_body("OLD", issue_date="2020-01-02", due_date="2020-02-01"))
    ids = {}
    for name, body in (("OLD", old), ("A", None), ("B", None)):
        body = body or with_lines(invoice_body(name, issue_date=today, due_date=today))
        ids[name] = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key).json()["id"]
    codabox.inject("upload", "400", 1)
    codabox.inject("upload", "503", 1)
    while outbox.run_due_jobs(owner="test"):  # retries wait 30 s: only the first attempt of each runs here
        pass

    def delivery(name: str) -> dict:
        return client.get(f"/v1/companies/{VAT}/invoices/{ids[name]}", headers=key).json()["delivery"]

    assert delivery("OLD")["status"] == "disabled"
    refused = delivery("A")
    assert (refused["status"], refused["attempts"]) == ("failed", 1)
    assert refused["last_error"].startswith("CodaBox refused POST")
    assert "(400): Invalid document: unknown buyer" in refused["last_error"]
    waiting = delivery("B")
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert waiting["last_error"].startswith("CodaBox answered 503 to POST")
    assert [a["id"] for a in codabox.clients[VAT].attempts] == []  # neither reached CodaBox's store
    assert codabox.clients[VAT].uploads == {}


def test_a_statement_uploaded_before_counts_as_a_duplicate_when_the_feed_brings_it(client, codabox):
    """Issue 41: the CodaBox status says what the API says of the same file, a duplicate, not an ingestion."""
    key = connect(client, codabox)
    run_jobs()
    [index] = seed(codabox, 1)
    [entry] = [e for e in codabox.clients[VAT].entries if e["feed_index"] == index]
    uploaded = client.post(f"/v1/companies/{VAT}/statements", content=entry["coda"], headers=key)
    assert uploaded.status_code == 201, uploaded.text
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    run_jobs(10)
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert (status["statements_ingested"], status["statements_duplicate"]) == (0, 1)
    assert [(e.feed_index, e.status) for e in feed_entries()] == [(index, "duplicate")]
