"""The review page against a hostile web: no one is signed in by another site's form, the page cannot be framed
or run injected code, the cookie is a server-side session that ends at sign-out, expiry or key revocation
(never the key itself), and a bank file as large as the API takes is taken on the page too."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.config import get_settings
from app.core.db import unit_of_work
from app.ui.sessions import UiSession
from tests.api.test_review_page import csrf, notice, sign_in_with
from tests.helpers import ADMIN, IBAN, VAT, make_company, make_key

CSP = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def company_key(client, scope: str = "write") -> str:
    make_company(client, accounts=[IBAN])
    client.cookies.set("codarecon_lang", "en")
    return make_key(client, scope=scope)["Authorization"].removeprefix("Bearer ")


def set_cookie(response, name: str) -> str:
    """The Set-Cookie header ``response`` sends for ``name`` (lower case), or ""."""
    headers = response.headers.get_list("set-cookie")
    return next((h.lower() for h in headers if h.startswith(f"{name}=")), "")


def signed_in(client) -> bool:
    return client.get("/ui/", follow_redirects=False).status_code == 200


# -- 1. sign-in: only from the page's own form ------------------------------------------------------------------


def test_a_sign_in_form_posted_from_another_site_signs_no_one_in(client):
    """Login CSRF: an attacker's page posts its own key; the visitor must not end up in the attacker's company."""
    key = company_key(client)
    forged = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    assert (forged.status_code, forged.headers["location"]) == (303, "/ui/login")
    assert not set_cookie(forged, "codarecon_session")
    assert not signed_in(client)
    assert notice(client.get("/ui/login").text) == "The page was out of date; nothing was done. Try again."


def test_a_sign_in_token_counts_only_with_the_cookie_it_was_given_with(client):
    key = company_key(client)
    page = client.get("/ui/login")
    cookie = set_cookie(page, "codarecon_login")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    token = csrf(page.text)
    # Another site's form sends no cookie (SameSite=Strict): the token alone, or a made-up one, is refused.
    client.cookies.delete("codarecon_login")
    refused = client.post("/ui/login", data={"key": key, "csrf": token}, follow_redirects=False)
    assert refused.headers["location"] == "/ui/login" and not signed_in(client)
    client.get("/ui/login")  # a new cookie: the old token belongs to the old one
    for sent in (token, "0" * 32, ""):
        client.post("/ui/login", data={"key": key, "csrf": sent}, follow_redirects=False)
        assert not signed_in(client), sent
    signed = sign_in_with(client, key)
    assert signed.headers["location"] == "/ui/"
    assert set_cookie(signed, "codarecon_login").startswith('codarecon_login=""')  # used once, then forgotten
    assert signed_in(client)


def test_a_wrong_key_keeps_the_sign_in_form_usable(client):
    key = company_key(client)
    wrong = sign_in_with(client, "key_nope.secret")
    assert wrong.status_code == 401 and "That is not a company API key." in wrong.text
    again = client.post("/ui/login", data={"key": key, "csrf": csrf(wrong.text)}, follow_redirects=False)
    assert again.status_code == 303 and signed_in(client)


# -- 2. what the browser may do with the page -------------------------------------------------------------------


def test_every_answer_of_the_page_forbids_framing_scripts_and_inline_code(client):
    key = company_key(client)
    answers = [client.get("/ui/", follow_redirects=False), client.get("/ui/login")]
    answers.append(sign_in_with(client, key))
    answers += [
        client.get("/ui/"),
        client.get("/ui/transactions/tx_nope/keep?amount=1&reason=manual", follow_redirects=False),
        client.post("/ui/logout", data={"csrf": "stale"}, follow_redirects=False),
        client.get("/ui/language/fr", follow_redirects=False),
        client.post("/ui/login", data={}, follow_redirects=False),  # refused by validation, still the page's
    ]
    for answer in answers:
        where = (answer.request.method, answer.request.url.path, answer.status_code)
        assert answer.headers.get("content-security-policy") == CSP, where
        assert answer.headers.get("x-frame-options") == "DENY", where
        assert answer.headers.get("referrer-policy") == "same-origin", where
        assert answer.headers.get("x-content-type-options") == "nosniff", where
        assert answer.headers.get("cache-control") == "no-store", where


def test_the_pages_have_no_inline_code_and_their_stylesheet_is_served_from_the_page(client):
    key = company_key(client)
    pages = [client.get("/ui/login").text]
    sign_in_with(client, key)
    pages.append(client.get("/ui/").text)
    for page in pages:
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", page, re.I)
        [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
        assert href.startswith("/ui/")  # 'self'
    style = client.get(href)
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 720px)" in style.text  # the phone layout came along
    assert "immutable" in style.headers["cache-control"]  # its URL changes with its content


# -- 3. the cookie is a session, not the key --------------------------------------------------------------------


def test_the_cookie_is_a_random_session_id_whose_hash_alone_is_stored(client):
    key = company_key(client)
    signed = sign_in_with(client, key)
    cookie = set_cookie(signed, "codarecon_session")
    for attribute in ("httponly", "samesite=strict", "path=/ui", "max-age=28800"):
        assert attribute in cookie, attribute
    assert "secure" not in cookie  # plain http here; see the https test below
    session_id = client.cookies["codarecon_session"]
    assert key not in session_id and key.partition(".")[2] not in session_id
    assert len(session_id) >= 43
    with unit_of_work() as session:
        [row] = session.exec(select(UiSession)).all()
    assert row.id == hashlib.sha256(session_id.encode()).hexdigest()
    assert row.key_id == key.partition(".")[0] and row.scope == "write"
    assert row.expires_at - row.created_at == timedelta(hours=8)


def test_over_https_the_session_cookie_is_secure(db, app):
    with TestClient(app, base_url="https://testserver") as client:
        signed = sign_in_with(client, company_key(client))
    assert "secure" in set_cookie(signed, "codarecon_session")


def test_a_cookie_holding_the_key_itself_signs_no_one_in(client):
    key = company_key(client)
    for name in ("codarecon_key", "codarecon_session"):
        client.cookies.set(name, key, path="/ui")
        assert not signed_in(client), name
        client.cookies.delete(name, path="/ui")


def test_signing_out_ends_the_session_on_the_server(client):
    sign_in_with(client, company_key(client))
    session_id = client.cookies["codarecon_session"]
    token = csrf(client.get("/ui/").text)
    out = client.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert out.headers["location"] == "/ui/login"
    assert set_cookie(out, "codarecon_session").startswith('codarecon_session=""')
    with unit_of_work() as session:
        assert session.exec(select(UiSession)).all() == []
    # A copy of the cookie taken before signing out is worth nothing afterwards.
    client.cookies.set("codarecon_session", session_id, path="/ui")
    assert not signed_in(client)
    replayed = client.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert replayed.status_code == 303 and not signed_in(client)


def test_revoking_the_key_ends_its_sessions(client):
    key = company_key(client)
    sign_in_with(client, key)
    assert signed_in(client)
    revoked = client.delete(f"/v1/companies/{VAT}/api-keys/{key.partition('.')[0]}", headers=ADMIN)
    assert revoked.status_code == 204
    assert not signed_in(client)
    page = client.get("/ui/")
    assert "Sign out" not in page.text and 'id="key"' in page.text  # back on the sign-in form


def test_an_expired_session_is_refused(client):
    sign_in_with(client, company_key(client))
    token = csrf(client.get("/ui/").text)
    with unit_of_work() as session:
        row = session.exec(select(UiSession)).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.add(row)
    assert not signed_in(client)
    refused = client.post("/ui/statements", data={"csrf": token}, files={"file": ("s.cod", b"x")})
    assert "Sign in again." in refused.text  # followed to the sign-in form, which says why


def test_signing_in_again_replaces_the_browsers_session_and_clears_expired_ones(client):
    key = company_key(client)
    sign_in_with(client, key)
    first = client.cookies["codarecon_session"]
    with unit_of_work() as session:
        row = session.exec(select(UiSession)).one()
        expired = row.expires_at - timedelta(hours=9)
        session.add(UiSession(**{**row.model_dump(), "id": "0" * 64, "expires_at": expired}))  # another browser's
    sign_in_with(client, key)
    assert client.cookies["codarecon_session"] != first
    with unit_of_work() as session:
        [row] = session.exec(select(UiSession)).all()
    assert row.id == hashlib.sha256(client.cookies["codarecon_session"].encode()).hexdigest()


def test_the_sessions_database_work_runs_in_the_thread_pool_not_on_the_event_loop(client, monkeypatch):
    from app.ui import sessions

    on_loop: dict[str, bool] = {}

    def watched(name: str):
        work = getattr(sessions, name)

        def run(*args):
            try:
                asyncio.get_running_loop()
                on_loop[name] = True
            except RuntimeError:  # no loop in this thread: a pool thread
                on_loop.setdefault(name, False)
            return work(*args)

        return run

    for name in ("start", "resolve", "end"):
        monkeypatch.setattr(sessions, name, watched(name))
    sign_in_with(client, company_key(client))
    client.post("/ui/logout", data={"csrf": csrf(client.get("/ui/").text)}, follow_redirects=False)
    assert on_loop == {"start": False, "resolve": False, "end": False}


# -- 4. a bank file as large as the API takes -------------------------------------------------------------------


def test_a_bank_file_over_a_mebibyte_is_read_on_the_page(client):
    """Up to CODARECON_MAX_UPLOAD_BYTES (50 MiB by default), like the API: no JSON 413 at 1 MiB."""
    sign_in_with(client, company_key(client))
    token = csrf(client.get("/ui/").text)
    garbage = b"not a bank file\n" * (2 * 1024 * 1024 // 16)  # 2 MiB: read, then refused for what it says
    sent = client.post(
        "/ui/statements", data={"csrf": token}, files={"file": ("big.cod", garbage)}, follow_redirects=False
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/ui/"), sent.text[:200]
    said = notice(client.get("/ui/").text)
    assert said and "larger than" not in said


@pytest.mark.parametrize("over", [1, 60 * 1024, 2 * 1024 * 1024])  # the last past the framing allowance
def test_a_file_over_the_limit_is_said_on_the_page(client, monkeypatch, over):
    sign_in_with(client, company_key(client))
    token = csrf(client.get("/ui/").text)
    limit = 256 * 1024
    monkeypatch.setattr(get_settings(), "max_upload_bytes", limit)
    sent = client.post(
        "/ui/statements",
        data={"csrf": token},
        files={"file": ("big.cod", b"0" * (limit + over))},
        follow_redirects=False,
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/ui/")
    said = notice(client.get("/ui/").text)
    # Past the framing allowance the body is refused by its declared length, with the request's limit.
    assert said == f"the file is larger than the limit of {limit} bytes" or (
        over > 64 * 1024 and said.startswith("the upload is larger than the limit")
    )
