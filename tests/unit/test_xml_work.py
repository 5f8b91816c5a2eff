"""UBL documents go to worker processes (app/peppol/work.py) within a size cap: a larger document is refused by
its size with rule XML, before any worker reads it; one within it gets its facts and, when asked, its report."""

from __future__ import annotations

from app.peppol import work as xml_work
from app.peppol.validation import Finding, Report


def test_a_document_over_the_cap_is_refused_by_its_size_unread(monkeypatch):
    monkeypatch.setattr(xml_work, "run", lambda *_: (_ for _ in ()).throw(AssertionError("sent to a worker")))
    facts, report = xml_work.read_ubl(b"<" + b"x" * xml_work.MAX_UBL_BYTES + b"/>", check=True)
    assert isinstance(facts, Finding) and facts.rule == "XML" and report is None
    assert str(xml_work.MAX_UBL_BYTES) in facts.message
    assert xml_work.too_large(b"x" * xml_work.MAX_UBL_BYTES) is None  # the cap itself is taken


def test_a_document_is_read_and_checked_in_a_worker():
    from tests.api.test_client_ubl import ubl

    facts, report = xml_work.read_ubl(ubl(), check=True)
    assert not isinstance(facts, Finding) and facts.number == "2026/UBL-1"
    assert isinstance(report, Report) and report.valid
    unchecked = xml_work.read_ubl(ubl(), check=False)
    assert unchecked[1] is None
