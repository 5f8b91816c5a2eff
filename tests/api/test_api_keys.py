"""Company keys for the integrator (issue 41): named, listed without their secret, rotated with a grace period
for the old one, and every issue, rotation and revocation in the company's audit trail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.core.auth import ApiKey, key_cache
from app.core.db import unit_of_work
from app.core.timeutil import utcnow
from tests.helpers import ADMIN, VAT, make_company


def _issue(client, name: str, scope: str = "write") -> dict:
    response = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": scope, "name": name}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def _works(client, key: dict) -> int:
    return client.get(f"/v1/companies/{VAT}/invoices", headers={"Authorization": f"Bearer {key['key']}"}).status_code


def test_keys_are_named_and_listed_without_their_secret(client):
    make_company(client)
    shop, dashboard = _issue(client, "webshop"), _issue(client, "accountant's dashboard", scope="read")
    listed = client.get(f"/v1/companies/{VAT}/api-keys", headers=ADMIN).json()
    assert [(k["id"], k["name"], k["scope"], k["active"]) for k in listed] == [
        (shop["id"], "webshop", "write", True),
        (dashboard["id"], "accountant's dashboard", "read", True),
    ]
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    # A company key may not list keys.
    assert (
        client.get(f"/v1/companies/{VAT}/api-keys", headers={"Authorization": f"Bearer {shop['key']}"}).status_code
        == 403
    )


def test_a_rotated_key_works_for_its_grace_period_then_not(client):
    make_company(client)
    old = _issue(client, "webshop")
    rotated = client.post(
        f"/v1/companies/{VAT}/api-keys/{old['id']}/rotate", json={"grace_seconds": 3600}, headers=ADMIN
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert (new["name"], new["scope"]) == ("webshop", "write") and new["id"] != old["id"]
    assert _works(client, new) == 200 and _works(client, old) == 200  # both, during the grace period
    with unit_of_work() as session:  # the hour has passed
        session.execute(update(ApiKey).where(ApiKey.id == old["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    key_cache.forget(old["id"])
    assert _works(client, old) == 401 and _works(client, new) == 200
    listed = {k["id"]: k for k in client.get(f"/v1/companies/{VAT}/api-keys", headers=ADMIN).json()}
    assert (listed[old["id"]]["active"], listed[new["id"]]["active"]) == (False, True)
    # An expired key is not rotated again.
    again = client.post(f"/v1/companies/{VAT}/api-keys/{old['id']}/rotate", json={}, headers=ADMIN)
    assert again.status_code == 409


def test_a_rotation_without_grace_ends_the_old_key_at_once(client):
    make_company(client)
    old = _issue(client, "webshop")
    new = client.post(
        f"/v1/companies/{VAT}/api-keys/{old['id']}/rotate", json={"grace_seconds": 0}, headers=ADMIN
    ).json()
    key_cache.forget(old["id"])
    assert _works(client, old) == 401 and _works(client, new) == 200


def test_issuing_rotating_and_revoking_are_in_the_audit_trail(client):
    make_company(client)
    old = _issue(client, "webshop")
    new = client.post(f"/v1/companies/{VAT}/api-keys/{old['id']}/rotate", json={}, headers=ADMIN).json()
    assert client.delete(f"/v1/companies/{VAT}/api-keys/{old['id']}", headers=ADMIN).status_code == 204
    trail = client.get(f"/v1/companies/{VAT}/audit-events", headers=ADMIN).json()["items"]
    assert [(e["action"], e["subject_id"], e["actor"]) for e in trail] == [
        ("api_key.created", old["id"], "admin"),
        ("api_key.rotated", old["id"], "admin"),
        ("api_key.revoked", old["id"], "admin"),
    ]
    assert trail[1]["details"] == {"new_key_id": new["id"], "grace_seconds": 86_400}


def test_the_list_shows_when_each_key_was_last_used_once_the_process_has_written_it(client):
    from app.core.key_use import key_use

    make_company(client)
    key_use.flush()  # what earlier tests noted
    used = _issue(client, "webshop")
    _issue(client, "forgotten")
    before = utcnow()
    assert _works(client, used) == 200

    def last_used() -> dict:
        listed = client.get(f"/v1/companies/{VAT}/api-keys", headers=ADMIN).json()
        return {k["name"]: k["last_used_at"] for k in listed}

    assert last_used() == {"webshop": None, "forgotten": None}  # noted in memory, not yet written
    assert key_use.flush() == 1
    seen = last_used()
    assert seen["forgotten"] is None
    assert seen["webshop"] is not None and seen["webshop"] >= before.isoformat().replace("+00:00", "Z")[:19]
    # A flush never moves a key's time back (another process may have seen it later).
    key_use._seen[used["id"]] = before - timedelta(days=1)
    key_use.flush()
    assert last_used()["webshop"] == seen["webshop"]
    assert key_use.flush() == 0  # nothing noted since: no write at all
