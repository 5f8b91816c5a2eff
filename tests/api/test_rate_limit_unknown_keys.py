"""Made-up credentials get no window of their own: until a credential is known to be valid (the admin token, or a
key this process has checked) its requests count against the client's address, with a small budget. A flood of
random keys is 429ed before the database is asked, and never throttles a known key. The review page (/ui/) is
limited per address too: its sign-in form takes a key, and shares the budget of unknown credentials."""

from __future__ import annotations

import itertools
import math
import re
import secrets
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.core.auth import key_cache
from app.core.config import get_settings
from app.ui import router as ui
from tests.helpers import ADMIN, IBAN, VAT, make_company, make_key, sql_sent

URL = f"/v1/companies/{VAT}/invoices"
FLOOD = 60
#: Requests per second per address with unknown credentials (app.core.rate_limit.UNKNOWN_PER_SECOND).
UNKNOWN_PER_SECOND = 10

_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture
def limited(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit", 100.0)  # the default
    return client


def from_address(app, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000))


@pytest.fixture
def address(limited) -> str:
    """An address of the test's own: no other test's burst shares its windows."""
    return next(_addresses)


@pytest.fixture
def caller(app, address) -> TestClient:
    return from_address(app, address)


def made_up_key() -> str:
    return f"key_{secrets.token_hex(8)}.{secrets.token_urlsafe(32)}"


def burst(request: Callable[[], Response], per_second: int = UNKNOWN_PER_SECOND) -> list[Response]:
    """FLOOD answers to ``request``; checks that at most ``per_second`` passed in each one-second window the burst
    touched (a slow machine's burst spans more of them)."""
    started = time.monotonic()
    answers = [request() for _ in range(FLOOD)]
    windows = math.ceil(time.monotonic() - started) + 1
    passed = [a for a in answers if a.status_code != 429]
    assert len(passed) <= per_second * windows < FLOOD, [a.status_code for a in answers]
    return answers


def flood(caller: TestClient) -> list[Response]:
    return burst(lambda: caller.get(URL, headers={"Authorization": f"Bearer {made_up_key()}"}))


def statuses(answers: list[Response]) -> set[int]:
    return {a.status_code for a in answers}


def test_made_up_keys_share_their_address_budget_and_the_excess_never_reaches_the_database(caller, app):
    with sql_sent() as sent:
        answers = flood(caller)
    assert statuses(answers) == {401, 429}
    key_lookups = [s for s in sent if "api_keys" in s]
    assert len(key_lookups) == [a.status_code for a in answers].count(401)  # a 429 cost no query
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["detail"].startswith("more than 10 requests per second from this address")
    elsewhere = from_address(app, next(_addresses))
    assert elsewhere.get(URL, headers={"Authorization": f"Bearer {made_up_key()}"}).status_code == 401


def test_a_known_key_and_the_admin_keep_their_own_budget_while_their_address_is_flooded(caller, limited):
    make_company(limited, accounts=[IBAN])
    key = make_key(limited, scope="read")
    assert caller.get(URL, headers=key).status_code == 200  # checked once: known from now on
    key_cache._entries.clear()  # its cache entry expired (after a second): the limiter still knows the key
    assert 429 in statuses(flood(caller))
    assert [caller.get(URL, headers=key).status_code for _ in range(3)] == [200, 200, 200]
    assert caller.get(URL, headers=ADMIN).status_code == 200  # never used from here before


def test_a_valid_key_with_a_wrong_secret_counts_as_unknown(caller, limited):
    make_company(limited, accounts=[IBAN])
    key = make_key(limited)
    assert caller.get(URL, headers=key).status_code == 200
    key_id = key["Authorization"].removeprefix("Bearer ").partition(".")[0]
    wrong = burst(lambda: caller.get(URL, headers={"Authorization": f"Bearer {key_id}.{secrets.token_urlsafe(32)}"}))
    assert statuses(wrong) == {401, 429}
    assert caller.get(URL, headers=key).status_code == 200


def sign_in_token(browser: TestClient) -> str:
    """The sign-in form's token, as the page gives it to the browser (with its cookie)."""
    page = browser.get("/ui/login")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([0-9a-f]{32})"', page.text).group(1)


def test_guessing_keys_at_the_review_pages_sign_in_is_limited_per_address(app, address, caller, limited):
    make_company(limited, accounts=[IBAN])
    key = make_key(limited)["Authorization"].removeprefix("Bearer ")
    signed = caller.post("/ui/login", data={"key": key, "csrf": sign_in_token(caller)}, follow_redirects=False)
    assert signed.status_code == 303
    assert caller.get("/ui/").status_code == 200

    guesser = from_address(app, address)  # another browser at the same address (say, behind one NAT)
    token = sign_in_token(guesser)
    answers = burst(lambda: guesser.post("/ui/login", data={"key": made_up_key(), "csrf": token}))
    assert statuses(answers) == {401, 429}
    assert next(a for a in answers if a.status_code == 429).headers["retry-after"] == "1"
    assert caller.get("/ui/").status_code == 200  # the signed-in person at that address still works


def test_review_pages_are_limited_per_address(caller, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit", 20.0)
    caller.cookies.set(ui.COOKIE, secrets.token_urlsafe(32), path="/ui")  # a made-up session
    answers = burst(lambda: caller.get("/ui/", follow_redirects=False), per_second=20)
    assert statuses(answers) == {303, 429}  # to the sign-in page, until the address's budget is spent
