"""Secrets and the ledger on disk are readable by their owner only; the admin token is long enough."""

from __future__ import annotations

import base64
import stat

import pytest

from app.core.config import Settings


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_keys_and_the_sqlite_file_are_owner_only(tmp_path, monkeypatch):
    from app.core import auth as security
    from app.core import crypto
    from app.core.db import make_engine

    monkeypatch.setenv("CODARECON_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CODARECON_SECRET_KEY", raising=False)
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        crypto.encrypt("whsec_x")
        token = security.admin_token(Settings(var_dir=tmp_path / "var", admin_token=None))
    finally:
        get_settings.cache_clear()
    assert len(token) >= 32
    assert mode(tmp_path / "var" / "secret_key") == 0o600
    assert mode(tmp_path / "var" / "admin_token") == 0o600
    assert mode(tmp_path / "var") == 0o700

    loose = tmp_path / "data" / "old.db"
    loose.parent.mkdir()
    loose.write_bytes(b"")
    loose.chmod(0o644)  # as an older version left it
    engine = make_engine(f"sqlite:///{loose}")
    with engine.connect():
        pass
    engine.dispose()
    assert mode(loose) == 0o600
    fresh = tmp_path / "data" / "new.db"
    make_engine(f"sqlite:///{fresh}").dispose()
    assert mode(fresh) == 0o600


def test_a_short_admin_token_stops_the_process_at_start():
    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(admin_token="short-token")
    assert Settings(admin_token="x" * 32).admin_token == "x" * 32


def _urlsafe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


KEY_BYTES = bytes(range(200, 232))  # 32 bytes whose base64 holds both '-' and '_'


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(_urlsafe(KEY_BYTES).rstrip("="), id="unpadded-43"),
        pytest.param("not-a-fernet-key-but-long-enough-0123456789", id="unpadded-43-words"),
        pytest.param(base64.b64encode(KEY_BYTES).decode(), id="standard-alphabet-44"),
        pytest.param(_urlsafe(KEY_BYTES)[:-2] + "!=", id="foreign-character-44"),
        pytest.param(_urlsafe(KEY_BYTES[:31]), id="31-bytes"),
        pytest.param(_urlsafe(KEY_BYTES + b"x"), id="33-bytes"),
        pytest.param(_urlsafe(KEY_BYTES) + "=", id="extra-padding"),
        pytest.param(" " + _urlsafe(KEY_BYTES), id="leading-space"),
        pytest.param(_urlsafe(KEY_BYTES)[:42] + "B=", id="non-canonical-last-character"),
        pytest.param(_urlsafe(KEY_BYTES)[:43] + "é", id="not-ascii"),
        pytest.param("", id="empty"),
    ],
)
def test_a_malformed_secret_key_stops_the_process_at_start(malformed):
    with pytest.raises(ValueError, match="must be a Fernet key"):
        Settings(secret_key=malformed)


def test_a_key_as_fernet_generates_it_is_accepted_and_works():
    from cryptography.fernet import Fernet

    assert "-" in _urlsafe(KEY_BYTES) and "_" in _urlsafe(KEY_BYTES)  # the url-safe characters are exercised
    for key in (_urlsafe(KEY_BYTES), Fernet.generate_key().decode()):
        assert Settings(secret_key=key).secret_key == key
        assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def test_database_errors_are_logged_without_their_parameters(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (iban TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:iban)"), {"iban": "BE71096123456769"})
    with pytest.raises(IntegrityError) as failed, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:iban)"), {"iban": "BE71096123456769"})
    engine.dispose()
    assert "BE71096123456769" not in str(failed.value)


def test_postgresql_needs_an_explicit_secret_key_sqlite_does_not():
    from app.core.config import require_explicit_secret_key

    postgres = Settings(database_url="postgresql+psycopg://u:p@db/codarecon", secret_key=None)
    with pytest.raises(SystemExit, match="CODARECON_SECRET_KEY is required with PostgreSQL"):
        require_explicit_secret_key(postgres)
    require_explicit_secret_key(Settings(database_url="sqlite:///var/x.db", secret_key=None))  # generated under var/


def test_the_cli_tells_its_version(capsys):
    from app import __version__
    from app.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert (done.value.code, capsys.readouterr().out.strip()) == (0, f"codarecon {__version__}")


def test_var_is_private_before_the_database_is_written_into_it(tmp_path, monkeypatch):
    # `make run` opens the database before any key is generated: its parent is the first thing made under var/.
    import os

    from app.core.config import get_settings
    from app.core.db import make_engine

    var = tmp_path / "deep" / "var"
    monkeypatch.setenv("CODARECON_VAR_DIR", str(var))
    get_settings.cache_clear()
    old_umask = os.umask(0o022)  # the usual umask, which would make mkdir's directories 0755
    try:
        make_engine(f"sqlite:///{var / 'codarecon.db'}").dispose()
    finally:
        os.umask(old_umask)
        get_settings.cache_clear()
    assert mode(var) == 0o700
    assert mode(var.parent) == 0o700  # every directory made for it
    assert mode(var / "codarecon.db") == 0o600


def test_an_existing_var_is_made_private_an_operators_directory_keeps_its_mode(tmp_path, monkeypatch):
    from app.core.config import get_settings
    from app.core.db import make_engine

    var, operators = tmp_path / "var", tmp_path / "srv"
    for directory in (var, operators):
        directory.mkdir()
        directory.chmod(0o755)  # as an older version (or the operator) left it
    monkeypatch.setenv("CODARECON_VAR_DIR", str(var))
    get_settings.cache_clear()
    try:
        make_engine(f"sqlite:///{var / 'codarecon.db'}").dispose()
        make_engine(f"sqlite:///{operators / 'ledger.db'}").dispose()
    finally:
        get_settings.cache_clear()
    assert mode(var) == 0o700
    assert mode(operators) == 0o755
    assert mode(operators / "ledger.db") == 0o600
