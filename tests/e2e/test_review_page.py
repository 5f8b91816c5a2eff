"""The review page in a real browser (Debian's Chromium driven by Playwright), on a phone (390 px) and a desk
(1280 px): a person signs in with a company key, accepts a suggestion after seeing what it pays, splits a
payment, keeps the rest, undoes it; the page never scrolls sideways. Screenshots are kept as test artefacts
(var/screenshots, or CODARECON_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.coda_builders import payment_file
from tests.e2e.conftest import ADMIN_TOKEN
from tests.helpers import IBAN, VAT, invoice_body

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_DIR = Path(os.environ.get("CODARECON_SCREENSHOT_DIR", "var/screenshots"))

if not CHROMIUM and os.environ.get("CODARECON_REQUIRE_BROWSER") != "1":
    pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)", allow_module_level=True)


WIDTHS = (390, 1280)
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _company_with_key(server: str) -> tuple[str, dict[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server, timeout=30) as api:
        api.post(
            "/v1/companies", json={"vat": VAT, "name": "Demo BV", "bank_accounts": [IBAN]}, headers=admin
        ).raise_for_status()
        key = api.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "write"}, headers=admin).json()["key"]
    return key, {"Authorization": f"Bearer {key}"}


def _signed_in_page(pw, server: str, key: str, width: int):
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-GB")
    page.goto(f"{server}/ui/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    return browser, page


def _fits(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_accepting_a_suggestion_in_the_browser_pays_the_invoice(server, width):
    from playwright.sync_api import expect, sync_playwright

    key, auth = _company_with_key(server)
    with httpx.Client(base_url=server, timeout=30) as api:
        invoice = api.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=auth).json()
        # A transfer of the right amount with no reference: the matcher can only suggest it.
        upload = api.post(f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", None)), headers=auth)
        assert upload.json()["matching"]["suggested"] == 1

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, server, key, width)
        expect(page.get_by_role("heading", name="Suggestions to review (1)")).to_be_visible()
        expect(page.get_by_text("is the amount due of invoice 2026/INV-1")).to_be_visible()
        _fits(page, width)
        page.screenshot(path=str(SCREENSHOT_DIR / f"review-{width}-before.png"), full_page=True)
        page.get_by_role("link", name="Accept").click()
        expect(page.get_by_text("Afterwards: invoice 2026/INV-1 paid, 0,00 € still due.")).to_be_visible()
        _fits(page, width)
        page.screenshot(path=str(SCREENSHOT_DIR / f"review-{width}-confirm.png"), full_page=True)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("status")).to_have_text("Suggestion accepted.")
        expect(page.get_by_role("heading", name="Suggestions to review (0)")).to_be_visible()
        expect(page.locator(f"#invoice-{invoice['id']}")).to_have_count(0)  # no longer open
        page.screenshot(path=str(SCREENSHOT_DIR / f"review-{width}-after.png"), full_page=True)
        browser.close()

    with httpx.Client(base_url=server, timeout=30) as api:
        paid = api.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=auth).json()
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["created_by"].startswith("ui:")
    assert (SCREENSHOT_DIR / f"review-{width}-after.png").stat().st_size > 10_000


def test_a_wrong_key_is_turned_away(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(locale="en-GB")
        page.goto(f"{server}/ui/login")
        page.get_by_label("API key").fill("key_nope.secret")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("status")).to_have_text("That is not a company API key.")
        browser.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_splitting_a_payment_keeping_the_rest_and_undoing_on_the_page(server, width):
    from playwright.sync_api import expect, sync_playwright

    key, auth = _company_with_key(server)
    with httpx.Client(base_url=server, timeout=30) as api:
        first = api.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A", total="20.00"), headers=auth).json()
        second = api.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("B", total="15.00"), headers=auth).json()
        api.post(f"/v1/companies/{VAT}/statements", content=payment_file(("42.00", None)), headers=auth)
        [tx] = api.get(f"/v1/companies/{VAT}/transactions", headers=auth).json()["items"]

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _signed_in_page(pw, server, key, width)
        row = page.locator(f"#transaction-{tx['id']}")
        expect(row).to_contain_text("42,00 €")
        row.get_by_label("Invoice").select_option(first["id"])
        row.get_by_label("Amount").fill("20,00")  # as a Belgian types it
        row.get_by_role("button", name="Allocate").click()
        expect(page.get_by_text("Afterwards 22,00 € of the payment is left.")).to_be_visible()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("status")).to_have_text("Allocated.")
        # The remainder stays on the page, to be split further.
        expect(row.locator("td.left")).to_contain_text("22,00 €")
        row.get_by_label("Invoice").select_option(second["id"])
        row.get_by_role("button", name="Allocate").click()  # no amount: what the invoice needs
        page.get_by_role("button", name="Confirm").click()
        expect(row.locator("td.left")).to_contain_text("7,00 €")
        row.get_by_role("button", name="Keep the rest (7,00 €)").click()
        expect(page.get_by_text("Keep 7,00 € of the payment from KLANT NV without an invoice")).to_be_visible()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("All money in is accounted for.")).to_be_visible()
        _fits(page, width)
        page.screenshot(path=str(SCREENSHOT_DIR / f"review-{width}-split.png"), full_page=True)
        page.get_by_role("link", name="Undo").first.click()  # the newest: the rest kept
        expect(page.get_by_text("Undo: 7,00 € of the payment kept without an invoice (manual).")).to_be_visible()
        page.get_by_role("button", name="Confirm").click()  # undo asks first, like every action
        expect(page.get_by_role("status")).to_have_text("Undone.")
        expect(row).to_contain_text("7,00 €")
        browser.close()

    with httpx.Client(base_url=server, timeout=30) as api:
        statuses = [
            api.get(f"/v1/companies/{VAT}/invoices/{i['id']}", headers=auth).json()["status"] for i in (first, second)
        ]
        after = api.get(f"/v1/companies/{VAT}/transactions/{tx['id']}", headers=auth).json()
    assert statuses == ["paid", "paid"]
    assert (after["status"], after["unallocated_amount"]) == ("partially_matched", "7.00")
