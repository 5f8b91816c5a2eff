"""The README's production block, run as written on PostgreSQL: migrate, two workers, four API processes, metrics
on their own ports. Only what cannot be the reader's is replaced: the database URL (the suite's), the two
secrets (the README says "..."), the addresses and ports (free loopback ones), the proxy's address."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.helpers import free_port

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


def production_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Production: PostgreSQL") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def wait_for(url: str, seconds: float, log: Path) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return answer
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def test_the_readme_production_block_runs_as_written(db, tmp_path):
    url = os.environ["CODARECON_DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("the production block is PostgreSQL's (the suite's PostgreSQL half runs it)")
    api, metrics = free_port(), free_port()
    admin = secrets.token_urlsafe(24)
    script = production_block()
    replacements = {
        r"CODARECON_DATABASE_URL=\S+": f"CODARECON_DATABASE_URL={url}",
        r"CODARECON_ADMIN_TOKEN=\.\.\.": f"CODARECON_ADMIN_TOKEN={admin}",
        r"CODARECON_SECRET_KEY=\.\.\.": f"CODARECON_SECRET_KEY={Fernet.generate_key().decode()}",
        r"CODARECON_METRICS_PORT=\d+": f"CODARECON_METRICS_PORT={metrics}",
        r"CODARECON_FORWARDED_ALLOW_IPS=\S+": "CODARECON_FORWARDED_ALLOW_IPS=127.0.0.1",
        r"--host 0\.0\.0\.0 --port 8000": f"--host 127.0.0.1 --port {api}",
    }
    for pattern, value in replacements.items():
        script, count = re.subn(pattern, value, script)
        assert count == 1, f"the README's block no longer has {pattern}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CODARECON_LOG_LEVEL": "WARNING"}
    log = (tmp_path / "processes.log").open("wb")  # a file, not a pipe: nothing ever blocks on it
    shell = subprocess.Popen(["bash", "-c", script], env=env, start_new_session=True, stdout=log, stderr=log)
    try:
        wait_for(f"http://127.0.0.1:{api}/readyz", 60, tmp_path / "processes.log")
        company = httpx.post(
            f"http://127.0.0.1:{api}/v1/companies",
            json={"vat": "BE0403200393", "name": "Demo BV"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        assert company.status_code == 201, company.text
        # Four API processes: four metrics ports from the one the README sets, none of them the API's.
        served = [wait_for(f"http://127.0.0.1:{metrics + n}/metrics", 30, tmp_path / "processes.log") for n in range(4)]
        assert all("codarecon_http_request_duration_seconds" in s.text for s in served)
        assert httpx.get(f"http://127.0.0.1:{api}/metrics", timeout=5).status_code == 404
        workers = subprocess.run(["pgrep", "-s", str(shell.pid), "-f", "codarecon worker"], capture_output=True)
        assert len(workers.stdout.split()) == 2, "the two workers of the block run beside the API"
        assert shell.poll() is None
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        try:
            shell.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait(timeout=10)
        log.close()
