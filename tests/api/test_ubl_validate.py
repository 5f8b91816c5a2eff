"""POST /v1/ubl/validate: any key checks a UBL document against the official rules before sending it."""

from __future__ import annotations

from tests.conftest import peppol_examples
from tests.helpers import make_company, make_key


def test_any_key_validates_a_document_and_gets_the_rule_ids(client):
    make_company(client)
    key = make_key(client, scope="read")
    [base] = [p for p in peppol_examples() if p.name == "base-example.xml"]
    xml = {**key, "Content-Type": "application/xml"}

    good = client.post("/v1/ubl/validate", content=base.read_bytes(), headers=xml)
    assert (good.status_code, good.json()) == (200, {"valid": True, "errors": [], "warnings": []})
    broken = base.read_text().replace("<cbc:DueDate>", "<cbc:DueDate>not-a-date", 1)
    bad = client.post("/v1/ubl/validate", content=broken.encode(), headers=xml)
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert all({"rule", "message", "location"} <= set(e) for e in bad.json()["errors"])
    assert bad.json()["errors"]


def test_only_xml_from_a_known_key(client):
    make_company(client)
    key = make_key(client, scope="read")
    assert (
        client.post("/v1/ubl/validate", content=b"<x/>", headers={"Content-Type": "application/xml"}).status_code == 401
    )
    wrong = client.post("/v1/ubl/validate", content=b"{}", headers={**key, "Content-Type": "application/json"})
    assert (wrong.status_code, wrong.headers["content-type"]) == (415, "application/problem+json")
    foreign = client.post("/v1/ubl/validate", content=b"<x/>", headers={**key, "Content-Type": "text/xml"}).json()
    assert [e["rule"] for e in foreign["errors"]] == ["UBL-ROOT"]


def test_a_document_beyond_saxons_parser_limits_is_refused_by_the_xml_rule(client):
    from tests.unit.test_saxon_limits import BEYOND_SAXON

    make_company(client)
    xml = {**make_key(client, scope="read"), "Content-Type": "application/xml"}
    for name, document in BEYOND_SAXON.items():
        answer = client.post("/v1/ubl/validate", content=document, headers=xml)
        assert answer.status_code == 200, (name, answer.text[:300])
        assert answer.json()["valid"] is False
        assert [e["rule"] for e in answer.json()["errors"]] == ["XML"], name
