"""`make run` takes a port (issue 41): PORT=8001 make run serves on 8001, and 8000 without it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("extra", "port"), [([], "8000"), (["PORT=8001"], "8001")])
def test_make_run_serves_on_the_port_asked(extra, port):
    if shutil.which("make") is None:
        pytest.skip("needs make")
    # -n prints what would run (nothing is installed or started); the serve line names the port.
    done = subprocess.run(["make", "-n", "run", *extra], cwd=ROOT, capture_output=True, text=True, timeout=60)
    serve = [line for line in done.stdout.splitlines() if "codarecon serve" in line]
    assert serve and serve[-1].endswith(f"serve --port {port}"), done.stdout
