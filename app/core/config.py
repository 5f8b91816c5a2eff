"""Settings from the environment (prefix ``CODARECON_``), read once per process."""

from __future__ import annotations

import base64
import ipaddress
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The largest UBL document taken (clients' own, sent to be forwarded or checked). A Peppol BIS invoice is
#: tens of kilobytes; with its PDF embedded (base64), a few megabytes. 5 MiB keeps a 3.5 MiB PDF and bounds
#: what one request can make a worker hold; a bigger document is refused at once, before any parsing.
MAX_UBL_BYTES = 5 * 1024 * 1024


def _default_var_dir() -> Path:
    """var/ beside the project when running from a checkout (so `codarecon admin-token` finds the same token
    from any directory), else var/ under the working directory (an installed package, a container's WORKDIR)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "app").is_dir():
        return checkout / "var"
    return Path("var").resolve()


VAR_DIR = _default_var_dir()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODARECON_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{VAR_DIR / 'codarecon.db'}")
    admin_token: str | None = None
    #: Where a generated admin token is kept when ADMIN_TOKEN is unset.
    var_dir: Path = VAR_DIR
    #: Fernet key for secrets at rest (CodaBox credentials); generated under var/ when unset.
    secret_key: str | None = None

    codabox_enabled: bool = False
    codabox_base_url: str = "https://sandbox-api.codabox.com/v2/"
    codabox_software_company: str | None = None
    codabox_sales_invoice_path: str | None = None
    codabox_poll_seconds: int = 7200
    #: Which download of a bank statement to take when a feed entry offers both: CODA ("cod") or camt.053 ("xml").
    codabox_statement_format: Literal["cod", "xml"] = "cod"
    codabox_timeout_seconds: float = 30.0
    delivery_retry_seconds: float = 30.0
    #: Standard Webhooks secret (whsec_...) that signs POST /v1/webhooks/inbound.
    inbound_webhook_secret: str | None = None
    #: Inbound webhooks older or newer than this are refused (replay protection).
    inbound_webhook_tolerance_seconds: int = 300

    #: Ponto Connect (Ibanity): a second way to read the bank, same day (docs/ponto.md).
    ponto_enabled: bool = False
    ponto_base_url: str = "https://api.ibanity.com/ponto-connect"
    #: The browser's authorization page: sandbox-authorization.myponto.com for a sandbox application.
    ponto_authorization_url: str = "https://authorization.myponto.com/oauth2/auth"
    ponto_client_id: str | None = None
    ponto_client_secret: str | None = None
    #: Where Ponto sends the company's user back: this service's GET /v1/ponto/callback, as the public sees it.
    ponto_redirect_uri: str = "http://127.0.0.1:8000/v1/ponto/callback"
    #: The Ibanity application id: the audience every webhook's signature must name.
    ponto_application_id: str | None = None
    #: Ibanity's signing keys for webhooks (JWKS).
    ponto_webhook_keys_url: str = "https://api.ibanity.com/webhooks/keys"
    #: mTLS: the client certificate and its private key (PEM files) Ibanity issued; required by the real API.
    ponto_certificate_path: Path | None = None
    ponto_private_key_path: Path | None = None
    ponto_private_key_passphrase: str | None = None
    #: How often each connected company's accounts are synchronized (PSD2 allows 4 a day without the user).
    ponto_sync_seconds: int = Field(default=21600, ge=60)
    ponto_timeout_seconds: float = 30.0
    #: A pending payment that has not been booked after this many days stops counting on its invoice.
    ponto_pending_days: int = Field(default=10, ge=1)
    #: Consent ending within this many days: the status offers a reauthorization link, an event says so.
    ponto_consent_warning_days: int = Field(default=14, ge=1)

    max_upload_bytes: int = 50 * 1024 * 1024
    #: Requests per second per API key (per process); 0 turns the limit off.
    rate_limit: float = Field(default=100.0, ge=0)
    #: An endpoint is disabled after this many deliveries in a row that gave up.
    webhook_max_failures: int = 20
    #: One deadline per webhook delivery: connect, TLS, request and response together.
    webhook_timeout_seconds: float = 10.0
    #: Allow plain-http webhook URLs (development only; production receivers use https).
    webhook_allow_http: bool = False
    #: Comma-separated CIDRs that webhooks may reach although private or loopback (internal receivers).
    webhook_allowed_networks: str = ""
    #: Attempts per webhook delivery before it is marked failed.
    webhook_max_attempts: int = 10
    #: Threads per worker process that only deliver webhooks, so slow receivers never hold up other jobs.
    webhook_delivery_threads: int = Field(default=4, ge=1, le=64)
    #: Run background workers inside the API process (embedded mode, the default for `make run`).
    embedded_workers: bool = True
    log_level: str = "INFO"
    #: How often an API process writes when its keys were last used (app/core/key_use.py).
    key_use_flush_seconds: float = Field(default=60.0, gt=0)
    #: Serve /metrics on this port (the first free one from it, per API process) instead of the API port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    #: Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"
    #: Thread-pool size for blocking work (database calls) in each API process.
    threads: int = 8
    #: PostgreSQL: how many writes of one company run at once in a process (they wait for its ledger lock
    #: anyway); the rest queue without holding a thread (app/core/write_queues.py).
    company_write_slots: int = Field(default=2, ge=1, le=64)
    #: How long a write may queue before it answers 503 with Retry-After.
    write_queue_seconds: float = Field(default=20.0, gt=0)
    #: PostgreSQL: the longest a statement waits for a lock (lock_timeout), and the longest one statement may
    #: run (statement_timeout; 0 for none). A request that exceeds either answers 503 with Retry-After.
    database_lock_timeout_seconds: float = Field(default=15.0, ge=0)
    database_statement_timeout_seconds: float = Field(default=300.0, ge=0)
    #: Worker processes that read and check clients' UBL documents (app/peppol/work.py), the time budget of one
    #: document, and how many documents a worker takes before it is replaced (its memory given back).
    xml_processes: int = Field(default=2, ge=1, le=32)
    xml_seconds: float = Field(default=20.0, gt=0)
    xml_tasks_per_worker: int = Field(default=100, ge=1)
    #: On SIGTERM, how long requests in flight may take to finish before the API process ends.
    graceful_shutdown_seconds: int = Field(default=30, ge=1)

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # a bad CIDR stops the process at start, not at delivery
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: str | None) -> str | None:
        # A malformed key stops the process at start, not at the first secret stored (as a 500).
        if value is not None and not is_fernet_key(value):
            raise ValueError(
                "CODARECON_SECRET_KEY must be a Fernet key (32 bytes as 44 characters of url-safe base64, padding "
                "included): generate one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        return value

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"CODARECON_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters")
        return value


def is_fernet_key(value: str) -> bool:
    """Exactly what ``Fernet.generate_key()`` prints: 32 bytes in url-safe base64 with its padding.

    Checked here rather than left to ``Fernet()``, whose leniency varies by release (cryptography 51 forgives
    missing padding): decoding must give 32 bytes, and encoding them again must give back the same text, which
    refuses another alphabet, missing or extra padding and non-canonical last characters alike.
    """
    try:
        raw = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True)
    except ValueError:  # not ASCII, not base64, or wrong padding
        return False
    return len(raw) == 32 and base64.urlsafe_b64encode(raw).decode("ascii") == value


def require_explicit_secret_key(settings: Settings) -> None:
    """On PostgreSQL (several processes, containers that come and go) the key that encrypts secrets at rest must
    be given: one generated into a container's var/ differs between API and worker, and is lost with it."""
    if settings.secret_key is None and not settings.database_url.startswith("sqlite"):
        raise SystemExit(
            "CODARECON_SECRET_KEY is required with PostgreSQL: every API and worker process needs the same key "
            "to read the secrets they store. Generate one with python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'"
        )


#: The admin token reaches every company: short ones are guessable.
MIN_ADMIN_TOKEN_LENGTH = 32


def make_private_dir(path: Path, *, tighten: bool = False) -> None:
    """Create ``path`` and its missing parents readable by their owner only (0700), before anything is written
    into them. ``tighten`` also makes an existing directory 0700 (var/ as an older version left it); a directory
    the operator made for the database is theirs, and keeps its mode."""
    missing, existing = [], path
    while not existing.exists():
        missing.append(existing)
        existing = existing.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first, with the same mode
            continue
        directory.chmod(0o700)  # mkdir's mode passes through the umask; 0700 is meant whatever the umask
    if tighten and not missing:
        status = path.stat()
        if stat.S_IMODE(status.st_mode) & 0o077 and status.st_uid == os.getuid():
            path.chmod(0o700)


def create_private_file(path: Path, content: str) -> bool:
    """Write a secret file readable by its owner only (0600 from the first byte); False if it already exists."""
    make_private_dir(path.parent, tighten=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return True


@lru_cache
def get_settings() -> Settings:
    return Settings()
