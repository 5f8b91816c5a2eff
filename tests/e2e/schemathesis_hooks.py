"""schemathesis hooks for the fuzz run against a real server (tests/db/test_schemathesis_all_checks.py).

Two make the generated calls behave as a real client does where no schema can say what is valid:

- An ``Idempotency-Key`` is unique per request. The fuzzer reuses one value across different bodies, which the
  server rightly answers 422 ``idempotency-key-reused`` (the IETF draft's answer); each call gets a fresh key.
- A ``cursor`` is one the server issued. Any string of the documented alphabet that the server did not issue is
  a 422 ``invalid cursor``; a schema-valid cursor is dropped (the first page), one outside the alphabet is kept,
  so the fuzzer still sees it refused.

One drops a "schema-valid request rejected" (ST202) failure only when every error of the 422 is one of
SEMANTIC_RULES: rules that hold across fields, against registries or checksums, or against what is stored, which
the document states in words because JSON Schema cannot. Any other rejection of a schema-valid request, and every
other check, fails the run.
"""

from __future__ import annotations

import json
import os
import re
from uuid import uuid4

import schemathesis

from app.core.pagination import CURSOR_PATTERN

#: (where, what the server says): each a rule the document states in words, as JSON Schema cannot, with why.
SEMANTIC_RULES: tuple[tuple[str, str], ...] = (
    # Check digits (mod 97 of VAT numbers and IBANs) and code lists (ISO 3166, ISO 4217, UN/ECE rec. 20, the
    # syntax of an e-mail address): a pattern cannot compute or enumerate them.
    (r"body\.(vat|to|company_vat)|body\.customer\.vat", r"is not a valid Belgian enterprise/VAT number"),
    (r"body\.(bank_accounts|customer\.iban|counterparty_iban)(\.\d+)?", r"is not a valid IBAN"),
    (r"body\.(customer\.)?address\.country", r"must be an ISO 3166-1 alpha-2 country code"),
    (r"body\.currency", r"must be an ISO 4217 currency code"),
    (r"body\.lines\.\d+\.unit_code", r"must be a UN/ECE recommendation 20 code"),
    (r"body\.(customer\.)?email", r"not an e-mail address"),
    (r"body\.structured_reference", r"OGM|VCS|RF|ISO 11649|check digit|structured"),
    # A webhook target is checked where it points: https, a host that resolves, no private network.
    (r"body\.url", r"must be an https URL|does not resolve|private|loopback|may not contain spaces"),
    # JSON numbers: how many decimals a binary number has is not a keyword a client can rely on.
    (r"body\.(lines\.\d+\.(quantity|unit_price|vat_rate)|payment_tolerance\.percent)", r"at most 4 decimals"),
    # Rules across fields: one of two sets of fields, and figures that agree with each other.
    (r"body\.payment_tolerance", r"give amount, percent or both"),
    (r"body", r"a rule needs words, an account or a name|a payer rule names the customer"),
    (r"body", r"required \(or attach the invoice's UBL document\)|total_amount is required"),
    (r"body", r"due_date must not be before issue_date|lines come to|does not equal the lines' total"),
    (r"body", r"category O|reverse charge \(AE\)|send lines or a UBL document|at most one UBL document"),
    (r"body\.lines\.\d+", r"needs its vat_rate|needs its vat_exemption_reason|has no VAT|must not be zero"),
    (r"body\.total_amount", r"must be greater than zero"),
    # Strings are trimmed of Unicode spaces (NEL, NBSP...) before their length counts; the document's patterns
    # require one character that is not an ASCII space, but "\\s" differs between regex dialects.
    (r"body\.[a-z_.0-9]+", r"String should have at least \d+ characters?"),
    # Amounts against what is stored: a transaction's unallocated money, an invoice's amount due (the contract's
    # 422s for a decision that does not fit).
    (r"body\.amount", r"unallocated|amount due|allow_overpayment"),
    # What the body names must exist at the company.
    (r"body\.(transaction_id|invoice_id)", r"unknown (transaction|invoice)"),
    # A bank file is read by its format (CODA's 128-character records, camt.053's XML), not by a schema.
    (r"line \d+|", r"incomplete file|empty file|not a camt|not CODA text|record"),
)


def _semantic(error: dict) -> bool:
    where = str(error.get("loc") or (f"line {error['line']}" if error.get("line") else ""))
    message = str(error.get("message", ""))
    return any(re.fullmatch(loc, where) and re.search(text, message) for loc, text in SEMANTIC_RULES)


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = uuid4().hex
    query = case.query or {}
    cursor = query.get("cursor")
    if isinstance(cursor, str) and re.fullmatch(CURSOR_PATTERN, cursor):
        del query["cursor"]


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    if failure.code != "ST202" or response.status_code != 422:
        return True
    try:
        errors = json.loads(response.content).get("errors") or []
    except ValueError:
        return True
    dropped = bool(errors) and all(_semantic(e) for e in errors)
    if dropped and os.environ.get("CODARECON_FUZZ_DROPPED"):  # which rules a run leaned on, to review them
        with open(os.environ["CODARECON_FUZZ_DROPPED"], "a", encoding="utf-8") as log:
            for error in errors:
                log.write(f"{case.operation.label}\t{error.get('loc') or error.get('line')}\t{error.get('message')}\n")
    return not dropped
