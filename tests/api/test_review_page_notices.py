"""The review page's notices come from the service, never from the URL (a link from elsewhere cannot write on
the page), and are shown once."""

from __future__ import annotations

import re

from tests.api.test_review_page import sign_in_with
from tests.helpers import IBAN, make_company, make_key


def test_a_notice_in_the_url_is_never_shown_and_a_real_one_is_shown_once(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client, scope="read")["Authorization"].removeprefix("Bearer ")
    client.cookies.set("codarecon_lang", "en")
    sign_in_with(client, key)
    forged = client.get("/ui/?error=1&message=Call+0470+12+34+56+to+unlock+your+account")
    assert forged.status_code == 200
    assert "0470" not in forged.text
    refused = client.post("/ui/transactions/tx_x/suggestions/sug_x/accept", follow_redirects=False)
    assert (refused.status_code, refused.headers["location"]) == (303, "/ui/")
    first = client.get("/ui/")
    assert "The page was out of date; nothing was done." in first.text  # no CSRF token: nothing is done
    assert "out of date" not in client.get("/ui/").text  # a notice is shown once
    token = re.search(r'name="csrf" value="([0-9a-f]{32})"', first.text).group(1)
    client.post("/ui/transactions/tx_x/suggestions/sug_x/accept", data={"csrf": token}, follow_redirects=False)
    assert "This key can only read." in client.get("/ui/").text


def test_a_csrf_token_belongs_to_its_session(client):
    make_company(client, accounts=[IBAN])
    keys = [make_key(client)["Authorization"].removeprefix("Bearer ") for _ in range(2)]
    client.cookies.set("codarecon_lang", "en")
    tokens = []
    for key in keys:
        sign_in_with(client, key)
        tokens.append(re.search(r'name="csrf" value="([0-9a-f]{32})"', client.get("/ui/").text).group(1))
    assert tokens[0] != tokens[1]
    client.post("/ui/logout", data={"csrf": tokens[0]}, follow_redirects=False)  # the other key's token
    assert "Sign out" in client.get("/ui/").text  # still signed in: the stale token did nothing
