"""What a newcomer and an operator read: help for people, the same var/ from any directory, every problem type
in the README, and a Docker image whose dependency layer survives a code change and whose var/ is a volume."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import main
from app.core import config
from app.core.errors import STATUS_SLUGS

ROOT = Path(__file__).resolve().parents[2]


def help_of(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_the_help_speaks_to_people(capsys):
    top = help_of([], capsys)
    assert "payment reconciliation for Belgian invoicing software" in top
    assert "``" not in top  # no docstring markup meant for developers
    serve = help_of(["serve"], capsys)
    assert re.search(r"--host HOST\s+address to listen on", serve)
    assert re.search(r"--port PORT\s+port to listen on", serve)


def test_the_var_directory_is_the_checkouts_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config._default_var_dir() == ROOT / "var"  # admin-token finds the same token wherever it runs


def test_the_readme_lists_every_problem_type():
    readme = (ROOT / "README.md").read_text()
    for slug in STATUS_SLUGS.values():
        assert f"`{slug}`" in readme, slug


def test_the_image_installs_dependencies_before_the_code_and_keeps_var_on_a_volume():
    steps = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line and not line.startswith(" ")]
    copy_lock = next(n for n, line in enumerate(steps) if line.startswith("COPY pyproject.toml uv.lock"))
    install = next(n for n, line in enumerate(steps) if line.startswith("RUN python scripts/uv_requirement.py"))
    copy_app = next(n for n, line in enumerate(steps) if line.startswith("COPY app"))
    assert copy_lock < install < copy_app  # a code change rebuilds only the layers after the install
    dockerfile = (ROOT / "Dockerfile").read_text()
    # Only the lock, hash-checked, and a base image pinned to an exact release (not a moving tag like 3.11-slim).
    assert "uv export --quiet --locked" in dockerfile
    assert dockerfile.count("pip install --require-hashes") == 2
    assert "--no-build-isolation" in dockerfile
    (base,) = (line.split()[1] for line in steps if line.startswith("FROM "))
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    assert base.split("@")[0].split(":")[1] in (ROOT / "README.md").read_text()  # its refresh line names it
    assert 'VOLUME ["/srv/codarecon/var"]' in dockerfile
    assert "CODARECON_SECRET_KEY" in dockerfile
