"""CodaBox as its API really answers (docs/codabox.md): pod-client without VAT numbers, allowed_formats per
document model, feeds with other document models, fetch_delay; the binding checked on each statement's holder;
upload answers. The client is also run against answers written from the public examples' field names."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import func, select

from app.codabox import connection
from app.codabox.client import (
    CodaboxClient,
    Credentials,
    DuplicateDocumentError,
    PermanentCodaboxError,
)
from app.codabox.models import CodaboxConnection
from app.core import metrics
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.outbox_models import Event, Job
from app.statements.models import BankTransaction, Statement, StatementFile
from tests.coda_builders import payment_file
from tests.codabox_support import connect, feed_entries, run_jobs, seed, signed, statement_count
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, make_company, make_key

SOFTWARE = "00000000-0000-4000-8000-000000000000"
CREDS = Credentials("cb-user", "cb-password")

# Answers shaped as the public examples of CodaBox API v2 show them (field names and types; values are ours).
POD_CLIENT = {
    "id": 66,
    "fetch_delay": 7200,
    "allowed_formats": {
        "expense": ["pdf", "xml"],
        "soda": ["pdf", "xml"],
        "purchase_invoice": ["pdf", "xml"],
        "sales_invoice": ["pdf", "xml"],
        "coda": ["cod", "pdf", "xml"],
    },
    "feed_clients": [
        {
            "id": 311,
            "client_id": "0c6b1f34-5f0e-4a8e-9a51-3f2d0f7f2a10",
            "client_name": "Demo BV",
            "client_code": "7f1d2a44-0e4b-4d55-b7a7-2b3f9f0c1d22",
            "fiduciary_id": "5b8e7a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c",
            "target_root_state": "default",
            "delivery_config": None,
        }
    ],
}
FEED = {
    "id": 311,
    "type": "download",
    "feed_entries": [
        {
            "feed_index": "a1f0c3d2-7b6e-4c5d-9e8f-112233445566",
            "document_model": "coda",
            "metadata": {
                "movement_count": 1,
                "first_statement_number": 1,
                "last_statement_number": 1,
                "new_balance_date": "2026-11-20",
                "bank_id": "GEBABEBB",
                "currency": "EUR",
                "iban": IBAN,
                "extension_zone": "Ab1",
            },
        },
        {"feed_index": "b2e1d4c3-8c7f-4d6e-af90-223344556677", "document_model": "purchase_invoice", "metadata": {}},
    ],
}


def real_shaped_codabox(calls: list[str]) -> httpx.MockTransport:
    """CodaBox answering with the public examples' shapes: no VAT number anywhere."""
    coda = payment_file(("10.00", None), holder=VAT)

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2/")
        calls.append(f"{request.method} {path}")
        if path.startswith("get-credentials/"):
            return httpx.Response(200, json={"username": CREDS.username, "password": CREDS.password})
        if path == "delivery/pod-client/":
            return httpx.Response(200, json=POD_CLIENT)
        if path == "delivery/feed/311/" and request.method == "GET":
            return httpx.Response(200, json=FEED)
        if path == "delivery/feed/311/" and request.method == "PUT":
            return httpx.Response(200, json=json.loads(request.content))
        if path.startswith("delivery/download/a1f0c3d2-7b6e-4c5d-9e8f-112233445566/cod/"):
            return httpx.Response(200, content=coda)
        return httpx.Response(404, json={"detail": "Not found."})

    return httpx.MockTransport(handle)


def test_the_client_reads_pod_client_and_the_feed_as_the_public_examples_give_them():
    calls: list[str] = []
    with CodaboxClient("https://api.example/v2/", SOFTWARE, transport=real_shaped_codabox(calls)) as cb:
        pod = cb.pod_client(CREDS)
        entries = cb.feed(CREDS, pod.feed_ids[0])
    assert (pod.id, pod.fetch_delay, pod.feed_ids) == ("66", 7200, ["311"])
    assert [(c.name, c.code) for c in pod.feed_clients] == [("Demo BV", "7f1d2a44-0e4b-4d55-b7a7-2b3f9f0c1d22")]
    assert pod.allowed_formats["coda"] == ["cod", "pdf", "xml"]  # per document model, not the models' names
    assert pod.statement_format("xml") == "xml" and pod.statement_format("cod") == "cod"
    assert [(e.document_model, e.metadata.get("iban")) for e in entries] == [("coda", IBAN), ("purchase_invoice", None)]


