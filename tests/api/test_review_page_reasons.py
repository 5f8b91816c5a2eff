"""The review page says why a suggestion is made in its reader's language, from the reason's code and
parameters (amounts in the Belgian format), while the API keeps its English; a row stored before reasons
had codes is shown in the English it has."""

from __future__ import annotations

import html

from sqlmodel import select

from app.core.db import unit_of_work
from app.reconciliation.models import Suggestion
from tests.api.test_review_page import invoice, sign_in, upload
from tests.helpers import VAT


def why(page: str) -> list[str]:
    start = page.index('<ul class="reasons">')
    items = page[start : page.index("</ul>", start)]
    return [html.unescape(item.removesuffix("</li>")) for item in items.split("<li>")[1:]]


def suggested(client, language: str) -> tuple[dict, list[str]]:
    key = sign_in(client, language=language)
    invoice(client, key, "S1", "1234.50")
    upload(client, key, ("1234.50", None))
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return tx, why(client.get("/ui/").text)


def test_a_dutch_page_gives_dutch_reasons_with_belgian_amounts(client):
    tx, reasons = suggested(client, "nl")
    assert "€\xa01.234,50 is het openstaande bedrag van factuur 2026/S1" in reasons
    assert any(r.startswith("betaald vanaf BE") and r.endswith(", een rekening van de klant") for r in reasons)
    # The API says it in English, as it always has.
    messages = [r["message"] for r in tx["suggestions"][0]["reasons"]]
    assert "1234.50 is the amount due of invoice 2026/S1" in messages


def test_a_french_page_gives_french_reasons(client):
    _, reasons = suggested(client, "fr")
    assert "1\u202f234,50\xa0€ est le montant dû de la facture 2026/S1" in reasons
    assert any(r.startswith("payé depuis BE") and r.endswith(", un compte du client") for r in reasons)


def test_a_suggestion_stored_without_codes_is_shown_in_its_english(client):
    key = sign_in(client, language="nl")
    invoice(client, key, "S1", "42.00")
    upload(client, key, ("42.00", None))
    with unit_of_work() as session:
        row = session.exec(select(Suggestion)).one()
        row.reason_codes = None  # as a row written before migration 0014
        session.add(row)
    assert "42.00 is the amount due of invoice 2026/S1" in why(client.get("/ui/").text)
