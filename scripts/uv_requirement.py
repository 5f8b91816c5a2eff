"""Print uv's pinned requirement, with every hash uv.lock records for it, for `pip install --require-hashes`.

uv installs everything else from the lock; this is how uv itself gets installed from the lock too (make install,
the Dockerfile), without trusting whatever version an index serves on the day.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def uv_requirement(lock: Path) -> str:
    packages = tomllib.loads(lock.read_text())["package"]
    (uv,) = (p for p in packages if p["name"] == "uv")
    hashes = [w["hash"] for w in uv.get("wheels", [])]
    if "sdist" in uv:
        hashes.append(uv["sdist"]["hash"])
    return " ".join([f"uv=={uv['version']}", *(f"--hash={h}" for h in hashes)])


if __name__ == "__main__":
    print(uv_requirement(Path(sys.argv[1] if len(sys.argv) > 1 else "uv.lock")))
