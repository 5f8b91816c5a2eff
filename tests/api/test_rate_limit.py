"""Per-key rate limits: over RATE_LIMIT requests per second a key gets 429 with Retry-After; another key is
not throttled by it; 0 turns the limit off."""

from __future__ import annotations

import pytest

from app.core.config import get_settings
from tests.helpers import IBAN, VAT, make_company, make_key


@pytest.fixture
def keys(client):
    make_company(client, accounts=[IBAN])
    return make_key(client), make_key(client, scope="read")


def burst(client, key, n: int) -> list:
    return [client.get(f"/v1/companies/{VAT}/invoices", headers=key) for _ in range(n)]


def test_one_keys_flood_is_429_and_never_throttles_another_key(client, keys, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit", 5.0)
    flooding, other = keys
    answers = burst(client, flooding, 12)
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) <= 6 and 429 in statuses  # at most the limit, give or take a window edge
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.headers["retry-after"] == "1"  # one-second windows
    assert limited.json()["type"].endswith("/rate-limited")
    assert [r.status_code for r in burst(client, other, 3)] == [200, 200, 200]
    assert client.get("/healthz").status_code == 200  # not an API route


@pytest.mark.slow
def test_zero_turns_the_limit_off(client, keys, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit", 0.0)
    assert {r.status_code for r in burst(client, keys[0], 150)} == {200}
