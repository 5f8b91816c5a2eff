"""The README's offline Ponto Connect walk-through, run as written (bash, curl, jq) after the main one, against
the stand-in (`codarecon fake-ponto`, delivering its signed webhooks to the server) and a server configured as the
README says: the company connects through the browser step, a pending payment shows on its invoice, its booked
twin pays it, and the same payment in a CODA file afterwards is counted once."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.e2e.conftest import server_env
from tests.e2e.test_readme_walkthrough import ROOT, run, walkthrough
from tests.helpers import cli_process, free_port

NEEDED = ("bash", "curl", "jq")
pytestmark = pytest.mark.timeout(240)


def ponto_blocks() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Try it offline with the stand-in") :]
    start, steps = re.findall(r"```sh\n(.*?)```", section, re.S)[:2]
    return start, steps


def test_the_readme_ponto_walkthrough_pays_from_ponto_and_counts_the_coda_twin_once(tmp_path):
    missing = [tool for tool in NEEDED if not shutil.which(tool)]
    if missing and os.environ.get("CODARECON_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{', '.join(missing)} missing (CODARECON_REQUIRE_TOOLS=1)")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    start, steps = ponto_blocks()
    port = free_port()  # the server's, known before the stand-in starts: it delivers webhooks there
    flags = re.search(r"codarecon fake-ponto ([^&]*)&", start).group(1)
    flags = flags.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}").split()
    with cli_process("fake-ponto", *flags, ready_path="/webhooks/keys", start_seconds=15, stop_seconds=10) as (
        stand_in,
        _,
    ):
        settings = dict(re.findall(r"(CODARECON_\w+)=(\S+)", start))
        settings = {name: value.replace("http://127.0.0.1:8766", stand_in) for name, value in settings.items()}
        settings["CODARECON_PONTO_REDIRECT_URI"] = f"http://127.0.0.1:{port}/v1/ponto/callback"
        settings["CODARECON_EMBEDDED_WORKERS"] = "true"  # as `make run` has it
        env = {**server_env(tmp_path), **settings}
        with cli_process("serve", env=env, start_seconds=15, stop_seconds=10, port=port) as (base, _):
            script = walkthrough() + "\n" + steps.replace("http://127.0.0.1:8766", stand_in)
            printed = run(script, base, env)
            connected, state_1, pending, state_2, paid, upload, after, status = printed[4:]
            assert connected == 1
            assert state_1 == state_2 == "connected"
            assert pending == {"status": "open", "pending_amount": "250.00", "amount_paid": "0.00"}
            assert paid == {"status": "paid", "pending_amount": "0.00", "amount_paid": "250.00"}
            assert upload == {"transactions_created": 0, "movements_known": 1}
            assert after == {"status": "paid", "amount_paid": "250.00"}
            assert status == {"state": "connected", "transactions_stored": 1, "pending_payments": 0}
