"""Invoice registration, idempotency, batch, listing, cancellation and input validation."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import func, select

from app.identifiers.references import is_valid_ogm_digits
from tests.helpers import ADMIN, VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client)
    return make_key(client)


def post(client, key, body, **kw):
    return client.post(f"/v1/companies/{VAT}/invoices", json=body, headers={**key, **kw.pop("headers", {})}, **kw)


def count_invoices() -> int:
    from app.core.db import unit_of_work
    from app.invoices.models import Invoice

    with unit_of_work() as session:
        return session.exec(select(func.count()).select_from(Invoice)).one()


def test_create_returns_the_contract_resource(client, key):
    response = post(client, key, invoice_body(structured_reference="090933755493"))
    assert response.status_code == 201
    body = response.json()
    assert body["structured_reference"] == "+++090/9337/55493+++"
    assert body["status"] == "open"
    assert body["total_amount"] == "121.00"
    assert body["amount_paid"] == "0.00"
    assert body["amount_due"] == "121.00"
    assert body["paid_at"] is None
    assert body["allocations"] == []
    assert body["delivery"] == {"status": "disabled", "attempts": 0, "last_error": None}
    assert body["customer"]["iban"] == "BE71096123456769"


def test_reference_generated_when_absent_is_a_valid_unique_ogm(client, key):
    refs = {post(client, key, invoice_body(f"E{i}")).json()["structured_reference"] for i in range(20)}
    assert len(refs) == 20
    for ref in refs:
        digits = ref.strip("+").replace("/", "")
        assert is_valid_ogm_digits(digits)


@pytest.mark.parametrize(
    "notation",
    ["+++090/9337/55493+++", "***090/9337/55493***", "090933755493", "090/9337/55493", " 090 9337 55493 "],
)
def test_any_usual_ogm_notation_is_normalised(client, key, notation):
    body = post(client, key, invoice_body(structured_reference=notation)).json()
    assert body["structured_reference"] == "+++090/9337/55493+++"


def test_rf_reference_is_accepted(client, key):
    body = post(client, key, invoice_body(structured_reference="rf18 5390 0754 7034")).json()
    assert body["structured_reference"] == "RF18539007547034"


def test_same_external_id_same_content_is_idempotent(client, key):
    first = post(client, key, invoice_body())
    again = post(client, key, invoice_body())
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert count_invoices() == 1


def test_same_external_id_other_content_is_409(client, key):
    post(client, key, invoice_body())
    response = post(client, key, invoice_body(total="99.00"))
    assert response.status_code == 409
    assert count_invoices() == 1


def test_reference_used_by_another_invoice_is_409(client, key):
    post(client, key, invoice_body("A", structured_reference="090933755493"))
    response = post(client, key, invoice_body("B", structured_reference="+++090/9337/55493+++"))
    assert response.status_code == 409
    assert "already used" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_amount", "12.345"),
        ("total_amount", "-5.00"),
        ("total_amount", "abc"),
        ("total_amount", "1e13"),
        ("total_amount", "0"),
        ("total_amount", True),
        ("structured_reference", "+++090/9337/55494+++"),
        ("structured_reference", "RF00123"),
        ("issue_date", "2026-13-01"),
        ("currency", "euro"),
        ("documents", [{"filename": "a.pdf", "content_type": "application/pdf", "content_base64": "!!!"}]),
    ],
)
def test_bad_input_is_422_problem_and_nothing_stored(client, key, field, value):
    response = post(client, key, invoice_body(**{field: value}))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422
    assert any(field in e["loc"] for e in problem["errors"])
    assert count_invoices() == 0


def test_due_before_issue_is_refused(client, key):
    response = post(client, key, invoice_body(issue_date="2026-11-10", due_date="2026-11-01"))
    assert response.status_code == 422


def test_numbers_are_accepted_as_amounts(client, key):
    assert post(client, key, invoice_body(total=121.1)).json()["total_amount"] == "121.10"


def test_documents_are_kept(client, key):
    pdf = b"%PDF-1.4 demo"
    doc = {
        "filename": "inv.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(pdf).decode(),
    }
    body = post(client, key, invoice_body(documents=[doc])).json()
    assert body["documents"][0]["size"] == len(pdf)
    assert body["documents"][0]["filename"] == "inv.pdf"


def test_batch_reports_each_invoice(client, key):
    invoices = [
        invoice_body("B1"),
        invoice_body("B2", total="bad"),
        invoice_body("B3", structured_reference="090933755493"),
        invoice_body("B4", structured_reference="090933755493"),
        invoice_body("B1"),
    ]
    response = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": invoices}, headers=key)
    assert response.status_code == 207
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [201, 422, 201, 409, 200]
    results = response.json()["results"]
    assert results[4]["invoice"]["id"] == results[0]["invoice"]["id"]
    assert results[1]["problem"]["errors"][0]["loc"] == "total_amount"
    assert count_invoices() == 2
    # Each result's invoice is the resource GET returns, field for field; a result has its invoice or its problem.
    for result in (results[0], results[2]):
        assert (
            result["invoice"]
            == client.get(f"/v1/companies/{VAT}/invoices/{result['invoice']['id']}", headers=key).json()
        )
        assert "problem" not in result
    assert "invoice" not in results[1] and "invoice" not in results[3]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4] and results[3]["external_id"] == "B4"


def test_batch_all_good_is_200_and_resend_creates_nothing(client, key):
    invoices = [invoice_body(f"C{i}") for i in range(50)]
    first = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": invoices}, headers=key)
    assert first.status_code == 200
    again = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": invoices}, headers=key)
    assert [r["status"] for r in again.json()["results"]] == [200] * 50
    assert count_invoices() == 50


def test_batch_over_1000_is_422(client, key):
    invoices = [invoice_body(f"D{i}") for i in range(1001)]
    assert (
        client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": invoices}, headers=key).status_code == 422
    )


def test_list_paginates_with_cursor_and_filters(client, key):
    ids = [post(client, key, invoice_body(f"L{i}", due_date=f"2026-12-{10 + i:02d}")).json()["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/companies/{VAT}/invoices", params=params, headers=key).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)
    due = client.get(f"/v1/companies/{VAT}/invoices", params={"due_before": "2026-12-12"}, headers=key).json()
    assert len(due["items"]) == 2
    one = client.get(f"/v1/companies/{VAT}/invoices", params={"external_id": "L3"}, headers=key).json()
    assert [i["external_id"] for i in one["items"]] == ["L3"]
    assert client.get(f"/v1/companies/{VAT}/invoices", params={"status": "paid"}, headers=key).json()["items"] == []
    assert client.get(f"/v1/companies/{VAT}/invoices", params={"status": "bogus"}, headers=key).status_code == 422
    assert client.get(f"/v1/companies/{VAT}/invoices", params={"cursor": "garbage!"}, headers=key).status_code == 422
    assert client.get(f"/v1/companies/{VAT}/invoices", params={"limit": 501}, headers=key).status_code == 422


def test_cancel(client, key):
    invoice = post(client, key, invoice_body()).json()
    response = client.post(f"/v1/companies/{VAT}/invoices/{invoice['id']}/cancel", headers=key)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["amount_due"] == "0.00"
    again = client.post(f"/v1/companies/{VAT}/invoices/{invoice['id']}/cancel", headers=key)
    assert again.json()["status"] == "cancelled"
    assert client.post(f"/v1/companies/{VAT}/invoices/inv_nope/cancel", headers=key).status_code == 404


def test_idempotency_key_replays_and_refuses_reuse(client, key):
    headers = {"Idempotency-Key": "k-1"}
    first = post(client, key, invoice_body(), headers=headers)
    replay = post(client, key, invoice_body(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    other = post(client, key, invoice_body("OTHER"), headers=headers)
    assert other.status_code == 422
    assert count_invoices() == 1


def test_idempotency_keys_are_per_credential(client, key):
    admin = post(client, ADMIN, invoice_body("X1"), headers={"Idempotency-Key": "shared"})
    mine = post(client, key, invoice_body("X2"), headers={"Idempotency-Key": "shared"})
    assert admin.status_code == mine.status_code == 201
    assert count_invoices() == 2


def test_a_batch_meeting_stored_invoices_answers_each_and_stores_only_the_new_ones(client, key):
    """The first insert guesses that nothing is stored; a stored invoice or reference proves it wrong, and then
    the whole insert is undone and each invoice answered from what is stored (nothing twice, nothing half)."""
    stored = [invoice_body("S1"), invoice_body("S2"), invoice_body("S3", structured_reference="090933755493")]
    assert client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": stored}, headers=key).status_code == 200
    before = {
        r["external_id"]: r["invoice"]
        for r in client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": stored}, headers=key).json()[
            "results"
        ]
    }
    batch = [
        invoice_body("N1"),
        invoice_body("S1"),  # the same again: the stored one (200)
        invoice_body("N2"),
        invoice_body("S2", total="999.00"),  # other content: 409
        invoice_body("N3", structured_reference="090933755493"),  # S3's reference: 409
        invoice_body("N4", structured_reference="+++000/0000/09797+++"),
    ]
    response = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=key)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 200, 201, 409, 409, 201]
    assert results[1]["invoice"] == before["S1"]
    assert results[4]["problem"]["detail"].endswith("already used by invoice S3")
    assert count_invoices() == 6
    created = [results[i]["invoice"] for i in (0, 2, 5)]
    for invoice in created:
        assert client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json() == invoice
    references = [inv["structured_reference"] for inv in (*before.values(), *created)]
    assert len(set(references)) == 6 and created[2]["structured_reference"] == "+++000/0000/09797+++"


def test_a_ubl_document_is_checked_once_even_when_the_batch_is_looked_at_twice(client, key, monkeypatch):
    from app.invoices import service
    from tests.api.test_client_ubl import body as ubl_body
    from tests.api.test_client_ubl import ubl

    assert client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": [invoice_body("S1")]}, headers=key)
    checks: list[bytes] = []
    real = service.xml_work.read_ubls
    monkeypatch.setattr(service.xml_work, "read_ubls", lambda documents: checks.extend(documents) or real(documents))
    batch = [ubl_body(ubl(), external_id="U1"), invoice_body("S1")]  # S1 is stored: the insert is tried twice
    results = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": batch}, headers=key).json()
    assert [r["status"] for r in results["results"]] == [201, 200]
    assert len(checks) == 1
