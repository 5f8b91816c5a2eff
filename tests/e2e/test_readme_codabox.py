"""The README's offline CodaBox walk-through, run as written (bash, curl, jq) after the main one, against the
stand-in (`codarecon fake-codabox`) and a server configured as the README says: the company connects with the
stand-in's real-shaped answers, the bank file comes through the feed, the other entry is recorded, and the
invoice reaches the stand-in once despite its 503s."""

from __future__ import annotations

import os
import re
import shutil
import time

import httpx
import pytest

from tests.e2e.conftest import server_env, serving
from tests.e2e.test_readme_walkthrough import ROOT, run, walkthrough
from tests.helpers import cli_process

NEEDED = ("bash", "curl", "jq")


def codabox_blocks() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Try the whole flow offline with the local stand-in") :]
    start, steps = re.findall(r"```sh\n(.*?)```", section, re.S)[:2]
    return start, steps


@pytest.fixture
def stand_in():
    start, _ = codabox_blocks()
    flags = re.search(r"codarecon fake-codabox ([^&]*)&", start).group(1).split()
    # Up when it answers at all (its control routes say 404 for a client it does not know).
    with cli_process(
        "fake-codabox",
        *flags,
        ready_path="/_fake/clients/none",
        ready=lambda _: True,
        start_seconds=15,
        stop_seconds=10,
    ) as (base, _):
        yield base


def test_the_readme_codabox_walkthrough_runs_against_the_stand_in(stand_in, tmp_path):
    missing = [tool for tool in NEEDED if not shutil.which(tool)]
    if missing and os.environ.get("CODARECON_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{', '.join(missing)} missing (CODARECON_REQUIRE_TOOLS=1)")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    start, steps = codabox_blocks()
    # The server as the README starts it: every CODARECON_ variable of its `make run` line.
    settings = dict(re.findall(r"(CODARECON_\w+)=(\S+)", start))
    settings["CODARECON_CODABOX_BASE_URL"] = f"{stand_in}/v2/"
    settings["CODARECON_DELIVERY_RETRY_SECONDS"] = "1"  # the README's ~30 s and ~60 s retries, shortened
    # As `make run` has it (the suite's own settings turn the embedded workers off for in-process tests).
    settings["CODARECON_EMBEDDED_WORKERS"] = "true"
    env = {**server_env(tmp_path), **settings}
    server = serving(env)
    base = next(server)
    try:
        script = walkthrough() + "\n" + steps.replace("http://127.0.0.1:8765", stand_in)
        printed = run(script, base, env)
        state_asked, connected, state_synced, status, delivery, delivery_later = printed[4:]
        assert state_asked == "token_requested"
        assert connected["state"] == "connected" and connected["warnings"] == []
        assert [c["name"] for c in connected["clients"]] == ["Demo BV"]
        assert state_synced == "connected"
        # The feed's bank file is the walk-through's own upload: a duplicate, as the API would call it.
        assert (status["statements_ingested"], status["statements_duplicate"], status["entries_skipped"]) == (0, 1, 1)
        assert [e["outcome"] for e in status["entries_set_aside"]] == ["skipped"]
        assert delivery["status"] == "pending"
        assert delivery_later["attempts"] >= 1
        # Whatever the timing of the retries, the invoice reaches the stand-in, once.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            uploads = httpx.get(f"{stand_in}/_fake/clients/BE0403200393", timeout=5).json()["uploads"]
            if uploads:
                break
            time.sleep(0.5)
        invoice = httpx.get(
            f"{base}/v1/companies/BE0403200393/invoices?external_id=INV-2026-0154",
            headers={"Authorization": f"Bearer {env['CODARECON_ADMIN_TOKEN']}"},
            timeout=5,
        ).json()
        assert uploads == ["2026/0154"], invoice
    finally:
        next(server, None)