def test_xml_is_chosen_only_where_codabox_offers_it_for_bank_statements():
    from app.codabox.client import PodClient

    offered_elsewhere = PodClient("1", 7200, {"coda": ["cod", "pdf"], "soda": ["pdf", "xml"]}, [])
    assert offered_elsewhere.statement_format("xml") == "cod"


def test_connecting_with_real_shaped_answers_stores_the_credentials(client, monkeypatch):
    """The binding of the last version looked for a VAT number in feed_clients and refused (409) every real
    answer, which has none; connecting now stores the credentials and names CodaBox's client."""
    settings = get_settings()
    for name, value in {
        "codabox_enabled": True,
        "codabox_base_url": "https://api.example/v2/",
        "codabox_software_company": SOFTWARE,
    }.items():
        monkeypatch.setattr(settings, name, value)
    calls: list[str] = []
    monkeypatch.setattr(connection, "transport", real_shaped_codabox(calls))
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    response = client.post(f"/v1/companies/{VAT}/codabox/credentials", json={"token": "one-time"}, headers=key)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["state"] == "connected"
    assert status["clients"] == [{"id": "311", "name": "Demo BV", "code": "7f1d2a44-0e4b-4d55-b7a7-2b3f9f0c1d22"}]
    assert (status["warnings"], status["fetch_delay"], status["statement_format"]) == ([], 7200, "cod")
    with unit_of_work() as session:
        stored = session.exec(select(CodaboxConnection)).one()
    assert stored.username == CREDS.username and CREDS.password not in (stored.password_encrypted or "")


def test_the_stand_in_answers_in_the_real_shapes(client, codabox):
    with httpx.Client(base_url=get_settings().codabox_base_url, headers={"X-Software-Company": SOFTWARE}) as http:
        http.post("request-access-token/invoicing-software/", json={"vat": VAT}).raise_for_status()
        creds = http.get(f"get-credentials/{codabox.last_token[VAT]}/").json()
        auth = (creds["username"], creds["password"])
        codabox.add_document(VAT, "soda", b"<soda/>")
        pod = http.get("delivery/pod-client/", auth=auth).json()
        feed = http.get(f"delivery/feed/{pod['feed_clients'][0]['id']}/", auth=auth).json()
    assert isinstance(pod["id"], int) and isinstance(pod["feed_clients"][0]["id"], int)
    assert set(pod["feed_clients"][0]) == {
        "id",
        "client_id",
        "client_name",
        "client_code",
        "fiduciary_id",
        "target_root_state",
        "delivery_config",
    }
    assert isinstance(pod["allowed_formats"], dict) and "cod" in pod["allowed_formats"]["coda"]
    assert not [key for key in json.dumps(pod).lower().split('"') if "vat" in key or "enterprise" in key]
    assert feed["type"] == "download" and feed["feed_entries"][0]["document_model"] == "soda"


def entry_counts() -> dict[str, float]:
    return {
        outcome: metrics.CODABOX_ENTRIES.labels(outcome)._value.get()
        for outcome in ("ingested", "failed", "skipped", "foreign")
    }


