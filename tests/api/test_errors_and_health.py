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


def test_malformed_json_is_422_problem(client):
    response = client.post("/v1/companies", content=b"{not json", headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"]


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
