"""Validate UBL invoices and credit notes with the official rules: CEN's EN 16931 stylesheet and OpenPEPPOL's
Peppol BIS Billing 3.0 stylesheet (app/peppol/rules, EUPL-1.2), run by Saxon-HE (saxonche).

Each stylesheet is compiled once per process, at first use (about a second for both), then a document costs
milliseconds. Before Saxon sees a document, lxml reads it with a hardened parser (no DTD, no entities, no
network): a document that is not well-formed XML, or not a UBL Invoice or CreditNote, fails with a rule of
ours (``XML``, ``UBL-ROOT``) instead of reaching the stylesheets. Saxon parses the document again with the JDK's
parser, whose limits are narrower than lxml's (200 attributes on an element, namespace declarations included):
a document it refuses fails with ``XML`` too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

RULES = Path(__file__).resolve().parent / "rules"
EN16931 = RULES / "EN16931-UBL-validation.xslt"
PEPPOL = RULES / "PEPPOL-EN16931-UBL.xsl"

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
ROOTS = {f"{{{INVOICE_NS}}}Invoice": "Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "CreditNote"}
SVRL = "http://purl.oclc.org/dsdl/svrl"

#: Far above any real invoice (the Peppol network's own limit is 100 MB with attachments): a guard, not a policy.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    location: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "location": self.location}


@dataclass
class Report:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    root: str | None = None  # "Invoice" or "CreditNote" once the document was read

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def failed_rules(self) -> str:
        """The ids of the failed rules, each once, in order: "BR-CO-16, BR-S-08"."""
        return ", ".join(dict.fromkeys(e.rule for e in self.errors))

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def read_ubl(data: bytes) -> tuple[Any, str] | Finding:
    """The parsed document and its kind ("Invoice" or "CreditNote"), or why it cannot be one."""
    if len(data) > MAX_DOCUMENT_BYTES:
        return Finding("XML", f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return Finding("XML", f"not well-formed XML: {exc.msg}", f"line {exc.lineno}")
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None or tree.docinfo.doctype:
        # Entities (and their expansion bombs) live in a DTD; UBL documents never carry one.
        return Finding("XML", "a UBL document carries no DOCTYPE (entities are not accepted)", "line 1")
    kind = ROOTS.get(root.tag)
    if kind is None:
        return Finding("UBL-ROOT", f"the root element is {root.tag}, not a UBL 2.1 Invoice or CreditNote", "/")
    return root, kind


class _Stylesheets:
    """Saxon and the two compiled stylesheets, made once per process at first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._compiled: tuple[Any, Any, Any] | None = None

    def _compile(self) -> tuple[Any, Any, Any]:
        from saxonche import PySaxonProcessor  # a native library: loaded only by processes that validate

        processor = PySaxonProcessor(license=False)
        compiler = processor.new_xslt30_processor()
        en16931 = compiler.compile_stylesheet(stylesheet_file=str(EN16931))
        peppol = compiler.compile_stylesheet(stylesheet_file=str(PEPPOL))
        return processor, en16931, peppol

    def run(self, text: str, *, peppol: bool) -> list[bytes] | Finding:
        """The SVRL report of each stylesheet, or why Saxon's parser refuses the document."""
        # One transformation at a time per process: each takes milliseconds, and SaxonC's thread attachment
        # is not worth the risk for that.
        with self._lock:
            if self._compiled is None:
                self._compiled = self._compile()
            processor, en16931, peppol_rules = self._compiled
            from saxonche import PySaxonApiError  # loaded by _compile already

            try:
                node = processor.parse_xml(xml_text=text)
            except PySaxonApiError as exc:
                # Only the parse is the document's fault: an error in the stylesheets stays an error of ours.
                return Finding("XML", f"the XML parser refuses the document: {' '.join(str(exc).split())}")
            sheets = [en16931, peppol_rules] if peppol else [en16931]
            return [sheet.transform_to_string(xdm_node=node).encode() for sheet in sheets]


STYLESHEETS = _Stylesheets()


def _findings(svrl: bytes, report: Report) -> None:
    root = etree.fromstring(svrl, _parser())
    for failed in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(failed.itertext()).split())
        finding = Finding(failed.get("id") or "unnamed", text, failed.get("location"))
        (report.warnings if failed.get("flag") == "warning" else report.errors).append(finding)


def validate_ubl(data: bytes, *, peppol: bool = True) -> Report:
    """Every EN 16931 rule, and the Peppol BIS 3 rules unless ``peppol`` is False, applied to ``data``."""
    read = read_ubl(data)
    if isinstance(read, Finding):
        return Report(errors=[read])
    root, kind = read
    report = Report(root=kind)
    text = etree.tostring(root, encoding="unicode")  # the parsed tree again: Saxon never sees a DTD
    reports = STYLESHEETS.run(text, peppol=peppol)
    if isinstance(reports, Finding):
        return Report(errors=[reports])
    for svrl in reports:
        _findings(svrl, report)
    return report
