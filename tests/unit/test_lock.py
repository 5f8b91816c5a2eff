"""The environment the suite runs in is exactly uv.lock, and uv.lock is exactly what pyproject.toml asks for."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.prefix) / "bin" / "uv"  # make install bootstraps it into the venv, from the lock


def uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), *args, "--offline"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def locked_for_this_interpreter() -> dict[str, str]:
    """name -> version of what `uv sync --locked --extra dev` installs here (markers evaluated for this Python)."""
    exported = uv(
        "export", "--locked", "--extra", "dev", "--no-emit-project", "--no-hashes", "--format", "requirements-txt"
    )
    assert exported.returncode == 0, exported.stderr
    pins = {}
    for line in exported.stdout.splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, version = requirement.strip().split("==")
        pins[canonicalize_name(name)] = version
    return pins


def test_the_installed_packages_are_exactly_the_locked_ones():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("pip", None)  # the venv's own installer, which is not a dependency
    installed.pop("codarecon")  # the project itself, installed editable from this checkout
    locked = locked_for_this_interpreter()
    assert {"fastapi", "cryptography", "pycoda", "uv", "setuptools"} <= locked.keys()
    assert installed == locked


def test_uv_is_installed_from_the_lock_with_every_hash_it_records():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from uv_requirement import uv_requirement
    finally:
        sys.path.pop(0)
    requirement = uv_requirement(ROOT / "uv.lock")
    (uv_package,) = (p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"] if p["name"] == "uv")
    assert requirement.startswith(f"uv=={uv_package['version']} ")
    assert requirement.count("--hash=sha256:") == len(uv_package["wheels"]) + 1  # every wheel and the sdist
    assert metadata.version("uv") == uv_package["version"]


def test_the_lock_matches_pyproject(tmp_path):
    assert uv("lock", "--check").returncode == 0  # the committed pair

    def checked_with(edit: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        copy = tmp_path / edit[0][:12].strip('"=<>,.')
        copy.mkdir()
        shutil.copy(ROOT / "uv.lock", copy)
        pyproject = (ROOT / "pyproject.toml").read_text()
        assert edit[0] in pyproject
        (copy / "pyproject.toml").write_text(pyproject.replace(edit[0], edit[1]))
        return uv("lock", "--check", cwd=copy)

    # A pin changed, or a dependency dropped, without `make lock`: install refuses (make install uses --locked).
    assert checked_with(('"pycoda==1.1.0"', '"pycoda==1.0.0"')).returncode != 0
    dropped = checked_with(('    "orjson>=3.9,<4",\n', ""))
    assert dropped.returncode != 0
    assert "needs to be updated" in dropped.stderr
