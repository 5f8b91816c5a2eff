"""The review page says why a suggestion is made in its reader's language, from the reason's code and
parameters (amounts in the Belgian format), while the API keeps its English; a row stored before reasons
had codes is shown in the English it has."""

from __future__ import annotations

import html

from sqlmodel import select

from app.core.db import unit_of_work
from app.reconciliation.models import Suggestion
from tests.api.test_review_page import csrf, invoice, sign_in, upload
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


def _returned_twice(client, language: str) -> str:
    """Two collections come back for want of funds, one refunded on request: the page in ``language``."""
    from tests.direct_debits import Bank, debit, register

    key = sign_in(client, language=language)
    bank = Bank(client, key, "coda")
    for n, (amount, reason) in enumerate([("1234.50", "AM04"), ("60.00", "AM04"), ("30.00", "MD06")], start=1):
        register(bank, f"DD-{n}", amount, reference=None, collection_reference=f"COLL-{n}")
        bank.book(debit(amount, end_to_end=f"COLL-{n}", communication="abonnement", day=n))
        bank.book(debit(f"-{amount}", r_type="return", reason=reason, end_to_end=f"COLL-{n}", day=10 + n))
    return html.unescape(client.get("/ui/").text)


def test_the_page_counts_what_came_back_by_reason_in_its_readers_language(client):
    page = _returned_twice(client, "nl")
    section = page[page.index('<h2 id="returns">') : page.index('<h2 id="invoices">')]
    assert "Teruggeboekt (3)" in section
    assert 'AM04 · onvoldoende saldo</td><td class="num" data-label="Aantal">2</td>' in section
    assert "€\xa01.294,50" in section  # 1,234.50 + 60.00, the Belgian way
    assert "MD06 · terugbetaling gevraagd door de schuldenaar" in section


def test_a_french_page_gives_the_reasons_in_french(client):
    page = _returned_twice(client, "fr")
    section = page[page.index('<h2 id="returns">') : page.index('<h2 id="invoices">')]
    assert "Retours (3)" in section and "AM04 · provision insuffisante" in section


def test_times_are_brussels_time_ibans_grouped_scores_in_the_languages_decimal_sign_and_by_a_keys_name(client):
    """Issue 41's review-page rows: the history's time in Europe/Brussels with its zone, IBANs by four, a
    suggestion's score with the language's decimal sign, and "by" naming the key rather than its id."""
    import re

    from sqlalchemy import update

    from app.core.auth import ApiKey

    key = sign_in(client, language="nl")
    with unit_of_work() as session:  # the key the page was opened with gets a name
        session.execute(update(ApiKey).values(name="boekhouder Jan"))
    invoice(client, key, "S1", "1234.50")
    upload(client, key, ("1234.50", None))
    page = html.unescape(client.get("/ui/").text)
    score = re.search(r"score (\d[.,]\d\d)", page, re.I)
    assert score and "," in score.group(1), page[:200]
    assert "BE71 0961 2345 6769" in page
    # Accept it on the page; the history shows who and when.
    [accept] = re.findall(r'href="(/ui/transactions/[^"]+/accept)"', page)
    client.post(accept, data={"csrf": csrf(client.get(accept).text)}, follow_redirects=False)
    history = html.unescape(client.get("/ui/").text)
    section = history[history.index('<h2 id="history">') : history.index('<h2 id="returns">')]
    assert "boekhouder Jan" in section
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d CES?T", section), section
