"""`codarecon statement parse` (alias `coda parse`): CODA or camt.053 told apart by content, stdin with `-`,
and one clear line with exit code 2 for a file that cannot be read."""

from __future__ import annotations

import io
import sys
from decimal import Decimal

import pytest

from app.cli import main
from tests.conftest import camt_sample, sample_path


def run(argv, capsys, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_both_formats_and_stdin(capsys, monkeypatch):
    camt = camt_sample("oca-bank-statement-import__ch_v04_one_entry_two_txdtls_isr_refs.xml")
    code, out, _ = run(["statement", "parse", str(camt)], capsys)
    assert code == 0 and "statement 58 of CH1111000000123456789 (CHF) on 2017-03-23" in out
    coda = sample_path("MANIFEST.md").parent
    first_coda = sorted(p for p in coda.iterdir() if p.suffix.lower() in (".cod", ".coda", ".txt"))[0]
    code, out, _ = run(["coda", "parse", "-"], capsys, first_coda.read_bytes(), monkeypatch)
    assert code == 0 and "statement" in out


def test_unreadable_input_is_one_line_and_exit_2(capsys, tmp_path):
    code, out, err = run(["statement", "parse", str(tmp_path / "missing.xml")], capsys)
    assert (code, out) == (2, "")
    assert err.strip().count("\n") == 0 and "cannot read" in err
    broken = camt_sample("genkgo-camt__malformed_v02_no_stmt.xml")
    code, _, err = run(["statement", "parse", str(broken)], capsys)
    assert code == 2 and "not a readable camt.053 file: line 3" in err


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--amount", "abc"], "'abc' is not an amount"),
        (["--amount", "1.005"], "at most 2 decimals"),
        (["--amount", "1", "--date", "31/02/2026"], "is not a date"),
        (["--amount", "1", "--ogm", "090933755494"], "check digits (mod 97) are wrong"),
        (["--amount", "1", "--counterparty", "BE00001000000177"], "is not a valid IBAN"),
    ],
)
def test_example_refuses_what_no_bank_would_write_in_one_line(capsys, arguments, says):
    with pytest.raises(SystemExit) as done:
        main(["coda", "example", "--account", "BE80001000000177", *arguments])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert says in err and err.count("\n") == 1


def test_example_takes_a_belgian_decimal_comma_and_date(capsys):
    from app.statements.coda import parse_coda

    code = main(["coda", "example", "--account", "BE80001000000177", "--amount", "12,50", "--date", "24/11/2026"])
    assert code == 0
    [statement] = parse_coda(capsys.readouterr().out.encode()).statements
    assert (statement.transactions[0].amount, statement.date.isoformat()) == (Decimal("12.50"), "2026-11-24")


def test_the_text_report_has_column_headings_and_says_no_line_where_there_is_none():
    from app.statements.coda import parse_coda
    from app.statements.parsed import StatementWarning
    from app.statements.report import render_report
    from tests.coda_builders import payment_file

    parsed = parse_coda(payment_file(("12.50", "090933755493")))
    parsed.warnings.append(StatementWarning("trailer_count", "a file-wide warning"))
    lines = render_report(parsed, as_json=False).splitlines()
    headings = lines.index(next(line for line in lines if "counterparty" in line))
    assert lines[headings].split() == ["line", "booked", "amount", "counterparty", "reference", "/", "communication"]
    movement = lines[headings + 1].split()
    assert movement[:4] == ["line", "3", "2026-11-20", "12.50"]
    assert "warning: trailer_count: a file-wide warning" in lines
    assert not any("line None" in line for line in lines)
