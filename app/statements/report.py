"""Render a parsed bank statement file for people (`codarecon statement parse FILE`) or machines (`--json`)."""

from __future__ import annotations

import json
from typing import Any

from app.core.money import format_amount
from app.statements.parsed import ParsedFile, ParsedStatement, ParsedTransaction, StatementWarning


def _transaction(t: ParsedTransaction) -> dict[str, Any]:
    return {
        "line": t.line,
        "sequence": t.sequence,
        "detail": t.detail,
        "kind": t.kind.value,
        "booking_date": t.booking_date.isoformat(),
        "value_date": t.value_date.isoformat(),
        "amount": format_amount(t.amount),
        "bank_reference": t.bank_reference,
        "transaction_code": t.transaction_code,
        "communication": t.communication,
        "structured_type": t.structured_type,
        "structured_reference": t.structured_reference,
        "counterparty": {"name": t.counterparty.name, "iban": t.counterparty.iban, "bic": t.counterparty.bic},
        "end_to_end_reference": t.end_to_end_reference,
    }


def _statement(st: ParsedStatement) -> dict[str, Any]:
    return {
        "line": st.line,
        "account_iban": st.account_iban,
        "account_number": st.account_number,
        "currency": st.currency,
        "sequence": st.sequence,
        "date": st.date.isoformat(),
        "opening_balance": format_amount(st.opening_balance),
        "closing_balance": format_amount(st.closing_balance),
        "duplicate": st.duplicate,
        "holder": st.account_holder_name,
        "transactions": [_transaction(t) for t in st.leaves],
        "totals": [_transaction(t) for t in st.transactions if not t.is_leaf],
        "warnings": [w.as_dict() for w in st.warnings],
    }


def report_dict(parsed: ParsedFile) -> dict[str, Any]:
    return {
        "encoding": parsed.encoding,
        "warnings": [w.as_dict() for w in parsed.warnings],
        "statements": [_statement(st) for st in parsed.statements],
    }


def _warning(w: StatementWarning) -> str:
    where = f" (line {w.line})" if w.line is not None else ""  # a file-wide warning has no line
    return f"warning{where}: {w.code}: {w.message}"


#: The columns of a movement line, above the movements of each statement.
HEADINGS = f"  {'line':>10}  {'booked':10}  {'amount':>14}  {'counterparty':30}  reference / communication"


def render_report(parsed: ParsedFile, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(report_dict(parsed), indent=2, ensure_ascii=False)
    out = [f"encoding: {parsed.encoding}"]
    out += [_warning(w) for w in parsed.warnings]
    for st in parsed.statements:
        out.append("")
        out.append(
            f"statement {st.sequence} of {st.account_iban} ({st.currency}) on {st.date}: "
            f"{format_amount(st.opening_balance)} -> {format_amount(st.closing_balance)}"
            + (" [duplicate]" if st.duplicate else "")
        )
        if st.leaves:
            out.append(HEADINGS)
        for t in st.leaves:
            reference = f" {t.structured_reference}" if t.structured_reference else ""
            who = t.counterparty.name or t.counterparty.iban or "-"
            out.append(
                f"  line {t.line:>5}  {t.booking_date}  {format_amount(t.amount):>14}  {who[:30]:30}{reference}"
                f"  {t.communication[:60]}"
            )
        for w in st.warnings:
            out.append("  " + _warning(w))
    return "\n".join(out)
