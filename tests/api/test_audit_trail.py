"""Who did what: every decision on money is in the audit trail with its actor and what it touched, and
the allocations and write-offs it made say who made them, how and how sure."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def key_id(headers):
    return headers["Authorization"].split()[1].split(".")[0]


def trail(client, key, **params):
    response = client.get(f"/v1/companies/{VAT}/audit-events", params=params, headers=key)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_each_decision_is_in_the_trail_with_its_actor_and_subject(client, key):
    actor = f"key:{key_id(key)}"
    a = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A", total="121.00"), headers=key).json()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", None)), headers=key)
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [suggestion] = tx["suggestions"]
    base = f"/v1/companies/{VAT}/transactions/{tx['id']}"

    rejected = client.post(f"{base}/suggestions/{suggestion['id']}/reject", headers=key)
    assert rejected.status_code == 200
    client.post(f"{base}/suggestions/{suggestion['id']}/reopen", headers=key)
    accepted = client.post(f"{base}/suggestions/{suggestion['id']}/accept", headers=key).json()
    [allocation] = accepted["allocations"]
    assert allocation["id"].startswith("alc_")
    assert (allocation["method"], allocation["confidence"], allocation["created_by"]) == (
        "suggestion",
        suggestion["score"],
        actor,
    )
    assert client.delete(f"{base}/allocations/{allocation['id']}", headers=key).status_code == 204
    manual = client.post(f"{base}/allocations", json={"invoice_id": a["id"], "amount": "100.00"}, headers=key).json()
    [by_hand] = manual["allocations"]
    assert (by_hand["method"], by_hand["confidence"], by_hand["created_by"]) == ("manual", 1.0, actor)
    kept = client.post(f"{base}/write-offs", json={"amount": "21.00", "reason": "manual"}, headers=key).json()
    [write_off] = kept["write_offs"]
    assert write_off["id"].startswith("wo_") and write_off["created_by"] == actor

    everything = trail(client, key)
    # The key itself was issued by the admin (issue 41: keys are in the trail too); the rest is the key's.
    assert (everything[0]["action"], everything[0]["actor"], everything[0]["subject_id"]) == (
        "api_key.created",
        "admin",
        key_id(key),
    )
    events = everything[1:]
    assert all(e["actor"] == actor for e in events)
    assert Counter(e["action"] for e in events) == Counter(
        {
            "suggestion.rejected": 1,
            "suggestion.reopened": 1,
            "suggestion.accepted": 1,
            "allocation.created": 2,
            "allocation.undone": 1,
            "write_off.created": 1,
        }
    )
    created = {e["subject_id"]: e["details"] for e in events if e["action"] == "allocation.created"}
    assert created[by_hand["id"]] == {
        "transaction_id": tx["id"],
        "invoice_id": a["id"],
        "amount": "100.00",
        "method": "manual",
    }
    [undone] = trail(client, key, action="allocation.undone")
    assert undone["subject_id"] == allocation["id"]
    assert (undone["details"]["invoice_id"], undone["details"]["amount"]) == (a["id"], "121.00")
    [written] = trail(client, key, subject_id=write_off["id"])
    assert written["details"] == {"invoice_id": None, "transaction_id": tx["id"], "amount": "21.00", "reason": "manual"}
    assert [e["subject_id"] for e in trail(client, key, action="suggestion.accepted")] == [suggestion["id"]]
    # Paged: every event once.
    first = client.get(f"/v1/companies/{VAT}/audit-events", params={"limit": 3}, headers=key).json()
    second = client.get(
        f"/v1/companies/{VAT}/audit-events", params={"limit": 10, "cursor": first["next_cursor"]}, headers=key
    ).json()
    assert len(first["items"]) + len(second["items"]) == len(everything)


def test_the_matcher_is_the_actor_of_what_it_did(client, key):
    client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body(structured_reference="+++090/9337/55493+++"),
        headers=key,
    )
    client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", "+++090/9337/55493+++")), headers=key
    )
    [event] = trail(client, key, action="allocation.created")
    assert (event["actor"], event["action"], event["details"]["method"]) == (
        "matcher",
        "allocation.created",
        "structured_reference",
    )
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [allocation] = tx["allocations"]
    assert (allocation["created_by"], allocation["confidence"]) == ("matcher", 1.0)
    read = make_key(client, scope="read")
    assert client.get(f"/v1/companies/{VAT}/audit-events", headers=read).status_code == 200


def test_undoing_records_what_was_undone(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    inv = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("U", total="50.00"), headers=key).json()
    client.post(f"/v1/companies/{VAT}/statements", content=payment_file(("49.50", None)), headers=key)
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    base = f"/v1/companies/{VAT}/transactions/{tx['id']}"
    body = client.post(f"{base}/allocations", json={"invoice_id": inv["id"], "amount": "49.50"}, headers=key).json()
    [allocation] = body["allocations"]
    [tolerated] = client.get(f"/v1/companies/{VAT}/invoices/{inv['id']}", headers=key).json()["write_offs"]
    client.delete(f"{base}/allocations/{allocation['id']}", headers=key).raise_for_status()

    [undone] = trail(client, key, action="allocation.undone")
    assert (undone["subject_id"], undone["details"]) == (
        allocation["id"],
        {"transaction_id": tx["id"], "invoice_id": inv["id"], "amount": "49.50", "method": "manual"},
    )
    # The tolerated difference went with the allocation it completed.
    [gone] = trail(client, key, action="write_off.undone")
    assert (gone["subject_id"], gone["details"]) == (
        tolerated["id"],
        {"invoice_id": inv["id"], "transaction_id": tx["id"]},
    )

    kept = client.post(f"{base}/write-offs", json={"amount": "9.50", "reason": "bank_fee"}, headers=key).json()
    [write_off] = kept["write_offs"]
    client.delete(f"{base}/write-offs/{write_off['id']}", headers=key).raise_for_status()
    undone_write_offs = trail(client, key, action="write_off.undone")
    assert [(e["subject_id"], e["details"]) for e in undone_write_offs][-1] == (
        write_off["id"],
        {"invoice_id": None, "transaction_id": tx["id"]},
    )
    assert all(e["id"].startswith("aud_") for e in trail(client, key))
