"""Every error is problem+json; probes answer without auth."""

from __future__ import annotations

from tests.helpers import ADMIN


def test_unknown_route_is_problem_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail"}


def test_wrong_method_is_problem_405(client):
    response = client.put("/v1/companies", headers=ADMIN)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_a_400_problem(client):
    """Nothing of a body that is not JSON can be read, so no field is named: 400 bad-request, as the README says."""
    response = client.post("/v1/companies", content=b"{not json", headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/bad-request") and body["detail"].startswith("the body is not well-formed JSON")
    assert body["errors"]


def test_a_json_route_sent_another_content_type_is_a_415(client):
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(
            "/v1/companies",
            content=b'{"vat": "BE0403200393", "name": "x"}',
            headers={**ADMIN, "content-type": content_type},
        )
        assert response.status_code == 415, response.text
        assert response.json()["type"].endswith("/unsupported-media-type")
        assert content_type in response.json()["detail"]
    # application/json with a charset, or a +json type, is JSON.
    response = client.post(
        "/v1/companies",
        content=b'{"vat": "BE0403200393", "name": "Demo"}',
        headers={**ADMIN, "content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


def test_an_unknown_query_parameter_is_a_400_naming_it(client):
    from tests.helpers import VAT, make_company

    make_company(client)
    response = client.get(f"/v1/companies/{VAT}/invoices?updated_sinse=2026-01-01&status=open", headers=ADMIN)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"].endswith("/bad-request") and "updated_sinse" in body["detail"]
    assert body["errors"] == [{"loc": "query.updated_sinse", "message": "not a parameter of this route"}]
    # What the route takes is fine, and so is the hot invoice read without any.
    assert client.get(f"/v1/companies/{VAT}/invoices?status=open&limit=5", headers=ADMIN).status_code == 200
    assert client.get(f"/v1/companies/{VAT}/invoices/inv_x?x=1", headers=ADMIN).status_code == 400


def test_unknown_fields_are_refused(client):
    response = client.post("/v1/companies", json={"vat": "BE0403200393", "name": "x", "nmae": "y"}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.nmae"


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


def test_a_database_outage_is_a_503_with_retry_after_and_no_sql_in_the_answer(client, monkeypatch, tmp_path):
    from sqlmodel import Session

    from app.companies.access import company_cache
    from app.core import db
    from tests.helpers import ADMIN, VAT

    unreachable = db.make_engine(f"sqlite:///{tmp_path}/gone/x.db")
    (tmp_path / "gone" / "x.db").unlink()
    (tmp_path / "gone").rmdir()  # the file and its directory vanish: every connection fails
    unreachable.dispose()
    monkeypatch.setattr(db, "new_session", lambda read_only=False: Session(unreachable))
    company_cache.clear()
    response = client.get(f"/v1/companies/{VAT}/invoices", headers=ADMIN)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unavailable")
    assert "SELECT" not in response.text
    # The same keep-alive connection answers the next request normally.
    assert client.get("/healthz").status_code == 200


def test_the_root_leads_to_the_documentation(client):
    response = client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/docs")


def test_the_documentation_works_without_internet(client):
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert f"/docs-assets/{asset}" in html
        assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html
        served = client.get(f"/docs-assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000


def test_an_amount_a_bank_booked_with_a_third_decimal_is_shown_with_it(client):
    """ING's sample (more-samples, supervos sample2) closes at 23154.685: money is shown as booked, two
    decimals unless the bank wrote a third, so that opening + movements = closing holds in what the API says."""
    from tests.conftest import SAMPLES_DIR
    from tests.helpers import VAT, make_company, make_key

    path = SAMPLES_DIR.parent / "more-samples" / "coda" / "supervos-coda-parser__sample2.cod"
    if not path.is_file():
        import pytest

        pytest.skip(f"{path} is not there (../shared beside the repository)")
    make_company(client)
    key = make_key(client)
    response = client.post(f"/v1/companies/{VAT}/statements", content=path.read_bytes(), headers=key)
    assert response.status_code == 201, response.text
    [statement] = response.json()["statements"]
    assert statement["closing_balance"] == "23154.685"
