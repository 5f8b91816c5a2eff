"""Secrets at rest (webhook signing secrets, CodaBox credentials): Fernet with a key from the environment,
or one generated under var/ on first use (like the admin token)."""

from __future__ import annotations

import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from app.core.config import create_private_file, get_settings

log = logging.getLogger(__name__)


def _key() -> bytes:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.var_dir / "secret_key"
    # Created exclusively, so two processes starting at once agree on one key.
    if not path.exists() and create_private_file(path, Fernet.generate_key().decode() + "\n"):
        log.warning("CODARECON_SECRET_KEY is not set: generated one in %s", path.resolve())
    return path.read_text().strip().encode()


def secret_bytes() -> bytes:
    """The server's secret (CODARECON_SECRET_KEY, or the one generated under var/), for keyed hashes."""
    return _key()


@lru_cache(maxsize=4)
def _fernet(key: bytes) -> Fernet:
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet(_key()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_key()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("a stored secret cannot be decrypted: was CODARECON_SECRET_KEY changed?") from None
