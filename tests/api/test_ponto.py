"""Ponto Connect end to end against the stand-in: connect (OAuth2 + PKCE), a booked transaction pays its
invoice the same day, the same payment in a later CODA file is counted once (and the other way round), a
pending payment shows and settles when booked, and the faults: set-aside items, Ponto down, revocation, consent."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from app.core.crypto import decrypt
from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.ponto.models import PontoConnection
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, VAT, invoice_body
from tests.ponto_support import (
    OGM,
    PAYER_IBAN,
    booked,
    browse,
    callback,
    configured,
    connect,
    invariants_hold,
    run_jobs,
    sync,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(monkeypatch):
    with configured(monkeypatch) as found:
        yield found


def _invoice(client, key, ogm: str = OGM, total: str = "121.00", external_id: str = "INV-1") -> dict:
    answer = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(external_id, total, structured_reference=ogm), headers=key
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _read(client, key, invoice_id: str) -> dict:
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice_id}", headers=key).json()


def _events(kind: str) -> list[Event]:
    with unit_of_work(read_only=True) as session:
        return list(session.exec(select(Event).where(Event.type == kind).order_by(Event.created_at)))


def _coda(*movements: MovementSpec, day: date = date(2026, 12, 8), sequence: int = 1, opening: str = "0") -> bytes:
    from decimal import Decimal

    return write_coda([StatementSpec(IBAN, day, Decimal(opening), list(movements), sequence=sequence)])


def _the_payment_in_coda(amount: str = "121.00") -> MovementSpec:
    from decimal import Decimal

    return MovementSpec(Decimal(amount), ogm=OGM, counterparty_name="KLANT NV", counterparty_iban=PAYER_IBAN)


def _upload(client, key, data: bytes) -> dict:
    answer = client.post(f"/v1/companies/{VAT}/statements", files={"file": ("s.cod", data)}, headers=key)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_the_authorization_link_is_pkce_and_single_use(client, world):
    from tests.helpers import make_company, make_key

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    world.state.add_organization("Demo BV", [{"iban": IBAN}])
    link = client.post(f"/v1/companies/{VAT}/ponto/authorization", headers=key)
    assert link.status_code == 201, link.text
    query = parse_qs(urlsplit(link.json()["authorization_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["response_type"] == ["code"] and "offline_access" in query["scope"][0].split()
    assert link.json()["status"]["state"] == "authorizing"
    location = browse(link.json()["authorization_url"])
    assert callback(client, location).status_code == 200
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["state"] == "connected" and status["organization_name"] == "Demo BV"
    # The same callback again (a replay, a double click) is refused: the state was single-use.
    again = callback(client, location)
    assert again.status_code == 400 and "unknown or was used" in again.text
    # A forged state names no company.
    assert client.get("/v1/ponto/callback?state=forged&code=x").status_code == 400
    # The tokens are kept encrypted, never as they are.
    with unit_of_work(read_only=True) as session:
        conn = session.get(PontoConnection, status_and_id(client, key))
        assert conn is not None and conn.refresh_token_encrypted
        assert decrypt(conn.refresh_token_encrypted) not in conn.refresh_token_encrypted


def status_and_id(client, key) -> str:
    return client.get(f"/v1/companies/{VAT}", headers=key).json()["id"]


def test_a_refused_authorization_says_so_and_leaves_the_company_unconnected(client, world):
    from tests.helpers import make_company, make_key

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    link = client.post(f"/v1/companies/{VAT}/ponto/authorization", headers=key).json()
    state = parse_qs(urlsplit(link["authorization_url"]).query)["state"][0]
    refused = client.get(f"/v1/ponto/callback?state={state}&error=access_denied&error_description=user+said+no")
    assert refused.status_code == 400 and "access_denied" in refused.text
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["state"] == "not_connected" and "access_denied" in status["last_error"]


def test_a_ponto_payment_pays_its_invoice_then_its_coda_twin_is_counted_once(client, world):
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    tx_id = booked(world, account)
    status = sync(client, key)
    assert status["transactions_stored"] == 1 and status["accounts"][0]["iban"] == IBAN
    paid = _read(client, key, invoice["id"])
    assert (paid["status"], paid["amount_paid"], paid["paid_at"]) == ("paid", "121.00", "2026-12-08")
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert tx["bank_reference"] == tx_id and tx["booking_date"] == "2026-12-08"
    [statement] = client.get(f"/v1/companies/{VAT}/statements", headers=key).json()["items"]
    assert statement["sequence"] == -1
    # The next day the bank's CODA file brings the same payment and one more.
    from decimal import Decimal

    other = MovementSpec(Decimal("10.00"), communication="something else", counterparty_iban="BE68539007547034")
    report = _upload(client, key, _coda(_the_payment_in_coda(), other))
    assert report["movements_known"] == 1 and report["transactions_created"] == 1
    again = _read(client, key, invoice["id"])
    assert (again["status"], again["amount_paid"], len(again["allocations"])) == ("paid", "121.00", 1)
    assert len(client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]) == 2
    # And the same Ponto read again changes nothing.
    assert sync(client, key)["transactions_stored"] == 1
    invariants_hold()


def test_a_coda_payment_then_its_ponto_twin_is_counted_once(client, world):
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    report = _upload(client, key, _coda(_the_payment_in_coda()))
    assert report["transactions_created"] == 1
    assert _read(client, key, invoice["id"])["status"] == "paid"
    booked(world, account)
    status = sync(client, key)
    assert (status["transactions_stored"], status["transactions_known"]) == (0, 1)
    assert len(client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]) == 1
    assert _read(client, key, invoice["id"])["amount_paid"] == "121.00"
    invariants_hold()


def test_two_look_alike_payments_are_not_folded_into_one(client, world):
    """Same day, same amount, different payers: two payments, whichever source brought each."""
    key, account = connect(client, world)
    booked(
        world,
        account,
        "50.00",
        remittance_information="first",
        remittance_information_type="unstructured",
        counterpart_reference="BE68539007547034",
    )
    sync(client, key)
    from decimal import Decimal

    other = MovementSpec(Decimal("50.00"), communication="second", counterparty_iban=PAYER_IBAN)
    report = _upload(client, key, _coda(other))
    assert (report["movements_known"], report["transactions_created"]) == (0, 1)


def test_a_pending_payment_shows_then_settles_when_booked(client, world):
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    pending_id = booked(world, account, pending=True)
    status = sync(client, key)
    assert status["pending_payments"] == 1 and status["transactions_stored"] == 0
    shown = _read(client, key, invoice["id"])
    assert (shown["status"], shown["pending_amount"], shown["amount_paid"]) == ("open", "121.00", "0.00")
    # A poller by change sees it: the money on its way is a change of the invoice.
    assert shown["updated_at"] > invoice["updated_at"]
    changed = client.get(f"/v1/companies/{VAT}/invoices", params={"updated_since": invoice["updated_at"]}, headers=key)
    assert [i["id"] for i in changed.json()["items"]] == [invoice["id"]]
    [event] = _events("invoice.payment_pending")
    assert event.payload["data"]["pending_amount"] == "121.00" and event.subject_id == invoice["id"]
    summary = client.get(f"/v1/companies/{VAT}/summary", headers=key).json()
    assert summary["pending"] == {"count": 1, "amount": "121.00"} and summary["open"]["amount"] == "121.00"
    # Seen again: nothing new.
    sync(client, key)
    assert len(_events("invoice.payment_pending")) == 1
    world.state.book_pending(pending_id)
    status = sync(client, key)
    assert status["pending_payments"] == 0 and status["transactions_stored"] == 1
    settled = _read(client, key, invoice["id"])
    assert (settled["status"], settled["pending_amount"], settled["amount_paid"]) == ("paid", "0.00", "121.00")
    assert client.get(f"/v1/companies/{VAT}/summary", headers=key).json()["pending"] == {"count": 0, "amount": "0.00"}
    invariants_hold()


def test_a_pending_payment_booked_in_a_coda_file_settles_too(client, world):
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    booked(world, account, pending=True)
    sync(client, key)
    assert _read(client, key, invoice["id"])["pending_amount"] == "121.00"
    _upload(client, key, _coda(_the_payment_in_coda()))
    settled = _read(client, key, invoice["id"])
    assert (settled["status"], settled["pending_amount"]) == ("paid", "0.00")


def test_a_pending_payment_never_booked_expires(client, world):
    from app.core.timeutil import utcnow
    from app.ponto.pending_feed import expire_pending
    from app.statements.models import PendingPayment

    key, account = connect(client, world)
    invoice = _invoice(client, key)
    booked(world, account, pending=True)
    sync(client, key)
    expire_pending()  # not due yet: nothing changes
    assert _read(client, key, invoice["id"])["pending_amount"] == "121.00"
    with unit_of_work() as session:
        for pending in session.exec(select(PendingPayment)):
            pending.expires_at = utcnow()
            session.add(pending)
    expire_pending()
    shown = _read(client, key, invoice["id"])
    assert (shown["status"], shown["pending_amount"]) == ("open", "0.00")
    [event] = _events("invoice.pending_expired")
    assert event.payload["change"]["pending_payment"]["state"] == "expired"


def test_an_unreadable_transaction_is_set_aside_and_the_feed_goes_on(client, world):
    from app.core import metrics

    aside_before = metrics.PONTO_TRANSACTIONS.labels("set_aside")._value.get()
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    bad = booked(world, account, "1.00", raw={"amount": "12,5"})
    late = booked(world, account, "2.00", raw={"executionDate": "yesterday"})
    booked(world, account)
    status = sync(client, key)
    assert (status["transactions_stored"], status["transactions_set_aside"]) == (1, 2)
    reasons = {item["ponto_transaction_id"]: item["reason"] for item in status["set_aside"]}
    assert "amount" in reasons[bad] and "12,5" in reasons[bad]
    assert "executionDate" in reasons[late]
    assert metrics.PONTO_TRANSACTIONS.labels("set_aside")._value.get() == aside_before + 2
    assert _read(client, key, invoice["id"])["status"] == "paid"
    # Never read again, never blocking what follows.
    booked(world, account, "3.00", remittance_information="later", remittance_information_type="unstructured")
    status = sync(client, key)
    assert (status["transactions_stored"], status["transactions_set_aside"]) == (2, 2)


def test_new_transactions_are_read_by_position_from_the_last_one_not_by_date(client, world):
    key, account = connect(client, world)
    for n in range(130):  # more than one page of 100
        booked(
            world, account, f"{n + 1}.00", remittance_information=f"n{n}", remittance_information_type="unstructured"
        )
    assert sync(client, key)["transactions_stored"] == 130
    # A late booking dated days back, then a normal one: both new, whatever their dates.
    booked(
        world,
        account,
        "7.77",
        execution_date="2026-11-20",
        remittance_information="late",
        remittance_information_type="unstructured",
    )
    booked(world, account, "8.88", remittance_information="new", remittance_information_type="unstructured")
    assert sync(client, key)["transactions_stored"] == 132
    reads = [r for r in world.state.request_log() if r["path"].endswith("/transactions")]
    last = reads[-1]["query"]
    assert "page[before]" in last or "before" in last, reads[-1]
    assert all(int(r["query"].get("page[limit]", "100")) <= 100 for r in reads)


def test_the_refresh_token_rotates_and_the_new_one_is_kept(client, world):
    key, _ = connect(client, world)
    company_id = status_and_id(client, key)
    with unit_of_work() as session:
        conn = session.get(PontoConnection, company_id)
        first = decrypt(conn.refresh_token_encrypted)
        conn.access_token_expires_at = None  # spent: the next call refreshes
        session.add(conn)
    sync(client, key)
    with unit_of_work(read_only=True) as session:
        second = decrypt(session.get(PontoConnection, company_id).refresh_token_encrypted)
    assert second != first
    # Ponto refuses the spent one: had we not kept the new one, the company would be cut off.
    spent = httpx.post(
        f"{world.api}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": first, "client_id": world.state.client_id},
        auth=(world.state.client_id, world.state.client_secret),
        timeout=5,
    )
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"


def test_a_revoked_integration_stops_the_feed_with_a_clear_state(client, world):
    key, account = connect(client, world)
    company_id = status_and_id(client, key)
    org = world.state.accounts[account].organization_id
    world.state.revoke_integration(org)
    with unit_of_work() as session:  # the access token runs out: the refresh is refused
        conn = session.get(PontoConnection, company_id)
        conn.access_token_expires_at = None
        session.add(conn)
    client.post(f"/v1/companies/{VAT}/ponto/sync", headers=key)
    run_jobs()
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["state"] == "revoked" and "refresh token" in status["revoked_reason"]
    assert status["accounts"][0]["state"] == "revoked"
    [event] = _events("account.revoked")
    assert event.payload["data"]["iban"] == IBAN
    assert client.post(f"/v1/companies/{VAT}/ponto/sync", headers=key).status_code == 409


def test_consent_nearing_its_end_gets_a_renewal_link_and_an_event(client, world):
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    key, _ = connect(client, world, authorization_expires_at=soon)
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    [acc] = status["accounts"]
    assert acc["consent_expiring"] and acc["reauthorization_url"]
    [event] = _events("consent.expiring")
    assert event.payload["change"]["reauthorization_url"] == acc["reauthorization_url"]
    # The company's person sees it on the review page, with the link.
    from tests.api.test_review_page import sign_in_with

    client.cookies.set("codarecon_lang", "en")
    sign_in_with(client, key["Authorization"].removeprefix("Bearer "))
    page = client.get("/ui/").text
    assert "access to account BE80 0010 0000 0177 ends on" in page
    assert f'href="{acc["reauthorization_url"]}"' in page
    # Seen again: no second event for the same consent end.
    sync(client, key)
    assert len(_events("consent.expiring")) == 1
    # The user renews it; the next sync sees the new end and drops the spent link.
    renewed = httpx.get(acc["reauthorization_url"], follow_redirects=False, timeout=5)
    assert renewed.status_code == 302
    [acc] = sync(client, key)["accounts"]
    assert not acc["consent_expiring"] and acc["reauthorization_url"] is None


def test_a_lapsed_consent_stops_that_account(client, world):
    from datetime import UTC, datetime, timedelta

    key, account = connect(client, world)
    world.state.set_consent(account, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    booked(world, account)
    [acc] = sync(client, key)["accounts"]
    assert acc["state"] == "consent_expired"
    assert client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"] == []
    # The user renews it through the link: the account is read again, and what waited comes in.
    renewal = client.post(f"/v1/companies/{VAT}/ponto/reauthorization", headers=key)
    assert renewal.status_code == 200, renewal.text
    url = renewal.json()["accounts"][0]["reauthorization_url"]
    assert httpx.get(url, follow_redirects=False, timeout=5).status_code == 302
    [acc] = sync(client, key)["accounts"]
    assert (acc["state"], acc["reauthorization_url"]) == ("active", None)
    assert len(client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]) == 1


def test_a_consent_the_bank_refuses_stays_refused_until_renewed(client, world):
    key, account = connect(client, world)
    world.state.set_consent(account, revoked=True)  # the bank says no, whatever the expected end date
    [acc] = sync(client, key)["accounts"]
    assert acc["state"] == "consent_expired" and "authorizationInvalid" in acc["last_error"]
    [acc] = sync(client, key)["accounts"]
    assert acc["state"] == "consent_expired"  # not flipped back by a date that did not change
    world.state.set_consent(account, revoked=False)
    org = world.state.accounts[account].organization_id
    body, headers = world.state.signed_webhook(
        "pontoConnect.account.reauthorized", {}, {"account": account, "organization": org}
    )
    assert client.post("/v1/webhooks/ponto", content=body, headers=headers).status_code == 202
    run_jobs()
    [acc] = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()["accounts"]
    assert (acc["state"], acc["last_error"]) == ("active", None)


def test_ponto_down_is_retried_and_said(client, world):
    key, account = connect(client, world)
    booked(world, account)
    world.state.inject("accounts", "503", count=1)
    client.post(f"/v1/companies/{VAT}/ponto/sync", headers=key)
    from app.core import outbox

    outbox.run_due_jobs(owner="test", base_delay=0.0)
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert "503" in (status["last_error"] or "") and status["transactions_stored"] == 0
    run_jobs()  # the retry
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["transactions_stored"] == 1 and status["last_error"] is None


def test_a_webhook_reads_what_ponto_has_and_a_forged_one_is_refused(client, world):
    key, account = connect(client, world)
    booked(world, account)
    # Ponto synchronized by itself (its schedule): the transaction is there, the webhook says so.
    org = world.state.accounts[account].organization_id
    token = world.state.issue_token(org)["access_token"]
    made = httpx.post(
        f"{world.api}/synchronizations",
        json={
            "data": {
                "type": "synchronization",
                "attributes": {"resourceType": "account", "resourceId": account, "subtype": "accountTransactions"},
            }
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert made.status_code == 201, made.text
    world.state.complete_synchronizations()
    before = len([r for r in world.state.request_log() if r["method"] == "POST"])
    body, headers = world.state.signed_webhook(
        "pontoConnect.account.transactionsCreated",
        {"count": 1},
        {"account": account, "organization": org, "synchronization": made.json()["data"]["id"]},
    )
    assert client.post("/v1/webhooks/ponto", content=body + b" ", headers=headers).status_code == 401  # digest
    accepted = client.post("/v1/webhooks/ponto", content=body, headers=headers)
    assert accepted.status_code == 202 and accepted.json()["status"] == "accepted"
    assert client.post("/v1/webhooks/ponto", content=body, headers=headers).json()["status"] == "duplicate"
    run_jobs()
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["transactions_stored"] == 1
    # A webhook's job reads; it does not ask Ponto to synchronize again.
    posts = [r for r in world.state.request_log() if r["method"] == "POST"][before:]
    assert not [r for r in posts if r["path"].endswith("/synchronizations")]
    unsigned = client.post("/v1/webhooks/ponto", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401


def test_a_revoked_integration_webhook_revokes_the_connection(client, world):
    key, account = connect(client, world)
    org = world.state.accounts[account].organization_id
    body, headers = world.state.signed_webhook("pontoConnect.integration.revoked", {}, {"organization": org})
    assert client.post("/v1/webhooks/ponto", content=body, headers=headers).status_code == 202
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert status["state"] == "revoked" and status["accounts"][0]["state"] == "revoked"
    from tests.api.test_review_page import sign_in_with

    client.cookies.set("codarecon_lang", "nl")
    sign_in_with(client, key["Authorization"].removeprefix("Bearer "))
    assert "De koppeling met Ponto is ingetrokken" in client.get("/ui/").text


def test_a_ponto_batch_cannot_be_uploaded(client, world):
    from datetime import UTC, datetime

    from app.statements.ponto_reader import batch_bytes
    from tests.helpers import make_company, make_key

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    account = {"type": "account", "id": "a", "attributes": {"reference": IBAN, "currency": "EUR"}}
    data = batch_bytes(account, 1, datetime.now(UTC), [])
    answer = client.post(f"/v1/companies/{VAT}/statements", files={"file": ("p.json", data)}, headers=key)
    assert answer.status_code == 422 and "Ponto" in answer.json()["detail"]


def test_a_transaction_ponto_changes_later_is_upserted_and_matched_again(client, world):
    """Ponto first shows the transfer without its communication; a later synchronization fills it in."""
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    tx_id = booked(
        world,
        account,
        remittance_information=None,
        remittance_information_type=None,
        counterpart_reference="BE68539007547034",
    )
    sync(client, key)
    assert _read(client, key, invoice["id"])["status"] == "open"
    world.state.update_transaction(tx_id, {"remittance_information": OGM, "remittance_information_type": "structured"})
    status = sync(client, key)
    assert status["transactions_stored"] == 1  # the same transaction, not a second one
    paid = _read(client, key, invoice["id"])
    assert (paid["status"], paid["amount_paid"]) == ("paid", "121.00")
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert tx["bank_reference"] == tx_id and tx["structured_reference"] == OGM
    # A change of money is not taken: what was booked stays.
    world.state.update_transaction(tx_id, {"amount": "99.00"})
    sync(client, key)
    assert _read(client, key, invoice["id"])["amount_paid"] == "121.00"
    invariants_hold()


def test_a_batch_of_another_companys_account_stores_nothing_and_says_why(client, world):
    from tests.helpers import OTHER_VAT, make_company

    make_company(client, vat=OTHER_VAT, name="Other BV", accounts=["BE68539007547034"])
    key, account = connect(client, world)
    # The company's user also let Ponto read an account registered to another company.
    org = world.state.accounts[account].organization_id
    other = world.state.add_organization("Other BV", [{"iban": "BE68539007547034"}])["accounts"][0]["id"]
    world.state.accounts[other].organization_id = org
    world.state.organizations[org].account_ids.append(other)
    booked(world, other, "5.00", remittance_information="x", remittance_information_type="unstructured")
    booked(world, account)
    client.post(f"/v1/companies/{VAT}/ponto/sync", headers=key)
    from app.core import outbox

    outbox.run_due_jobs(owner="test", base_delay=0.0)
    status = client.get(f"/v1/companies/{VAT}/ponto", headers=key).json()
    assert "another company" in status["last_error"]
    from app.statements.models import BankTransaction, Statement

    with unit_of_work(read_only=True) as session:
        # The company's own account's batch went in; nothing of the other account's, at either company.
        assert [st.account_iban for st in session.exec(select(Statement))] == [IBAN]
        assert len(list(session.exec(select(BankTransaction)))) == 1
    assert status["transactions_stored"] == 1 and status["transactions_set_aside"] == 0


def test_a_pending_payment_with_the_ogm_typed_as_free_text_shows_too(client, world):
    key, account = connect(client, world)
    invoice = _invoice(client, key)
    booked(
        world,
        account,
        pending=True,
        remittance_information="factuur 2026/1 OGM 090/9337/55493 bedankt",
        remittance_information_type="unstructured",
    )
    sync(client, key)
    assert _read(client, key, invoice["id"])["pending_amount"] == "121.00"


def test_a_persons_sync_request_is_not_lost_in_a_webhooks_read_waiting(client, world):
    """A webhook queues a read (no synchronization); "sync now" meets that job waiting: the run synchronizes."""
    key, account = connect(client, world)
    booked(world, account)  # at the bank: Ponto shows it only after a synchronization
    org = world.state.accounts[account].organization_id
    body, headers = world.state.signed_webhook(
        "pontoConnect.account.pendingTransactionsUpdated", {"count": 0}, {"account": account, "organization": org}
    )
    assert client.post("/v1/webhooks/ponto", content=body, headers=headers).status_code == 202
    status = sync(client, key)  # POST .../sync while the webhook's job waits, then the jobs run
    assert status["transactions_stored"] == 1
