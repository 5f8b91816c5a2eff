"""The Ponto Connect stand-in (app.ponto.fake) answers as ../shared/ponto-api.md says the real API does: OAuth2
with PKCE and rotating refresh tokens, JSON:API accounts and transactions behind synchronizations, newest-first
cursor paging, the cool-down, pending items, consent and reauthorization, faults, and signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.ponto.fake import FakePontoState, booking_day, create_fake_ponto_app
from app.ponto.signature import KeySet, WebhookSignatureError, verify_webhook

pytestmark = pytest.mark.timeout(30)

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # one key for the module: fast states
CLIENT = ("codarecon-sandbox", "sandbox-secret")
REDIRECT = "https://app.example/ponto/callback"
API = "/ponto-connect"
IBAN = "BE68539007547034"


@pytest.fixture
def state() -> FakePontoState:
    return FakePontoState(signing_key=KEY)


@pytest.fixture
def client(state: FakePontoState) -> Iterator[TestClient]:
    with TestClient(create_fake_ponto_app(state)) as test_client:
        yield test_client


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _auth_params(challenge: str, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT[0],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "offline_access ai name",
    }
    params.update(overrides)
    return params


def _query(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def _token(client: TestClient, **form: str) -> httpx.Response:
    return client.post(f"{API}/oauth2/token", data=form, auth=CLIENT)


def _login(client: TestClient, organization_id: str | None = None) -> dict:
    verifier, challenge = _pkce()
    params = _auth_params(challenge, **({"organization": organization_id} if organization_id else {}))
    location = client.get("/oauth2/auth", params=params, follow_redirects=False).headers["location"]
    code = _query(location)["code"]
    answer = _token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _h(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _org(state: FakePontoState, name: str = "Acme", iban: str = IBAN) -> tuple[str, str]:
    made = state.add_organization(name, [{"iban": iban, "currency": "EUR", "holder_name": name, "balance": "1000.00"}])
    return made["organization_id"], made["accounts"][0]["id"]


def _sync(client: TestClient, headers: dict, account_id: str, subtype: str = "accountTransactions") -> dict:
    body = {
        "data": {
            "type": "synchronization",
            "attributes": {"resourceType": "account", "resourceId": account_id, "subtype": subtype},
        }
    }
    created = client.post(f"{API}/synchronizations", json=body, headers=headers)
    assert created.status_code == 201, created.text
    sync = created.json()["data"]
    for _ in range(10):
        if sync["attributes"]["status"] in ("success", "error"):
            return sync
        sync = client.get(f"{API}/synchronizations/{sync['id']}", headers=headers).json()["data"]
    raise AssertionError(f"synchronization never finished: {sync}")


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def _tx(state: FakePontoState, account_id: str, amount: str = "10.00", day: str = "2026-12-08", **more) -> str:
    return state.add_transaction(account_id, {"amount": amount, "execution_date": day, **more})


# -- discovery and OAuth2 ------------------------------------------------------------------------------------------


def test_discovery_document_of_absolute_uri_templates(client: TestClient) -> None:
    response = client.get(API)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.api+json")
    assert response.headers["ibanity-request-id"]
    links = response.json()["links"]
    assert links["accounts"] == "http://testserver/ponto-connect/accounts/{accountId}"
    assert links["account"]["transactions"].endswith("/accounts/{accountId}/transactions/{transactionId}")
    assert links["account"]["pendingTransactions"].endswith("/pending-transactions/{pendingTransactionId}")
    assert links["account"]["reauthorizationRequests"].endswith("/accounts/{accountId}/reauthorization-requests")
    assert links["synchronizations"].endswith("/synchronizations/{synchronizationId}")
    assert links["synchronization"]["updatedTransactions"].endswith("/{synchronizationId}/updated-transactions")
    assert links["synchronization"]["updatedPendingTransactions"].endswith("/updated-pending-transactions")
    assert links["oauth2"] == {
        "token": "http://testserver/ponto-connect/oauth2/token",
        "revoke": "http://testserver/ponto-connect/oauth2/revoke",
    }
    assert links["userinfo"] == "http://testserver/ponto-connect/userinfo"
    assert "{financialInstitutionId}" in links["financialInstitutions"]


def test_pkce_flow_refuses_a_wrong_verifier_and_rotates_refresh_tokens(client: TestClient, state) -> None:
    organization_id, _ = _org(state)
    verifier, challenge = _pkce()
    redirect = client.get("/oauth2/auth", params=_auth_params(challenge), follow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(REDIRECT + "?")
    query = _query(redirect.headers["location"])
    assert query["state"] == "st-123" and query["code"]

    def exchange(**overrides: str) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT}
        return _token(client, **{**form, "code_verifier": verifier, **overrides})

    wrong = exchange(code_verifier=_pkce()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert exchange(redirect_uri="https://app.example/other").json()["error"] == "invalid_grant"
    bad_secret = client.post(
        f"{API}/oauth2/token", data={"grant_type": "authorization_code"}, auth=(CLIENT[0], "wrong")
    )
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (401, "invalid_client")
    tokens = exchange()
    assert tokens.status_code == 200
    assert tokens.headers["content-type"].startswith("application/json")
    body = tokens.json()
    assert body["expires_in"] == 1799 and body["token_type"] == "bearer" and body["scope"] == "offline_access ai name"
    assert exchange().json()["error"] == "invalid_grant"  # codes are single-use
    assert client.get(f"{API}/userinfo", headers=_h(body)).json()["sub"] == organization_id

    refreshed = _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != body["refresh_token"] and new["access_token"] != body["access_token"]
    reused = _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    again = _token(client, grant_type="refresh_token", refresh_token=new["refresh_token"])
    assert again.status_code == 200
    assert _token(client, grant_type="password").json()["error"] == "unsupported_grant_type"


def test_authorization_errors_follow_rfc_6749(client: TestClient, state) -> None:
    _org(state)
    _, challenge = _pkce()
    unknown_client = client.get("/oauth2/auth", params=_auth_params(challenge, client_id="nobody"))
    assert unknown_client.status_code == 400 and "text/html" in unknown_client.headers["content-type"]
    bad_redirect = client.get("/oauth2/auth", params=_auth_params(challenge, redirect_uri="ftp://x"))
    assert bad_redirect.status_code == 400
    for overrides, error in (
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "offline_access"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ):
        answer = client.get("/oauth2/auth", params=_auth_params(challenge, **overrides), follow_redirects=False)
        assert answer.status_code == 302
        query = _query(answer.headers["location"])
        assert (query["error"], query["state"]) == (error, "st-123") and query["error_description"]
    verifier, challenge = _pkce()
    location = client.get("/oauth2/auth", params=_auth_params(challenge), follow_redirects=False).headers["location"]
    state.advance(601)  # codes live 10 minutes
    late = _token(
        client,
        grant_type="authorization_code",
        code=_query(location)["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")


def test_authorization_picks_the_named_then_the_chosen_then_the_latest_organization(client: TestClient, state) -> None:
    first, _ = _org(state, "First", "BE71096123456769")
    second, _ = _org(state, "Second", "BE68539007547034")
    assert client.get(f"{API}/userinfo", headers=_h(_login(client))).json()["sub"] == second
    assert client.get(f"{API}/userinfo", headers=_h(_login(client, first))).json()["sub"] == first
    assert client.post("/_fake/next-authorization", json={"organization_id": first}).status_code == 200
    userinfo = client.get(f"{API}/userinfo", headers=_h(_login(client))).json()
    assert userinfo["sub"] == first and userinfo["name"] == "First"


def test_tokens_without_offline_access_or_from_client_credentials_have_no_refresh_token(client, state) -> None:
    _org(state)
    verifier, challenge = _pkce()
    location = client.get("/oauth2/auth", params=_auth_params(challenge, scope="ai"), follow_redirects=False).headers[
        "location"
    ]
    code = _query(location)["code"]
    tokens = _token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert "refresh_token" not in tokens.json()
    client_tokens = _token(client, grant_type="client_credentials").json()
    assert "refresh_token" not in client_tokens and client_tokens["expires_in"] == 1799


def test_user_routes_answer_401_invalid_access_token(client: TestClient, state) -> None:
    _, account_id = _org(state)
    tokens = _login(client)
    client_token = _token(client, grant_type="client_credentials").json()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}, _h(client_token)):
        answer = client.get(f"{API}/accounts", headers=headers)
        assert answer.status_code == 401
        error = answer.json()["errors"][0]
        assert error["code"] == "invalidAccessToken"
        assert error["meta"]["requestId"] == answer.headers["ibanity-request-id"]
    assert client.get(f"{API}/accounts/{account_id}", headers=_h(tokens)).status_code == 200
    state.advance(1800)  # access tokens live 1799 s
    assert client.get(f"{API}/accounts", headers=_h(tokens)).status_code == 401
    assert _token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).status_code == 200


# -- accounts and transactions -------------------------------------------------------------------------------------


def test_accounts_of_the_organization_only(client: TestClient, state) -> None:
    _, other_account = _org(state, "Other", "BE71096123456769")
    _, account_id = _org(state)
    headers = _h(_login(client))
    listing = client.get(f"{API}/accounts", headers=headers).json()
    assert [a["id"] for a in listing["data"]] == [account_id]
    account = listing["data"][0]
    attributes = account["attributes"]
    assert attributes["reference"] == IBAN and attributes["referenceType"] == "IBAN"
    assert attributes["currentBalance"] == 1000.0 and isinstance(attributes["availableBalance"], float)
    assert (attributes["subtype"], attributes["currency"], attributes["deprecated"]) == ("checking", "EUR", False)
    authorized = datetime.fromisoformat(attributes["authorizedAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(attributes["authorizationExpirationExpectedAt"].replace("Z", "+00:00"))
    assert expires - authorized == timedelta(days=90)
    assert attributes["authorizedAt"].endswith("Z") and len(attributes["authorizedAt"]) == 24  # .000Z
    assert account["meta"] == {"availability": "available", "synchronizedAt": None, "latestSynchronization": None}
    assert listing["links"]["first"] and listing["meta"]["paging"]["limit"] == 10
    assert client.get(f"{API}/accounts/{other_account}", headers=headers).status_code == 404
    _sync(client, headers, account_id, "accountDetails")
    meta = client.get(f"{API}/accounts/{account_id}", headers=headers).json()["data"]["meta"]
    assert meta["synchronizedAt"] and meta["latestSynchronization"]["attributes"]["status"] == "success"


def test_transactions_are_invisible_until_a_synchronization_succeeds(client: TestClient, state) -> None:
    state.sync_steps = 2
    _, account_id = _org(state)
    headers = _h(_login(client))
    tx_id = _tx(state, account_id, "121.00", remittance_information="+++090/9337/55493+++")
    url = f"{API}/accounts/{account_id}/transactions"
    assert _ids(client.get(url, headers=headers)) == []
    body = {
        "data": {
            "type": "synchronization",
            "attributes": {"resourceType": "account", "resourceId": account_id, "subtype": "accountTransactions"},
        }
    }
    sync = client.post(f"{API}/synchronizations", json=body, headers=headers).json()["data"]
    assert sync["attributes"]["status"] == "pending"
    assert _ids(client.get(url, headers=headers)) == []
    statuses = [
        client.get(f"{API}/synchronizations/{sync['id']}", headers=headers).json()["data"]["attributes"]["status"]
        for _ in range(3)
    ]
    assert statuses == ["running", "success", "success"]
    listing = client.get(url, headers=headers).json()
    assert [t["id"] for t in listing["data"]] == [tx_id]
    item = listing["data"][0]
    assert item["type"] == "transaction"
    assert item["attributes"]["amount"] == 121.0
    assert item["attributes"]["remittanceInformationType"] == "unstructured"
    assert item["relationships"]["account"]["data"] == {"type": "account", "id": account_id}
    assert listing["meta"]["latestSynchronization"]["id"] == sync["id"] and listing["meta"]["synchronizedAt"]
    one = client.get(f"{url}/{tx_id}", headers=headers)
    assert one.status_code == 200 and one.json()["data"]["id"] == tx_id
    updated = client.get(f"{API}/synchronizations/{sync['id']}/updated-transactions", headers=headers)
    assert _ids(updated) == [tx_id]


def test_sync_steps_zero_and_completion_without_polling(client: TestClient, state) -> None:
    state.sync_steps, state.cooldown_seconds = 0, 0
    _, account_id = _org(state)
    headers = _h(_login(client))
    body = {
        "data": {
            "type": "synchronization",
            "attributes": {"resourceType": "account", "resourceId": account_id, "subtype": "accountDetails"},
        }
    }
    created = client.post(f"{API}/synchronizations", json=body, headers=headers).json()["data"]
    assert created["attributes"]["status"] == "success"
    state.sync_steps = 5  # a client that waits for the webhook instead of polling
    _tx(state, account_id)
    body["data"]["attributes"]["subtype"] = "accountTransactions"
    waiting = client.post(f"{API}/synchronizations", json=body, headers=headers).json()["data"]
    assert waiting["attributes"]["status"] == "pending"
    assert client.post("/_fake/synchronizations/complete").json() == {"completed": 1}
    assert len(_ids(client.get(f"{API}/accounts/{account_id}/transactions", headers=headers))) == 1
    assert state.webhook_log()[-1]["type"] == "pontoConnect.account.transactionsCreated"


def test_newest_first_cursor_paging_and_the_incremental_walk(client: TestClient, state) -> None:
    state.cooldown_seconds = 0
    _, account_id = _org(state)
    headers = _h(_login(client))
    made = [_tx(state, account_id, f"{n}.00", day=f"2026-12-{20 - n:02d}") for n in range(1, 8)]  # dates descend
    _sync(client, headers, account_id)
    url = f"http://testserver{API}/accounts/{account_id}/transactions"
    pages, next_url = [], f"{url}?page[limit]=3"
    while next_url:
        answer = client.get(next_url, headers=headers).json()
        pages.append([t["id"] for t in answer["data"]])
        assert answer["links"]["first"]
        assert ("prev" in answer["links"]) == (len(pages) > 1)
        assert "page%5B" in answer["links"]["first"]  # page[...] spelling, URL-encoded
        next_url = answer["links"].get("next")
    newest_first = list(reversed(made))
    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:7]]
    first = client.get(url, params={"page[limit]": 3}, headers=headers).json()
    assert first["meta"]["paging"] == {"limit": 3, "before": None, "after": newest_first[2]}
    # the other spelling gives the same page
    assert _ids(client.get(url, params={"limit": 3, "after": newest_first[2]}, headers=headers)) == newest_first[3:6]
    assert (
        _ids(client.get(url, params={"page[limit]": 3, "page[after]": newest_first[2]}, headers=headers))
        == (newest_first[3:6])
    )
    # a client stored the newest id; later, page[before] gives only what is newer
    stored = newest_first[0]
    later = [_tx(state, account_id, "8.00", day="2026-12-01"), _tx(state, account_id, "9.00", day="2026-11-30")]
    _sync(client, headers, account_id)
    newer = client.get(url, params={"page[before]": stored}, headers=headers).json()
    assert [t["id"] for t in newer["data"]] == list(reversed(later))
    assert "prev" not in newer["links"] and "next" in newer["links"]
    assert _ids(client.get(url, params={"before": stored, "limit": 1}, headers=headers)) == [later[0]]
    walk = client.get(url, params={"before": stored, "limit": 1}, headers=headers).json()
    assert _ids(client.get(walk["links"]["prev"], headers=headers)) == [later[1]]


def test_page_limit_bounds_and_unknown_cursors(client: TestClient, state) -> None:
    _, account_id = _org(state)
    headers = _h(_login(client))
    url = f"{API}/accounts/{account_id}/transactions"
    for params in ({"page[limit]": 101}, {"page[limit]": 0}, {"limit": "ten"}, {"page[after]": "nope"}):
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == 400, params
        assert answer.json()["errors"][0]["code"] == "validationError"
    assert client.get(url, params={"page[limit]": 100}, headers=headers).status_code == 200


def test_a_second_synchronization_within_the_cool_down_is_refused(client: TestClient, state) -> None:
    _, account_id = _org(state)
    headers = _h(_login(client))
    _sync(client, headers, account_id)
    body = {
        "data": {
            "type": "synchronization",
            "attributes": {"resourceType": "account", "resourceId": account_id, "subtype": "accountTransactions"},
        }
    }
    refused = client.post(f"{API}/synchronizations", json=body, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "accountRecentlySynchronized"
    _sync(client, headers, account_id, "accountDetails")  # another subtype has its own cool-down
    state.advance(301)
    assert client.post(f"{API}/synchronizations", json=body, headers=headers).status_code == 201
    body["data"]["attributes"]["subtype"] = "accountEverything"
    assert client.post(f"{API}/synchronizations", json=body, headers=headers).status_code == 400


def test_pending_items_show_with_unsettled_only_and_leave_once_booked(client: TestClient, state) -> None:
    state.cooldown_seconds = 0
    _, account_id = _org(state)
    headers = _h(_login(client))
    pending_id = _tx(state, account_id, "-45.50", pending=True, counterpart_name="Shell")
    pending_url = f"{API}/accounts/{account_id}/pending-transactions"
    booked_url = f"{API}/accounts/{account_id}/transactions"
    _sync(client, headers, account_id, "accountTransactions")
    assert _ids(client.get(pending_url, headers=headers)) == []
    sync = _sync(client, headers, account_id, "accountTransactionsWithUnsettled")
    listing = client.get(pending_url, headers=headers).json()
    assert [p["id"] for p in listing["data"]] == [pending_id]
    assert listing["data"][0]["type"] == "pendingTransaction"
    assert _ids(client.get(f"{API}/synchronizations/{sync['id']}/updated-pending-transactions", headers=headers)) == [
        pending_id
    ]
    assert _ids(client.get(booked_url, headers=headers)) == []

    booked = client.post(f"/_fake/pending/{pending_id}/book", json={"execution_date": "2026-12-09"})
    assert booked.status_code == 201
    booked_id = booked.json()["id"]
    assert booked_id != pending_id
    _sync(client, headers, account_id, "accountTransactions")  # books it, but does not refresh pending items
    assert _ids(client.get(booked_url, headers=headers)) == [booked_id]
    assert _ids(client.get(pending_url, headers=headers)) == [pending_id]
    _sync(client, headers, account_id, "accountTransactionsWithUnsettled")
    assert _ids(client.get(pending_url, headers=headers)) == []
    assert client.get(f"{pending_url}/{pending_id}", headers=headers).status_code == 404
    # a cursor may still name the pending item that left
    assert client.get(pending_url, params={"page[before]": pending_id}, headers=headers).status_code == 200
    booked_item = client.get(f"{booked_url}/{booked_id}", headers=headers).json()["data"]["attributes"]
    assert booked_item["amount"] == -45.5 and booked_item["counterpartName"] == "Shell"
    assert booked_item["executionDate"] == "2026-12-08T23:00:00.000Z"


def test_bank_changes_show_after_the_next_synchronization_as_updated(client: TestClient, state) -> None:
    state.cooldown_seconds = 0
    _, account_id = _org(state)
    headers = _h(_login(client))
    tx_id = _tx(state, account_id, "50.00")
    quiet_id = _tx(state, account_id, "60.00")
    _sync(client, headers, account_id)
    changed = client.post(f"/_fake/transactions/{tx_id}", json={"remittanceInformation": "invoice 42"})
    assert changed.status_code == 200
    url = f"{API}/accounts/{account_id}/transactions/{tx_id}"
    assert client.get(url, headers=headers).json()["data"]["attributes"]["remittanceInformation"] is None
    sync = _sync(client, headers, account_id)
    assert client.get(url, headers=headers).json()["data"]["attributes"]["remittanceInformation"] == "invoice 42"
    assert _ids(client.get(f"{API}/synchronizations/{sync['id']}/updated-transactions", headers=headers)) == [tx_id]
    assert quiet_id not in _ids(
        client.get(f"{API}/synchronizations/{sync['id']}/updated-transactions", headers=headers)
    )
    assert "pontoConnect.account.transactionsUpdated" in [w["type"] for w in state.webhook_log()]
    assert client.post("/_fake/transactions/nope", json={"amount": "1"}).status_code == 404
    assert client.post(f"/_fake/transactions/{tx_id}", json={"colour": "red"}).status_code == 400


def test_raw_overrides_inject_malformed_data_verbatim(client: TestClient, state) -> None:
    _, account_id = _org(state)
    headers = _h(_login(client))
    seeded = client.post(
        f"/_fake/accounts/{account_id}/transactions",
        json={"amount": "12.50", "execution_date": "2026-12-08", "raw": {"amount": "12,5", "valueDate": None}},
    )
    assert seeded.status_code == 201
    _sync(client, headers, account_id)
    attributes = client.get(f"{API}/accounts/{account_id}/transactions", headers=headers).json()["data"][0]
    assert attributes["attributes"]["amount"] == "12,5" and attributes["attributes"]["valueDate"] is None
    assert client.post(f"/_fake/accounts/{account_id}/transactions", json={"amount": "x"}).status_code == 400
    assert client.post(f"/_fake/accounts/{account_id}/transactions", json={"amt": "1"}).status_code == 400


def test_booking_days_are_brussels_midnight_in_utc(client: TestClient, state) -> None:
    assert booking_day(datetime(2026, 12, 8).date()) == "2026-12-07T23:00:00.000Z"  # winter, UTC+1
    assert booking_day(datetime(2026, 7, 15).date()) == "2026-07-14T22:00:00.000Z"  # summer, UTC+2
    assert booking_day(datetime(2026, 3, 29).date()) == "2026-03-28T23:00:00.000Z"  # the day DST starts
    assert booking_day(datetime(2026, 10, 25).date()) == "2026-10-24T22:00:00.000Z"  # the day DST ends
    _, account_id = _org(state)
    headers = _h(_login(client))
    _tx(state, account_id, day="2026-07-15", value_date="2026-07-16")
    _sync(client, headers, account_id)
    attributes = client.get(f"{API}/accounts/{account_id}/transactions", headers=headers).json()["data"][0]
    assert attributes["attributes"]["executionDate"] == "2026-07-14T22:00:00.000Z"
    assert attributes["attributes"]["valueDate"] == "2026-07-15T22:00:00.000Z"


def test_identical_same_day_items_share_a_digest_but_not_an_id(client: TestClient, state) -> None:
    _, account_id = _org(state)
    headers = _h(_login(client))
    twin = {"counterpart_name": "Coffee Bar", "remittance_information": "coffee"}
    a, b = _tx(state, account_id, "-3.20", **twin), _tx(state, account_id, "-3.20", **twin)
    c = _tx(state, account_id, "-3.20", day="2026-12-09", **twin)
    _sync(client, headers, account_id)
    items = {
        t["id"]: t["attributes"]
        for t in client.get(f"{API}/accounts/{account_id}/transactions", headers=headers).json()["data"]
    }
    assert a != b and set(items) == {a, b, c}
    assert items[a]["digest"] == items[b]["digest"] != items[c]["digest"]
    assert len(items[a]["digest"]) == 64 and int(items[a]["digest"], 16) >= 0


# -- consent, revocation, reauthorization --------------------------------------------------------------------------


def test_a_lapsed_or_revoked_consent_fails_the_synchronization(client: TestClient, state) -> None:
    state.cooldown_seconds = 0
    _, account_id = _org(state)
    headers = _h(_login(client))
    _tx(state, account_id)
    state.advance(91 * 86400)  # past the 90 days of consent; a new login gives fresh tokens
    headers = _h(_login(client))
    failed = _sync(client, headers, account_id)
    assert failed["attributes"]["status"] == "error"
    assert failed["attributes"]["errors"][0]["code"] == "authorizationExpired"
    assert _ids(client.get(f"{API}/accounts/{account_id}/transactions", headers=headers)) == []
    assert client.post(
        f"/_fake/accounts/{account_id}/consent", json={"expires_at": "2099-01-01T00:00:00Z", "revoked": True}
    ).json() == {"ok": True}
    failed = _sync(client, headers, account_id)
    assert failed["attributes"]["errors"][0]["code"] == "authorizationInvalid"
    assert [w["type"] for w in state.webhook_log()].count("pontoConnect.synchronization.failed") == 2


def test_revocation_kills_every_token_of_the_integration(client: TestClient, state) -> None:
    organization_id, _ = _org(state)
    tokens = _login(client)
    refreshed = _token(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    revoked = client.post(f"{API}/oauth2/revoke", data={"token": refreshed["refresh_token"]}, auth=CLIENT)
    assert (revoked.status_code, revoked.content) == (200, b"")
    for access in (tokens, refreshed):
        assert client.get(f"{API}/accounts", headers=_h(access)).status_code == 401
    assert _token(client, grant_type="refresh_token", refresh_token=refreshed["refresh_token"]).status_code == 400
    assert "pontoConnect.integration.revoked" in [w["type"] for w in state.webhook_log()]

    tokens = _login(client)  # a new integration
    client_token = _token(client, grant_type="client_credentials").json()
    deleted = client.delete(f"{API}/organizations/{organization_id}/integration", headers=_h(client_token))
    assert deleted.status_code == 200
    assert deleted.json()["data"]["relationships"]["organization"]["data"]["id"] == organization_id
    assert client.get(f"{API}/accounts", headers=_h(tokens)).status_code == 401
    assert (
        client.delete(f"{API}/organizations/{organization_id}/integration", headers=_h(client_token)).status_code == 404
    )

    tokens = _login(client)
    assert client.post(f"/_fake/organizations/{organization_id}/revoke").json() == {"revoked": True}
    assert client.get(f"{API}/userinfo", headers=_h(tokens)).status_code == 401


def test_reauthorization_renews_the_consent(client: TestClient, state) -> None:
    _, account_id = _org(state)
    state.set_consent(account_id, expires_at=datetime.now(UTC) - timedelta(days=1))
    headers = _h(_login(client))
    body = {"data": {"type": "reauthorizationRequest", "attributes": {"redirectUri": "https://app.example/back"}}}
    created = client.post(f"{API}/accounts/{account_id}/reauthorization-requests", json=body, headers=headers)
    assert created.status_code == 201
    link = created.json()["data"]["links"]["redirect"]
    assert link.startswith("http://testserver/reauthorize/")
    redirected = client.get(link, follow_redirects=False)
    assert (redirected.status_code, redirected.headers["location"]) == (302, "https://app.example/back")
    assert client.get(link, follow_redirects=False).status_code == 400  # single use
    attributes = client.get(f"{API}/accounts/{account_id}", headers=headers).json()["data"]["attributes"]
    expires = datetime.fromisoformat(attributes["authorizationExpirationExpectedAt"].replace("Z", "+00:00"))
    assert expires > datetime.now(UTC) + timedelta(days=89)
    assert _sync(client, headers, account_id)["attributes"]["status"] == "success"
    assert "pontoConnect.account.reauthorized" in [w["type"] for w in state.webhook_log()]


# -- faults, logs, other routes ------------------------------------------------------------------------------------


def test_faults_503_429_and_timeout(client: TestClient, state) -> None:
    state.slow_seconds = 0.2
    _org(state)
    headers = _h(_login(client))
    assert client.post("/_fake/faults", json={"route": "accounts", "kind": "503", "count": 2}).status_code == 200
    assert [client.get(f"{API}/accounts", headers=headers).status_code for _ in range(3)] == [503, 503, 200]
    client.post("/_fake/faults", json={"route": "token", "kind": "429"})
    limited = _token(client, grant_type="client_credentials")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert limited.json()["errors"][0]["code"] == "tooManyRequests"
    assert _token(client, grant_type="client_credentials").status_code == 200
    client.post("/_fake/faults", json={"route": "keys", "kind": "timeout"})
    started = time.monotonic()
    assert client.get("/webhooks/keys").status_code == 200
    assert time.monotonic() - started >= 0.2
    assert client.post("/_fake/faults", json={"route": "nowhere", "kind": "503"}).status_code == 400


def test_request_log_userinfo_institutions_and_trailing_slashes(client: TestClient, state) -> None:
    organization_id, account_id = _org(state)
    headers = _h(_login(client))
    # the Ruby SDK fills "{accountId}" with "" for lists: ".../accounts/"
    assert _ids(client.get(f"{API}/accounts/", headers=headers)) == [account_id]
    client.get(f"{API}/accounts", params={"limit": 5}, headers=headers)
    log = client.get("/_fake/requests").json()
    assert {"method": "GET", "path": f"{API}/accounts", "query": {"limit": "5"}} in log
    assert not any(entry["path"].startswith("/_fake") for entry in log)
    userinfo = client.get(f"{API}/userinfo", headers=headers).json()
    assert userinfo["sub"] == organization_id and userinfo["onboardingComplete"] is True
    banks = client.get(f"{API}/financial-institutions").json()["data"]
    assert len(banks) >= 2 and {b["attributes"]["country"] for b in banks} == {"BE"}
    account = client.get(f"{API}/accounts/{account_id}", headers=headers).json()["data"]
    bank_id = account["relationships"]["financialInstitution"]["data"]["id"]
    assert client.get(f"{API}/financial-institutions/{bank_id}").json()["data"]["id"] == bank_id
    missing = client.get(f"{API}/nowhere")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "resourceNotFound"
    assert (
        client.get(f"{API}/accounts", headers={**headers, "Digest": "SHA-512=x", "Signature": "y"}).status_code == 200
    )


def test_control_routes_seed_an_organization_over_http(client: TestClient, state) -> None:
    made = client.post(
        "/_fake/organizations",
        json={"name": "Beta", "accounts": [{"iban": "BE71 0961 2345 6769", "holder_name": "Beta BV", "balance": "5"}]},
    )
    assert made.status_code == 201
    body = made.json()
    assert body["accounts"][0]["iban"] == "BE71096123456769"
    account_id = body["accounts"][0]["id"]
    seeded = client.post(
        f"/_fake/accounts/{account_id}/transactions", json={"amount": "121.00", "execution_date": "2026-12-08"}
    )
    assert seeded.status_code == 201
    assert client.post("/_fake/organizations", json={"name": "X", "accounts": [{"iban": "nope"}]}).status_code == 400
    assert client.post("/_fake/accounts/nope/transactions", json={"amount": "1"}).status_code == 404
    tokens = client.post("/_fake/tokens", json={"organization_id": body["organization_id"]}).json()
    assert _ids(client.get(f"{API}/accounts", headers=_h(tokens))) == [account_id]


# -- webhooks ------------------------------------------------------------------------------------------------------


def test_webhooks_are_signed_and_verify_with_the_published_keys(client: TestClient, state) -> None:
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    state.webhook_transport = httpx.MockTransport(receiver)
    assert client.post("/_fake/webhooks/target", json={"url": "https://app.example/hooks/ponto"}).status_code == 200
    organization_id, account_id = _org(state)
    headers = _h(_login(client))
    _tx(state, account_id)
    _tx(state, account_id)
    sync = _sync(client, headers, account_id)
    assert state.wait_for_webhooks(timeout=5)

    keys_url = client.get("/webhooks").json()["links"]["keys"]
    assert keys_url == "http://testserver/webhooks/keys"
    keys = KeySet(lambda: client.get(keys_url).json())
    created = next(r for r in received if json.loads(r.content)["data"]["type"].endswith("transactionsCreated"))
    assert created.headers["content-type"] == "application/json"
    claims = verify_webhook(
        created.content, created.headers["signature"], keys=keys, audience=state.application_id, now=time.time()
    )
    assert claims.kid == "sandbox_events_signature_1" and claims.iss == "https://api.ibanity.com"
    data = json.loads(created.content)["data"]
    assert data["attributes"]["count"] == 2 and data["attributes"]["createdAt"].endswith("Z")
    assert data["relationships"] == {
        "account": {"data": {"type": "account", "id": account_id}},
        "synchronization": {"data": {"type": "synchronization", "id": sync["id"]}},
        "organization": {"data": {"type": "organization", "id": organization_id}},
    }
    with pytest.raises(WebhookSignatureError) as tampered:
        verify_webhook(
            created.content.replace(b'"count":2', b'"count":9'),
            created.headers["signature"],
            keys=keys,
            audience=state.application_id,
        )
    assert tampered.value.reason == "digest"
    with pytest.raises(WebhookSignatureError) as wrong_audience:
        verify_webhook(created.content, created.headers["signature"], keys=keys, audience="another-app")
    assert wrong_audience.value.reason == "audience"
    logged = client.get("/_fake/webhooks").json()
    assert {"pontoConnect.integration.created", "pontoConnect.account.transactionsCreated"} <= {
        w["type"] for w in logged
    }
    assert all(w["status"] == 200 for w in logged)

    body, hook_headers = state.signed_webhook("pontoConnect.account.reauthorized", {}, {"account": account_id})
    assert verify_webhook(body, hook_headers["Signature"], keys=keys, audience=state.application_id).jti


def test_a_webhook_target_that_is_down_is_logged_not_raised(client: TestClient, state) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    state.webhook_transport = httpx.MockTransport(down)
    state.set_webhook_target("https://app.example/hooks/ponto")
    _, account_id = _org(state)
    headers = _h(_login(client))
    assert _sync(client, headers, account_id)["attributes"]["status"] == "success"
    assert state.wait_for_webhooks(timeout=5)
    log = state.webhook_log()
    assert log and all(w["status"] is None and "ConnectError" in w["error"] for w in log)
    types = [w["type"] for w in log]
    assert types == ["pontoConnect.integration.created", "pontoConnect.synchronization.succeededWithoutChange"]
