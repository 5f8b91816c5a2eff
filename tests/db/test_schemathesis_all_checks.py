"""schemathesis with every check (`--checks all`: status codes, headers, schemas, schema-valid data accepted and
invalid data refused, authentication, stateful sequences through the document's links) against a real server
process, from the document that server serves (tests/unit/test_openapi_sync.py keeps it equal to the committed one),
on SQLite and on PostgreSQL (this directory runs on both).

The hooks (tests/e2e/schemathesis_hooks.py) give each call a fresh Idempotency-Key, leave out cursors the server
never issued, and let a schema-valid request be refused only by a rule the document states in words (check
digits, code lists, rules across fields). The server runs without its rate limit: the fuzzer's burst would
otherwise be answered 429, which no check is about. A fixed seed makes a failure reproducible: the output names
each failing call as a curl command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, VAT, cli_process, invoice_body

HERE = Path(__file__).parents[1] / "e2e"  # the hooks and the configuration live beside the other e2e files
ADMIN_TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
EXAMPLES_PER_OPERATION = 25
SEED = 41

pytestmark = pytest.mark.slow


@pytest.fixture
def fuzzed_server(db):
    """`codarecon serve` on the suite's database (SQLite file or PostgreSQL), emptied by ``db``."""
    env = {**os.environ, "CODARECON_RATE_LIMIT": "0", "CODARECON_LOG_LEVEL": "WARNING"}
    with cli_process("serve", env=env, start_seconds=30, stop_seconds=20) as (base, _):
        yield base


def test_every_schemathesis_check_passes_against_a_real_server(fuzzed_server, tmp_path):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=fuzzed_server, headers=admin, timeout=30) as http:
        # Something in each collection, so that list and detail routes have data to show.
        http.post("/v1/companies", json={"vat": VAT, "name": "Fuzzed BV", "bank_accounts": [IBAN]}).raise_for_status()
        http.post(f"/v1/companies/{VAT}/invoices", json=invoice_body()).raise_for_status()
        http.post(f"/v1/companies/{VAT}/statements", content=payment_file(("50.00", None))).raise_for_status()
    env = {
        **os.environ,
        "CODARECON_ADMIN_TOKEN": ADMIN_TOKEN,  # read by schemathesis.toml's auth
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(HERE.parents[1]),
    }
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{fuzzed_server}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--no-color",
    ]
    # In the test's own directory: schemathesis keeps a cache (.schemathesis/) where it runs.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    # Every operation of the document was exercised, none left out by a filter or an error loading it.
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected and tested, result.stdout[-3000:]
    assert selected.group(1) == selected.group(2) == tested.group(1), result.stdout[-3000:]