def test_entries_that_are_not_bank_statements_are_recorded_shown_and_counted(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    before = entry_counts()
    soda = codabox.add_document(VAT, "soda", b"<soda/>")
    [coda] = seed(codabox, 1)
    invoice = codabox.add_document(VAT, "purchase_invoice", b"%PDF-1.7")
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()
    entries = {e.feed_index: e for e in feed_entries()}
    assert [(entries[i].status, entries[i].document_model) for i in (soda, coda, invoice)] == [
        ("skipped", "soda"),
        ("ingested", "coda"),
        ("skipped", "purchase_invoice"),
    ]
    assert codabox.clients[VAT].offset == invoice  # past every entry, each stored or recorded
    assert soda not in codabox.clients[VAT].downloads and invoice not in codabox.clients[VAT].downloads
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert status["entries_skipped"] == 2
    shown = {e["feed_index"]: e for e in status["entries_set_aside"]}
    assert shown[soda]["outcome"] == "skipped" and "'soda' is not a bank statement" in shown[soda]["reason"]
    after = entry_counts()
    assert (after["skipped"] - before["skipped"], after["ingested"] - before["ingested"]) == (2, 1)
    # The feed delivered again: each entry was settled once, and is counted once.
    codabox.clients[VAT].offset = None
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()
    assert entry_counts() == after


def test_a_download_that_is_neither_coda_nor_camt_is_refused_and_recorded(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    codaplus = codabox.add_coda(VAT, b'<?xml version="1.0"?><CODAPlus><Statement/></CODAPlus>')
    pdf = codabox.add_coda(VAT, b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n")
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()
    entries = {e.feed_index: e for e in feed_entries()}
    assert entries[codaplus].status == entries[pdf].status == "failed"
    assert "camt.053" in entries[codaplus].last_error and "CODA" in entries[pdf].last_error
    assert statement_count() == 0 and codabox.clients[VAT].offset == pdf


def holder_spec(holder: str | None, account: str = IBAN, day: date = date(2026, 11, 20)):
    from app.statements.coda_writer import MovementSpec, StatementSpec

    movement = MovementSpec(Decimal("25.00"), communication="x", counterparty_name="KLANT NV")
    return StatementSpec(account, day, Decimal(0), [movement], holder_number=holder)


@pytest.mark.parametrize("fmt", ["cod", "xml"])
def test_a_statement_of_another_enterprise_is_kept_aside_and_stops_the_connection(client, codabox, monkeypatch, fmt):
    from app.statements.camt_writer import write_camt
    from app.statements.coda_writer import write_coda

    monkeypatch.setattr(get_settings(), "codabox_statement_format", fmt)
    key = connect(client, codabox)
    run_jobs()
    # The account is not registered to anyone: only the holder number gives the file away.
    spec = holder_spec(OTHER_VAT, account="BE68539007547034")
    foreign = codabox.add_coda(VAT, write_coda([spec]), xml=write_camt([spec]))
    mine = holder_spec(VAT)
    own = codabox.add_coda(VAT, write_coda([mine]), xml=write_camt([mine]))
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()

    with unit_of_work() as session:
        stored = [
            session.exec(select(func.count()).select_from(t)).one() for t in (Statement, BankTransaction, StatementFile)
        ]
        events = session.exec(select(Event).where(Event.type == "codabox.mismatch")).all()
    assert stored == [0, 0, 0]  # nothing of the foreign file, and the sync stopped before the next one
    assert own not in codabox.clients[VAT].downloads and codabox.clients[VAT].offset == foreign
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert status["state"] == "mismatch" and OTHER_VAT in status["mismatch"] and foreign in status["mismatch"]
    assert [(e["feed_index"], e["outcome"], e["holder_number"]) for e in status["entries_set_aside"]] == [
        (foreign, "foreign", OTHER_VAT)
    ]
    assert status["statements_foreign"] == 1
    assert [(e.payload["data"]["holder"], e.payload["change"]) for e in events] == [(OTHER_VAT, {"state": "mismatch"})]
    # Syncing waits for an admin: the company cannot, nor can the periodic poll.
    assert client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).status_code == 409
    assert client.post(f"/v1/companies/{VAT}/codabox/resume", headers=key).status_code == 403
    from app.codabox.feed import poll_connected

    poll_connected()
    run_jobs()
    assert statement_count() == 0
    # The admin resumes: the company's own statement comes in, the foreign one is never read again.
    resumed = client.post(f"/v1/companies/{VAT}/codabox/resume", headers=ADMIN)
    assert resumed.status_code == 200 and resumed.json()["state"] == "connected", resumed.text
    run_jobs()
    assert statement_count() == 1 and codabox.clients[VAT].offset == own
    assert codabox.clients[VAT].downloads.count(foreign) == 1
    # CodaBox delivers the whole feed again: the foreign entry is settled, never read (nor refused) again.
    codabox.clients[VAT].offset = None
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()
    assert codabox.clients[VAT].downloads.count(foreign) == 1
    assert client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()["state"] == "connected"


def test_own_and_unnamed_holders_are_read_and_a_new_account_still_says_so(client, codabox):
    from app.statements.coda_writer import write_coda

    key = connect(client, codabox)
    run_jobs()
    codabox.add_coda(VAT, write_coda([holder_spec(VAT)]))
    # No holder number (zeros), on an account not yet registered: the account decides, as for an upload.
    unnamed = holder_spec(None, account="BE68539007547034", day=date(2026, 11, 21))
    codabox.add_coda(VAT, write_coda([unnamed]))
    client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).raise_for_status()
    run_jobs()
    assert statement_count() == 2
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert (status["state"], status["statements_ingested"]) == ("connected", 2)
    with unit_of_work() as session:
        added = session.exec(select(Statement).where(Statement.account_iban == "BE68539007547034")).one()
    assert [w["code"] for w in added.warnings] == ["account_added"]


def test_an_admin_disconnects_and_the_credentials_are_forgotten(client, codabox):
    key = connect(client, codabox)
    run_jobs()
    assert client.delete(f"/v1/companies/{VAT}/codabox", headers=key).status_code == 403
    # Resuming is for a connection stopped by a mismatch, not one that runs.
    assert client.post(f"/v1/companies/{VAT}/codabox/resume", headers=ADMIN).status_code == 409
    gone = client.delete(f"/v1/companies/{VAT}/codabox", headers=ADMIN)
    assert gone.status_code == 200 and gone.json()["state"] == "not_connected"
    with unit_of_work() as session:
        conn = session.exec(select(CodaboxConnection)).one()
    assert (conn.username, conn.password_encrypted) == (None, None)
    assert client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).status_code == 409


