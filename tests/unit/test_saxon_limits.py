"""A document that lxml reads but Saxon's parser refuses (the JDK's limits: 200 attributes on an element,
namespace declarations included) fails by the rule ``XML``, like any unreadable document, and leaves Saxon
ready for the next one. Only the parse is the document's fault: an error in the stylesheets still raises."""

from __future__ import annotations

import pytest
from saxonche import PySaxonApiError

from app.peppol import validation
from app.peppol.validation import INVOICE_NS, validate_ubl
from tests.conftest import peppol_examples


def with_attributes(count: int) -> bytes:
    attributes = " ".join(f'a{n}="x"' for n in range(count))
    return f'<Invoice xmlns="{INVOICE_NS}" {attributes}/>'.encode()


def with_namespaces(count: int) -> bytes:
    declarations = " ".join(f'xmlns:p{n}="urn:example:{n}"' for n in range(count))
    return f'<Invoice xmlns="{INVOICE_NS}" {declarations}/>'.encode()


BEYOND_SAXON = {"300 attributes": with_attributes(300), "20,000 namespaces": with_namespaces(20_000)}


@pytest.mark.parametrize("document", BEYOND_SAXON.values(), ids=BEYOND_SAXON.keys())
def test_a_document_beyond_the_parsers_limits_fails_by_the_xml_rule(document):
    report = validate_ubl(document)
    [finding] = report.errors
    assert (report.valid, finding.rule) == (False, "XML")
    assert "the XML parser refuses the document" in finding.message
    assert "attributes" in finding.message  # Saxon's own words say which limit


def test_saxon_still_validates_after_refusing_a_document():
    assert validate_ubl(with_attributes(300)).errors[0].rule == "XML"
    [base] = [p for p in peppol_examples() if p.name == "base-example.xml"]
    assert validate_ubl(base.read_bytes()).valid


def test_an_error_in_the_stylesheets_is_not_blamed_on_the_document(monkeypatch):
    class BrokenSheet:
        def transform_to_string(self, **_: object) -> str:
            raise PySaxonApiError("XTDE0000 the stylesheet failed")

    assert not validate_ubl(with_attributes(3)).valid  # compiled, and the rules run: a bare Invoice fails them
    processor, _, _ = validation.STYLESHEETS._compiled
    monkeypatch.setattr(validation.STYLESHEETS, "_compiled", (processor, BrokenSheet(), BrokenSheet()))
    with pytest.raises(PySaxonApiError, match="XTDE0000"):
        validate_ubl(with_attributes(3))
