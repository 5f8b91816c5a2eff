"""Every shell block of the README is run by a test, in the README's order: a block added without one fails here.

The blocks and the tests that run them as written:

1. ``make run`` / ``make test``: CI runs ``make test`` (.ci/run); ``make run`` is ``codarecon serve --port
   $(PORT)`` after the install, which tests/e2e/conftest.py serves with, and this file holds its ``PORT``.
2. From zero to a paid invoice: tests/e2e/test_readme_walkthrough.py (then run again, as the README says).
3. The split, after the walk-through in its shell: tests/e2e/test_readme_walkthrough.py.
4. and 5. The CodaBox stand-in and its steps, after the walk-through: tests/e2e/test_readme_codabox.py.
6. and 7. The Ponto Connect stand-in and its steps, after the walk-through: tests/e2e/test_readme_ponto.py.
8. Production, on PostgreSQL: tests/db/test_readme_production.py.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]

#: Each block by its first line, with the test file that runs it and the text by which that test finds it.
RUNNERS = [
    ("make run", "tests/unit/test_readme_snippets.py", "PORT=8001 make run"),
    ("export BASE=", "tests/e2e/test_readme_walkthrough.py", "From zero to a paid invoice"),
    ("A=$(curl", "tests/e2e/test_readme_walkthrough.py", "split_snippet"),
    (".venv/bin/codarecon fake-codabox", "tests/e2e/test_readme_codabox.py", "Try the whole flow offline"),
    (
        "curl -s -X POST $BASE/v1/companies/$VAT/codabox/access-token",
        "tests/e2e/test_readme_codabox.py",
        "codabox_blocks",
    ),
    (".venv/bin/codarecon fake-ponto", "tests/e2e/test_readme_ponto.py", "Try it offline with the stand-in"),
    ("PONTO=http://127.0.0.1:8766", "tests/e2e/test_readme_ponto.py", "ponto_blocks"),
    ("export CODARECON_DATABASE_URL=postgresql", "tests/db/test_readme_production.py", "## Production: PostgreSQL"),
]


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_every_readme_shell_block_has_a_test_that_runs_it_in_order():
    blocks = shell_blocks()
    assert len(blocks) == len(RUNNERS), f"{len(blocks)} shell blocks, {len(RUNNERS)} known: add the new one's test"
    for block, (first_line, test_file, anchor) in zip(blocks, RUNNERS, strict=True):
        assert block.startswith(first_line), (first_line, block[:80])
        assert anchor in (ROOT / test_file).read_text(), (test_file, anchor)


def test_the_make_run_block_names_the_port_variable_make_run_takes():
    make_run = shell_blocks()[0]
    assert "PORT=8001 make run" in make_run
    assert re.search(r"^PORT \?= 8000$", (ROOT / "Makefile").read_text(), re.M)
    assert "--port $(PORT)" in (ROOT / "Makefile").read_text()
