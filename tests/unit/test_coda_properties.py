"""Mutated CODA files either parse or are refused with StatementFileError: never another exception (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.statements.coda import parse_coda
from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from app.statements.parsed import ParsedFile, StatementFileError

# Seconds per run: left out of `make mutate`'s per-mutant runs (see docs/testing.md).
# Money: run per mutant too (with fewer examples there, tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.money]

amounts = st.decimals(min_value=D("-99999.99"), max_value=D("99999.99"), places=2).filter(lambda a: a != 0)
movements = st.builds(
    MovementSpec,
    amount=amounts,
    communication=st.text(alphabet="abcdefXYZ 0123456789/+", max_size=150),
    counterparty_name=st.text(alphabet="ABCDEé ", max_size=35),
)


@st.composite
def coda_files(draw) -> bytes:
    count = draw(st.integers(min_value=1, max_value=3))
    statements = [
        StatementSpec(
            "BE80001000000177",
            date(2026, 11, 10 + n),
            opening_balance=D(0),
            movements=draw(st.lists(movements, min_size=0, max_size=4)),
            sequence=n + 1,
        )
        for n in range(count)
    ]
    return write_coda(statements)


@st.composite
def mutated(draw) -> bytes:
    data = draw(coda_files())
    rows = data.decode("latin-1").split("\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["char", "truncate", "swap", "drop", "duplicate", "digits", "date"]))
        i = draw(st.integers(min_value=0, max_value=len(rows) - 1))
        row = rows[i]
        if kind == "char" and row:
            j = draw(st.integers(min_value=0, max_value=len(row) - 1))
            rows[i] = row[:j] + draw(st.characters(codec="latin-1")) + row[j + 1 :]
        elif kind == "truncate":
            rows[i] = row[: draw(st.integers(min_value=0, max_value=len(row)))]
        elif kind == "swap":
            k = draw(st.integers(min_value=0, max_value=len(rows) - 1))
            rows[i], rows[k] = rows[k], rows[i]
        elif kind == "drop" and len(rows) > 1:
            rows.pop(i)
        elif kind == "duplicate":
            rows.insert(i, row)
        elif kind in ("digits", "date") and len(row) >= 128:
            j = draw(st.sampled_from([5, 32, 43, 47, 58, 115] if kind == "date" else [2, 6, 16, 22, 37, 125]))
            rows[i] = row[:j] + draw(st.text(alphabet="0123456789 X-", min_size=6, max_size=6)) + row[j + 6 :]
    text = "\n".join(rows)
    encoding = draw(st.sampled_from(["latin-1", "utf-8", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


SETTINGS = settings(max_examples=400, deadline=None)


@SETTINGS
@given(mutated())
def test_mutated_files_parse_or_are_refused(data: bytes) -> None:
    try:
        parsed = parse_coda(data)
    except StatementFileError as refused:
        assert refused.message
        return
    assert isinstance(parsed, ParsedFile)
    for statement in parsed.statements:
        leaves = sum((t.amount for t in statement.leaves), D(0))
        balanced = statement.opening_balance + leaves == statement.closing_balance
        assert balanced or "balance_mismatch" in {w.code for w in statement.warnings}


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(StatementFileError):
        parse_coda(data)


@settings(max_examples=100, deadline=None)
@given(coda_files())
def test_written_files_parse_back_exactly(data: bytes) -> None:
    parsed = parse_coda(data)
    for statement in parsed.statements:
        assert not statement.warnings
        assert statement.opening_balance + sum((t.amount for t in statement.leaves), D(0)) == statement.closing_balance
