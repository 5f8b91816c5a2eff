"""The README's "From zero to a paid invoice", run as written (bash, curl, jq) against a real server: the
invoice ends paid, and a second run answers as the README says (409 at step 1, the same invoice at step 3, the
upload a duplicate) without storing anything twice."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import server_env

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("bash", "curl", "jq")


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## From zero to a paid invoice") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def run(script: str, base: str, env: dict[str, str]) -> list[object]:
    """Every JSON document the steps print, in order."""
    script = script.replace("http://127.0.0.1:8000", base)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    decoder, text, found, at = json.JSONDecoder(), done.stdout, [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_the_readme_walkthrough_pays_the_invoice_and_can_be_run_again(server, tmp_path):
    missing = [tool for tool in NEEDED if not shutil.which(tool)]
    if missing and os.environ.get("CODARECON_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{', '.join(missing)} missing (CODARECON_REQUIRE_TOOLS=1)")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    env = server_env(tmp_path)
    company, invoice, upload, paid = run(walkthrough(), server, env)
    assert company["vat"] == "BE0403200393"
    assert invoice["structured_reference"] == "+++090/9337/55493+++"
    assert (upload["transactions_created"], upload["matching"]["matched"]) == (1, 1)
    assert (paid["status"], paid["amount_due"]) == ("paid", "0.00")
    assert paid["allocations"][0]["amount"] == "121.00"
    company, invoice_again, upload, paid_again = run(walkthrough(), server, env)
    assert company["status"] == 409 and company["type"].endswith("/conflict")
    assert invoice_again["id"] == invoice["id"]
    assert (upload["transactions_created"], upload["duplicates"]) == (0, 1)
    assert paid_again["allocations"] == paid["allocations"]


def split_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Where the money is") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readmes_split_runs_as_written_after_the_walkthrough(server, tmp_path):
    """The README's split, in the walk-through's shell: one transfer of 100.00 pays two invoices."""
    if any(not shutil.which(tool) for tool in NEEDED):
        pytest.skip(f"needs {', '.join(NEEDED)} (.ci/run installs them)")
    *_, transaction = run(walkthrough() + split_snippet(), server, server_env(tmp_path))
    assert (transaction["amount"], transaction["status"], transaction["unallocated_amount"]) == (
        "100.00",
        "matched",
        "0.00",
    )
    assert sorted(a["amount"] for a in transaction["allocations"]) == ["20.00", "80.00"]
