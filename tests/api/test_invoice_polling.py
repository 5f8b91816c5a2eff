"""Polling for changes (issue 41): ``updated_since`` lists the invoices that changed, in the order they changed,
paged by change; ``paid_since`` the ones settled since a day. A client that polls from the last ``updated_at``
it saw misses nothing."""

from __future__ import annotations

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


def _poll(client, key, since: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"updated_since": since, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/v1/companies/{VAT}/invoices", params=query, headers=key)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return items


def test_a_poller_sees_each_change_in_order_and_pages_by_change(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    created = [
        client.post(
            f"/v1/companies/{VAT}/invoices",
            json=invoice_body(f"P-{n}", total="121.00", structured_reference=ogm),
            headers=key,
        ).json()
        for n, ogm in enumerate(["+++090/9337/55493+++", "+++000/0000/00101+++", "+++000/0000/00202+++"])
    ]
    first = _poll(client, key, "2000-01-01T00:00:00Z", limit=2)  # two pages of two and one
    assert [i["id"] for i in first] == [i["id"] for i in sorted(created, key=lambda i: (i["updated_at"], i["id"]))]
    last_seen = first[-1]["updated_at"]

    # The first invoice is paid: the next poll from the last change seen brings it, last.
    upload = client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", "+++090/9337/55493+++")), headers=key
    )
    assert upload.status_code == 201
    again = _poll(client, key, last_seen)
    assert again[-1]["id"] == created[0]["id"] and again[-1]["status"] == "paid"
    assert [i["updated_at"] for i in again] == sorted(i["updated_at"] for i in again)
    assert {i["id"] for i in again} <= {i["id"] for i in created}
    # A zone-less instant is UTC, and a time after every change lists nothing.
    assert _poll(client, key, "2999-01-01T00:00:00") == []


def test_paid_since_lists_what_was_settled_from_that_day(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    paid = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body("P-1", structured_reference="+++090/9337/55493+++"),
        headers=key,
    ).json()
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P-2"), headers=key)
    client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", "+++090/9337/55493+++")), headers=key
    )
    day = client.get(f"/v1/companies/{VAT}/invoices/{paid['id']}", headers=key).json()["paid_at"]
    listed = client.get(f"/v1/companies/{VAT}/invoices", params={"paid_since": day}, headers=key).json()["items"]
    assert [i["id"] for i in listed] == [paid["id"]]


def test_a_cursor_of_one_ordering_is_refused_by_the_other(client):
    make_company(client)
    key = make_key(client)
    for n in range(3):
        client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"P-{n}"), headers=key)
    by_id = client.get(f"/v1/companies/{VAT}/invoices", params={"limit": 1}, headers=key).json()["next_cursor"]
    response = client.get(
        f"/v1/companies/{VAT}/invoices",
        params={"limit": 1, "updated_since": "2000-01-01T00:00:00Z", "cursor": by_id},
        headers=key,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == "query.cursor"
