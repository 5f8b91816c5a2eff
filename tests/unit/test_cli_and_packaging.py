"""What a newcomer and an operator read: help for people, the same var/ from any directory, every problem type
in the README, and a Docker image whose dependency layer survives a code change and whose var/ is a volume."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import config
from app.cli import main
from app.errors import STATUS_SLUGS

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
    copy_pyproject = next(n for n, line in enumerate(steps) if line.startswith("COPY pyproject.toml"))
    install = next(n for n, line in enumerate(steps) if line.startswith("RUN python -c") and "dependencies" in line)
    copy_app = next(n for n, line in enumerate(steps) if line.startswith("COPY app"))
    assert copy_pyproject < install < copy_app  # a code change rebuilds only the layers after the install
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'VOLUME ["/srv/codarecon/var"]' in dockerfile
    assert "CODARECON_SECRET_KEY" in dockerfile