def test_fetch_delay_spaces_out_every_poll(client, codabox):
    from app.codabox.feed import SYNC, poll_connected

    codabox.fetch_delay = 7200  # CodaBox's own
    key = connect(client, codabox)
    run_jobs()  # the first sync, right after connecting
    polls = codabox.calls["feed"]
    refused = client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key)
    assert refused.status_code == 429, refused.text
    assert 7190 <= int(refused.headers["Retry-After"]) <= 7200
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = json.dumps({"type": "codabox.sync_requested", "data": {"company_vat": VAT}}).encode()
    relayed = client.post(
        "/v1/webhooks/inbound", content=body, headers=signed(body, get_settings().inbound_webhook_secret, "m1")
    )
    assert relayed.status_code == 429 and relayed.headers["Retry-After"]
    poll_connected()
    with unit_of_work() as session:
        assert session.exec(select(Job).where(Job.kind == SYNC, Job.status == "pending")).all() == []
    status = client.get(f"/v1/companies/{VAT}/codabox", headers=key).json()
    assert status["fetch_delay"] == 7200 and status["next_poll_at"] > status["last_polled_at"]
    assert codabox.calls["feed"] == polls

    # Once the delay has passed, the periodic poll and an on-demand sync both may.
    with unit_of_work() as session:
        conn = session.exec(select(CodaboxConnection)).one()
        conn.last_polled_at -= timedelta(seconds=7200)
        session.add(conn)
    poll_connected()
    run_jobs()
    assert codabox.calls["feed"] == polls + 1
    with unit_of_work() as session:
        conn = session.exec(select(CodaboxConnection)).one()
        conn.last_polled_at -= timedelta(seconds=7200)
        session.add(conn)
    assert client.post(f"/v1/companies/{VAT}/codabox/sync", headers=key).status_code == 202


def upload_answering(status: int, body: dict) -> CodaboxClient:
    return CodaboxClient(
        "https://api.example/v2/",
        SOFTWARE,
        transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)),
    )


def test_only_a_2xx_is_delivered_and_only_a_409_counts_as_already_there():
    def upload(cb: CodaboxClient) -> dict:
        with cb:
            return cb.upload_sales_invoice(CREDS, "sales-invoices/", ubl_xml=b"<Invoice/>", filename="1.xml")

    assert upload(upload_answering(201, {"id": "doc-1"})) == {"id": "doc-1"}
    with pytest.raises(DuplicateDocumentError):
        upload(upload_answering(409, {"detail": "Conflict."}))
    # A refusal that happens to say "already" is a refusal, kept with CodaBox's answer.
    with pytest.raises(PermanentCodaboxError) as refused:
        upload(upload_answering(400, {"detail": "Customer already archived; document refused"}))
    assert not isinstance(refused.value, DuplicateDocumentError)
    assert "400" in str(refused.value) and "already archived" in str(refused.value)
