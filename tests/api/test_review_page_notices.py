"""The review page's notices come from the service, never from the URL (a link from elsewhere cannot write on
the page), and are shown once."""

from __future__ import annotations

from tests.helpers import IBAN, make_company, make_key


def test_a_notice_in_the_url_is_never_shown_and_a_real_one_is_shown_once(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client, scope="read")["Authorization"].removeprefix("Bearer ")
    client.post("/ui/login", data={"key": key}, follow_redirects=False)
    forged = client.get("/ui/?error=1&message=Call+0470+12+34+56+to+unlock+your+account")
    assert forged.status_code == 200
    assert "0470" not in forged.text
    refused = client.post("/ui/transactions/tx_x/suggestions/sug_x/accept", follow_redirects=False)
    assert (refused.status_code, refused.headers["location"]) == (303, "/ui/")
    first = client.get("/ui/")
    assert "This key can only read." in first.text
    assert "This key can only read." not in client.get("/ui/").text  # once
