"""The official EN 16931 and Peppol BIS 3 rules, run in-process: the Peppol project's own examples pass, a
broken total fails by its rule id, and hostile or foreign XML never reaches the stylesheets."""

from __future__ import annotations

import re

import pytest

from app.peppol.validation import validate_ubl
from tests.conftest import peppol_examples


def test_every_peppol_example_passes_both_rule_sets():
    for example in peppol_examples():
        report = validate_ubl(example.read_bytes())
        assert (example.name, report.valid, report.errors) == (example.name, True, [])
        assert report.root in ("Invoice", "CreditNote")


def test_a_wrong_amount_due_fails_by_its_rule_with_its_location():
    [base] = [p for p in peppol_examples() if p.name == "base-example.xml"]
    text = base.read_text()
    broken = re.sub(r"(<cbc:PayableAmount currencyID=\"EUR\">)([0-9.]+)", r"\g<1>99999.99", text, count=1)
    assert broken != text
    report = validate_ubl(broken.encode())
    assert not report.valid
    [finding] = [e for e in report.errors if e.rule == "BR-CO-16"]
    assert "Amount due for payment" in finding.message
    assert "LegalMonetaryTotal" in finding.location


def test_the_peppol_rules_can_be_left_out():
    [base] = [p for p in peppol_examples() if p.name == "base-example.xml"]
    no_endpoint = re.sub(r"<cbc:EndpointID[^>]*>[^<]*</cbc:EndpointID>", "", base.read_text())
    assert "PEPPOL-EN16931-R010" in {e.rule for e in validate_ubl(no_endpoint.encode()).errors}
    assert validate_ubl(no_endpoint.encode(), peppol=False).valid  # EN 16931 itself has no endpoint rule


@pytest.mark.parametrize(
    ("document", "rule", "says"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "XML", "no DOCTYPE"),
        (b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>', "XML", "no DOCTYPE"),
        (b"<Invoice><ID>1</ID></Invoice>", "UBL-ROOT", "not a UBL 2.1 Invoice or CreditNote"),
        (b"<x", "XML", "not well-formed"),
        (b"", "XML", "not well-formed"),
    ],
)
def test_hostile_or_foreign_xml_is_refused_by_a_rule_of_ours(document, rule, says):
    report = validate_ubl(document)
    [finding] = report.errors
    assert (finding.rule, report.valid) == (rule, False)
    assert says in finding.message
