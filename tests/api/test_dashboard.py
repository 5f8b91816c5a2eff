"""Dashboard figures: open, overdue, paid this month, ageing, DSO, match rates, review queue."""

from __future__ import annotations

from datetime import date, timedelta

from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key


def test_summary_figures(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    read = make_key(client, scope="read")
    today = date.today()

    def invoice(ext, total, due_days_ago, ref=None):
        due = today - timedelta(days=due_days_ago)
        issue = min(due, today) - timedelta(days=5)
        body = invoice_body(ext, total=total, issue_date=issue.isoformat(), due_date=due.isoformat())
        if ref:
            body["structured_reference"] = ref
        response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
        assert response.status_code == 201, response.text
        return response.json()

    invoice("A", "100.00", -10)  # not due yet
    invoice("B", "200.00", 5)  # 1-30 days late
    invoice("C", "300.00", 45)  # 31-60
    invoice("D", "400.00", 120)  # over 90
    invoice("E", "50.00", -3, ref="+++090/9337/55493+++")  # paid below
    invoice("F", "60.00", -3, ref="+++000/0000/00101+++")  # paid below, by a transfer of 70
    client.post(
        f"/v1/companies/{VAT}/statements",
        content=payment_file(
            ("50.00", "+++090/9337/55493+++"), ("7.00", None), ("70.00", "+++000/0000/00101+++"), day=today
        ),
        headers=key,
    )

    response = client.get(f"/v1/companies/{VAT}/summary", headers=read)
    assert response.status_code == 200, response.text
    s = response.json()
    assert s["open"] == {"count": 4, "amount": "1000.00"}
    assert s["overdue"] == {"count": 3, "amount": "900.00"}
    assert s["paid_this_month"] == {"count": 2, "amount": "110.00"}
    assert s["ageing"] == {
        "not_due": {"count": 1, "amount": "100.00"},
        "1_30": {"count": 1, "amount": "200.00"},
        "31_60": {"count": 1, "amount": "300.00"},
        "61_90": {"count": 0, "amount": "0.00"},
        "over_90": {"count": 1, "amount": "400.00"},
    }
    # Receivables 1000 over sales of the last 90 days (A, B, C, E, F = 710) x 90 days.
    assert s["days_sales_outstanding"] == round(1000 / 710 * 90, 1)
    m = s["matching"]
    assert (m["incoming_transactions"], m["matched"], m["partially_matched"], m["unmatched"]) == (3, 1, 1, 1)
    # Money, not transactions: 110.00 of the 127.00 that came in is accounted for; 17.00 is not.
    assert (m["incoming_amount"], m["allocated_amount"], m["unallocated_amount"]) == ("127.00", "110.00", "17.00")
    assert (m["match_rate"], m["auto_match_rate"]) == (round(110 / 127, 4), round(110 / 127, 4))
    assert m["transaction_match_rate"] == round(1 / 3, 4)
    assert m["review_queue"] == 2  # the 7.00 nobody claimed and the 10.00 left of the 70.00


def test_admin_overview_and_access(client):
    make_company(client)
    make_company(client, vat=OTHER_VAT, name="Other")
    key = make_key(client)
    overview = client.get("/v1/overview", headers=ADMIN)
    assert overview.status_code == 200
    assert [c["company_vat"] for c in overview.json()["companies"]] == sorted([VAT, OTHER_VAT])
    assert overview.json()["companies"][0]["open"] == {"count": 0, "amount": "0.00"}
    assert client.get("/v1/overview", headers=key).status_code == 403
    assert client.get(f"/v1/companies/{OTHER_VAT}/summary", headers=key).status_code == 404
