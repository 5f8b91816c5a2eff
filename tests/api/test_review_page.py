"""The review page as a Belgian bookkeeper uses it: in Dutch, French or English with Belgian amounts, candidates
ranked by evidence, every booking confirmed first and undone from the history, lists paged with their true
counts, a bank file uploaded on the page, money out listed, and nothing to press for a read key."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlmodel import select

from app.core.db import unit_of_work
from app.core.money import MoneyError
from app.statements.models import BankTransaction
from app.ui import i18n
from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, VAT, invoice_body, make_company, make_key


def sign_in_with(client, key: str):
    """The sign-in form as a browser sends it: with the token of the page it was on."""
    form = client.get("/ui/login").text
    token = re.search(r'name="csrf" value="([0-9a-f]{32})"', form).group(1)
    return client.post("/ui/login", data={"key": key, "csrf": token}, follow_redirects=False)


def sign_in(client, scope: str = "write", language: str = "en") -> dict[str, str]:
    make_company(client, accounts=[IBAN])
    key = make_key(client, scope=scope)
    client.cookies.set("codarecon_lang", language)
    signed = sign_in_with(client, key["Authorization"].removeprefix("Bearer "))
    assert signed.status_code == 303, signed.text
    return key


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)


def invoice(client, key, external_id: str, total: str, **fields) -> dict:
    created = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(external_id, total=total, **fields), headers=key
    )
    assert created.status_code == 201, created.text
    return created.json()


def upload(client, key, *payments, **options) -> None:
    response = client.post(f"/v1/companies/{VAT}/statements", content=payment_file(*payments, **options), headers=key)
    assert response.status_code == 201, response.text


def transaction(amount: str) -> str:
    with unit_of_work() as session:
        return session.exec(select(BankTransaction.id).where(BankTransaction.amount == Decimal(amount))).one()


def status_of(client, key, invoice_id: str) -> dict:
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice_id}", headers=key).json()


def notice(page: str) -> str:
    found = re.search(r'<p class="notice[^"]*" role="status">([^<]*)</p>', page)
    return found.group(1) if found else ""


# -- language and Belgian formats ---------------------------------------------------------------------------


def test_every_phrase_is_in_every_language_with_the_same_placeholders():
    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        placeholders = {lang: sorted(re.findall(r"\{(\w+)", text)) for lang, text in texts.items()}
        assert len({tuple(p) for p in placeholders.values()}) == 1, (key, placeholders)


@pytest.mark.parametrize(
    ("typed", "language", "amount"),
    [
        ("12,50", "nl", "12.50"),
        ("12.50", "nl", "12.50"),
        ("1.234,56", "nl", "1234.56"),
        ("1 234,56", "fr", "1234.56"),
        ("1.234,56", "en", "1234.56"),
        ("€ 12,5", "nl", "12.50"),
        ("7", "fr", "7.00"),
    ],
)
def test_amounts_are_read_as_a_belgian_types_them(typed, language, amount):
    assert i18n.parse_money(typed, language) == Decimal(amount)


@pytest.mark.parametrize("typed", ["abc", "12,505", "-5,00", "1,2,3", "", "12.345,678"])
def test_what_is_not_an_amount_is_refused(typed):
    with pytest.raises(MoneyError):
        i18n.parse_money(typed, "nl")


def test_amounts_are_shown_in_the_readers_belgian_format():
    amount = Decimal("1234.56")
    assert i18n.money(amount, "en") == "1.234,56\xa0€"
    assert i18n.money(amount, "fr") == "1\u202f234,56\xa0€"
    assert i18n.money(amount, "nl") == "€\xa01.234,56"


def test_the_page_speaks_the_readers_language_and_remembers_a_choice(client):
    sign_in(client, language="")
    client.cookies.delete("codarecon_lang")
    assert "Factures ouvertes" in client.get("/ui/", headers={"Accept-Language": "fr-BE,fr;q=0.9"}).text
    assert "Openstaande facturen" in client.get("/ui/").text  # nothing known: Dutch
    chosen = client.get("/ui/language/en", follow_redirects=False)
    assert chosen.status_code == 303 and "codarecon_lang=en" in chosen.headers["set-cookie"]
    client.cookies.set("codarecon_lang", "en")
    page = client.get("/ui/", headers={"Accept-Language": "fr"}).text
    assert "Open invoices" in page and '<html lang="en">' in page
    assert "set-cookie" not in client.get("/ui/language/de", follow_redirects=False).headers


# -- what a read key sees -----------------------------------------------------------------------------------


def test_a_read_key_sees_everything_and_nothing_to_press(client):
    sign_in(client, scope="read")
    invoice(client, ADMIN, "R1", "50.00")
    upload(client, ADMIN, ("50.00", None), ("20.00", None), ("-3.00", None))
    page = client.get("/ui/").text
    assert "Read only: this key cannot book anything." in page
    for action in ("/allocate", "/keep", "/accept", "/reject", "/undo", "/ui/statements"):
        assert action not in page, action
    assert "20,00" in page and "-3,00" in page  # the payments are there to read
    tx = transaction("20.00")
    refused = client.get(f"/ui/transactions/{tx}/keep?amount=20,00&reason=manual", follow_redirects=False)
    assert refused.status_code == 303
    assert notice(client.get("/ui/").text) == "This key can only read."


# -- booking: confirmed first, undone afterwards ------------------------------------------------------------


def test_an_allocation_is_confirmed_before_it_is_booked_and_undone_from_the_history(client):
    key = sign_in(client)
    inv = invoice(client, key, "A1", "100.00")
    upload(client, key, ("60.00", None))
    tx = transaction("60.00")
    confirm = client.get(f"/ui/transactions/{tx}/allocate", params={"invoice_id": inv["id"], "amount": "12,50"})
    assert confirm.status_code == 200
    assert "Allocate 12,50\xa0€ of the payment from KLANT NV to invoice 2026/A1 (Klant NV)." in confirm.text
    assert "Afterwards: invoice 2026/A1 partially paid, 87,50\xa0€ still due." in confirm.text
    assert "Afterwards 47,50\xa0€ of the payment is left." in confirm.text
    assert status_of(client, key, inv["id"])["status"] == "open"  # looking is not booking
    booked = client.post(
        f"/ui/transactions/{tx}/allocate",
        data={"csrf": csrf(confirm.text), "invoice_id": inv["id"], "amount": "12.50"},
        follow_redirects=False,
    )
    assert booked.status_code == 303
    page = client.get("/ui/").text
    assert notice(page) == "Allocated."
    after = status_of(client, key, inv["id"])
    assert (after["status"], after["amount_paid"]) == ("partially_paid", "12.50")
    assert after["allocations"][0]["created_by"].startswith("ui:")
    assert "12,50\xa0€ to 2026/A1" in page  # in the history, with its undo
    forms = re.findall(r'<form[^>]*method="post".*?</form>', page, re.S)
    assert forms and all(f'name="csrf" value="{csrf(page)}"' in form for form in forms)  # a token on every form
    # Undo asks first, like every other action (issue 41): what it frees, and what the invoice owes after.
    [undo] = re.findall(r'href="(/ui/transactions/[^"]+/undo)"', page)
    asked = client.get(undo)
    assert "Undo: 12,50\xa0€ of this payment allocated to invoice 2026/A1 (Klant NV) is freed again." in asked.text
    assert "Afterwards: invoice 2026/A1 open, 100,00\xa0€ still due." in asked.text
    assert status_of(client, key, inv["id"])["status"] == "partially_paid"  # looking is not undoing
    client.post(undo, data={"csrf": csrf(asked.text)}, follow_redirects=False)
    assert notice(client.get("/ui/").text) == "Undone."
    assert status_of(client, key, inv["id"])["status"] == "open"


def test_an_empty_amount_takes_what_the_invoice_needs_and_the_tolerance_is_said_before(client):
    key = sign_in(client)
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    inv = invoice(client, key, "T1", "121.00")
    upload(client, key, ("120.50", None))
    tx = transaction("120.50")
    confirm = client.get(f"/ui/transactions/{tx}/allocate", params={"invoice_id": inv["id"], "amount": ""})
    assert "Allocate 120,50\xa0€" in confirm.text
    assert "The difference of 0,50\xa0€ is within the tolerance and will be written off." in confirm.text
    assert "invoice 2026/T1 paid, 0,00\xa0€ still due" in confirm.text
    client.post(
        f"/ui/transactions/{tx}/allocate",
        data={"csrf": csrf(confirm.text), "invoice_id": inv["id"], "amount": "120.50"},
        follow_redirects=False,
    )
    paid = status_of(client, key, inv["id"])
    assert (paid["status"], paid["write_off_amount"]) == ("paid", "0.50")


def test_a_wrong_amount_or_invoice_is_said_plainly_and_books_nothing(client):
    key = sign_in(client)
    inv = invoice(client, key, "W1", "10.00")
    upload(client, key, ("10.00", None))
    tx = transaction("10.00")
    for params, said in (
        ({"invoice_id": inv["id"], "amount": "12,505"}, "Amount &#39;12,505&#39; is not an amount such as 12,50."),
        ({"invoice_id": "inv_nope", "amount": "1"}, "no invoice inv_nope"),
        ({"invoice_id": inv["id"], "amount": "10,01"}, "10,01\xa0€ is more than the 10,00\xa0€ left of the payment"),
    ):
        answer = client.get(f"/ui/transactions/{tx}/allocate", params=params, follow_redirects=False)
        assert answer.status_code == 303
        assert notice(client.get("/ui/").text) == said
    upload(client, key, ("25.00", None), sequence=2, opening="10.00")
    tx25 = transaction("25.00")
    more = client.get(
        f"/ui/transactions/{tx25}/allocate", params={"invoice_id": inv["id"], "amount": "25"}, follow_redirects=False
    )
    assert more.status_code == 303
    assert notice(client.get("/ui/").text).startswith("25,00\xa0€ is more than the 10,00\xa0€ due on invoice 2026/W1")
    assert status_of(client, key, inv["id"])["status"] == "open"


def test_accepting_a_suggestion_shows_what_it_pays_first(client):
    key = sign_in(client)
    inv = invoice(client, key, "S1", "42.00")
    upload(client, key, ("42.00", None))
    page = client.get("/ui/").text
    [accept] = re.findall(r'href="(/ui/transactions/[^"]+/accept)"', page)
    confirm = client.get(accept)
    assert "Accept the suggestion: the payment from KLANT NV (42,00\xa0€) is allocated as below." in confirm.text
    assert "Afterwards: invoice 2026/S1 paid, 0,00\xa0€ still due." in confirm.text
    assert status_of(client, key, inv["id"])["status"] == "open"
    client.post(accept, data={"csrf": csrf(confirm.text)}, follow_redirects=False)
    assert notice(client.get("/ui/").text) == "Suggestion accepted."
    assert status_of(client, key, inv["id"])["status"] == "paid"


def test_money_out_is_listed_and_kept_as_a_bank_charge(client):
    key = sign_in(client)
    upload(client, key, ("-7.50", None), ("5.00", None))
    page = client.get("/ui/").text
    money_out = page[page.index('id="money_out"') : page.index('id="history"')]
    assert "-7,50" in money_out and "5,00" not in money_out
    tx = transaction("-7.50")
    confirm = client.get(f"/ui/transactions/{tx}/keep", params={"amount": "7,50", "reason": "bank_fee"})
    assert "Keep 7,50\xa0€ of the payment from KLANT NV without an invoice, reason: bank fee." in confirm.text
    client.post(
        f"/ui/transactions/{tx}/keep",
        data={"csrf": csrf(confirm.text), "amount": "7.50", "reason": "bank_fee"},
        follow_redirects=False,
    )
    kept = client.get(f"/v1/companies/{VAT}/transactions/{tx}", headers=key).json()
    assert (kept["status"], kept["unallocated_amount"]) == ("matched", "0.00")
    assert kept["write_offs"][0]["reason"] == "bank_fee"
    page = client.get("/ui/").text
    assert "No money out to account for." in page
    assert "7,50\xa0€ of a payment kept without an invoice" in page


# -- finding the invoice --------------------------------------------------------------------------------------


def test_candidates_are_ranked_by_evidence_and_search_finds_the_rest(client):
    key = sign_in(client)
    named = invoice(client, key, "0042", "80.00")  # its number is in the communication
    same_amount = invoice(client, key, "B7", "55.00")
    stranger = invoice(
        client, key, "Z9", "300.00", customer={"name": "Ander Bedrijf", "vat": "BE0417497106", "iban": None}
    )
    upload(client, key, ("55.00", None), name="NIEMAND")
    tx = transaction("55.00")
    with unit_of_work() as session:
        row = session.get(BankTransaction, tx)
        row.communication, row.counterparty_iban = "betaling factuur 2026/0042", None
        session.add(row)
    page = client.get("/ui/").text
    select_box = page[page.index(f'id="inv-{tx}"') : page.index("</select>", page.index(f'id="inv-{tx}"'))]
    offered = re.findall(r'<option value="(inv_[^"]+)"', select_box)
    assert offered[:2] == [named["id"], same_amount["id"]]  # a number typed beats an equal amount
    assert stranger["id"] not in offered
    assert "(invoice number)" in select_box and "(same amount)" in select_box
    assert "selected" not in select_box  # nothing chosen for the person
    searched = client.get("/ui/", params={"invoice_q": "Ander"}).text
    box = searched[searched.index(f'id="inv-{tx}"') : searched.index("</select>", searched.index(f'id="inv-{tx}"'))]
    assert stranger["id"] in box
    assert searched.count('id="invoice-') == 1  # the open invoices listed are those searched for
    by_payer = client.get("/ui/", params={"q": "niemand"}).text  # payments by payer, any case
    assert f'id="transaction-{tx}"' in by_payer
    assert f'id="transaction-{tx}"' not in client.get("/ui/", params={"q": "someone else"}).text
    assert f'id="transaction-{tx}"' in client.get("/ui/", params={"q": "55,00"}).text  # or by amount
    assert f'id="transaction-{tx}"' not in client.get("/ui/", params={"q": "56,00"}).text
    # "300,00", not "300": the other invoices' OGMs are random, and one in fifty holds the digits 300.
    by_amount = client.get("/ui/", params={"invoice_q": "300,00"}).text
    assert f'id="invoice-{stranger["id"]}"' in by_amount and by_amount.count('id="invoice-') == 1


def test_lists_are_paged_with_their_true_counts(client):
    key = sign_in(client)
    batch = [invoice_body(f"P{n:02d}", total=f"{10 + n}.00") for n in range(30)]
    client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=key).raise_for_status()
    first = client.get("/ui/").text
    assert "Open invoices (30)" in first and "1-25 of 30" in first
    assert first.count('id="invoice-') == 25
    [next_page] = re.findall(r'href="([^"]*page_invoices=2[^"]*)"', first)
    second = client.get(next_page.replace("&amp;", "&")).text
    assert "26-30 of 30" in second and second.count('id="invoice-') == 5
    assert "Previous" in second
    beyond = client.get("/ui/?page_invoices=99").text  # past the end: the last page
    assert "26-30 of 30" in beyond


# -- a bank file on the page ------------------------------------------------------------------------------------


def test_a_bank_file_uploaded_on_the_page_is_stored_once_and_a_bad_one_names_its_line(client):
    key = sign_in(client)
    inv = invoice(client, key, "U1", "30.00")
    data = payment_file(("30.00", inv["structured_reference"]), ("9.00", None))
    token = csrf(client.get("/ui/").text)
    sent = client.post("/ui/statements", data={"csrf": token}, files={"file": ("s.cod", data)}, follow_redirects=False)
    assert sent.status_code == 303
    assert notice(client.get("/ui/").text) == "Statement read: 2 new movements, 1 matched, 0 suggested."
    assert status_of(client, key, inv["id"])["status"] == "paid"
    client.post("/ui/statements", data={"csrf": token}, files={"file": ("s.cod", data)}, follow_redirects=False)
    assert notice(client.get("/ui/").text) == "This file was already imported: nothing new."
    broken = data.replace(b"\n2", b"\nX", 1)
    client.post("/ui/statements", data={"csrf": token}, files={"file": ("b.cod", broken)}, follow_redirects=False)
    assert re.search(r"line \d+", notice(client.get("/ui/").text))
    client.post("/ui/statements", data={"csrf": "0" * 32}, files={"file": ("s.cod", data)}, follow_redirects=False)
    assert "out of date" in notice(client.get("/ui/").text)
    with unit_of_work() as session:
        assert len(session.exec(select(BankTransaction)).all()) == 2
