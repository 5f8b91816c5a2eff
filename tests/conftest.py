"""Test fixtures: one migrated database per run (SQLite file, or PostgreSQL from CODARECON_TEST_DATABASE_URL),
emptied between tests, and an HTTP client on the real app."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

ADMIN_TOKEN = "test-admin-token-0123456789abcdef01"
TEST_SECRET_KEY = "ZmFrZS10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="  # a Fernet key: 32 bytes, url-safe base64
SAMPLES_DIR = Path(
    os.environ.get("CODARECON_CODA_SAMPLES") or Path(__file__).resolve().parents[1].parent / "shared" / "coda-samples"
)


REQUIRE_SAMPLES = os.environ.get("CODARECON_REQUIRE_SAMPLES") == "1"
#: The Peppol project's own example invoices and credit notes, beside the CODA samples in ../shared.
PEPPOL_EXAMPLES = SAMPLES_DIR.parent / "peppol-rules" / "examples"
#: Public camt.053 files with their MANIFEST, beside the CODA samples in ../shared.
CAMT_SAMPLES = SAMPLES_DIR.parent / "camt-samples"


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI sets CODARECON_REQUIRE_SAMPLES=1: the real bank files must be there, or the run fails at once
    # (instead of a dozen tests quietly skipping).
    if REQUIRE_SAMPLES and not (SAMPLES_DIR / "MANIFEST.md").is_file():
        raise pytest.UsageError(
            f"CODARECON_REQUIRE_SAMPLES=1 but {SAMPLES_DIR} holds no MANIFEST.md: put ../shared beside the "
            "repository or set CODARECON_CODA_SAMPLES"
        )
    if REQUIRE_SAMPLES and not (CAMT_SAMPLES / "MANIFEST.md").is_file():
        raise pytest.UsageError(f"CODARECON_REQUIRE_SAMPLES=1 but {CAMT_SAMPLES} holds no MANIFEST.md")
    if REQUIRE_SAMPLES and not any(PEPPOL_EXAMPLES.glob("*.xml")):
        raise pytest.UsageError(f"CODARECON_REQUIRE_SAMPLES=1 but {PEPPOL_EXAMPLES} holds no Peppol examples")


def _under_mutmut() -> bool:
    # Read per run: mutmut's forked workers set the variable after this module was imported.
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


#: The tests that judge each module's mutants under `make mutate`: the tests written about that module, not every
#: test that merely passes through it (an upload runs matching, the ledger and events; judging a ledger mutant
#: by all of them would cost minutes per mutant and find nothing the ledger's own tests miss).
_MONEY_DECISIONS = (
    "tests/api/test_ledger_properties.py",  # the state machine of the ledger: every action, undone and redone
    "tests/api/test_money_guards.py",
    "tests/api/test_decision_contract.py",
    "tests/api/test_decision_edges.py",
    "tests/api/test_audit_trail.py",
    "tests/api/test_payments.py",
)
MUTANT_TEST_SCOPE = {
    "app.reconciliation.matching.": ("tests/unit/test_matching", "tests/api/test_matching_cases.py"),
    "app.reconciliation.ledger.": (
        *_MONEY_DECISIONS,
        "tests/api/test_ledger_effects.py",
        "tests/api/test_event_changes.py",  # the named changes, and the events told of them
        "tests/api/test_statement_answers.py",  # a globalisation total stays "ignored"
        "tests/api/test_late_invoices.py",
        "tests/api/test_webhooks.py",
        "tests/db/test_check_cli.py",
        "tests/db/test_indexed_matching.py",
    ),
    "app.reconciliation.decisions.": (
        *_MONEY_DECISIONS,
        "tests/db/test_concurrency.py",
        "tests/api/test_review_page.py",  # the page's defaults (the payment tolerance applied)
    ),
    "app.reconciliation.service.": (
        *_MONEY_DECISIONS,
        "tests/api/test_matching_cases.py",
        "tests/api/test_late_invoices.py",
        "tests/db/test_indexed_matching.py",
    ),
    "app.statements.service.": (
        "tests/unit/test_coda_properties.py",
        "tests/api/test_statements.py",
        "tests/api/test_statement_answers.py",
        "tests/api/test_camt.py",
        "tests/api/test_auth_and_companies.py",
        "tests/api/test_metrics.py",  # what an upload counts
        "tests/api/test_ledger_effects.py",  # a new movement's first event
        "tests/db/test_concurrency.py",
        "tests/api/test_incomplete_files.py",  # a cut-off file stores nothing: among the worst money bugs
    ),
    "app.codabox.": (
        "tests/api/test_codabox.py",
        "tests/api/test_codabox_real_api.py",
        "tests/unit/test_ubl_generation.py",
    ),
    "app.webhooks.dispatch.": (
        "tests/api/test_webhook",
        "tests/unit/test_webhook_targets.py",
        "tests/db/test_outbox.py",
    ),
}

# The ledger's state rules and its events moved out of it, and are judged by the same tests.
MUTANT_TEST_SCOPE["app.reconciliation.status."] = MUTANT_TEST_SCOPE["app.reconciliation.ledger."]
MUTANT_TEST_SCOPE["app.events."] = MUTANT_TEST_SCOPE["app.reconciliation.ledger."]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under `make mutate` each mutant runs its tests with -x: the first failure ends the run. Running the fastest
    # tests first (durations from mutmut's own stats run) kills most mutants in a fraction of the time.
    if not _under_mutmut():
        return
    mutant = os.environ["MUTANT_UNDER_TEST"]
    for module, scope in MUTANT_TEST_SCOPE.items():
        if mutant.startswith(module):
            kept = [item for item in items if item.nodeid.startswith(scope)]
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    stats = Path("mutmut-stats.json")
    if stats.is_file():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))


def pytest_sessionfinish(session: pytest.Session) -> None:
    # mutmut's fork server collects every test once, then forks a child per mutant. Freezing what that collection
    # left in memory keeps the children's garbage collector from walking (and copying) the inherited heap.
    if "MUTANT_UNDER_TEST" in os.environ:
        gc.freeze()


MUTANT_TEST_WALL_SECONDS = 20
#: mutmut's exit code for a timeout (mutmut.stats.status_by_exit_code): the mutant broke the code.
MUTMUT_TIMEOUT_EXIT = 36


@pytest.fixture(autouse=True)
def _wall_clock_limit_under_mutmut() -> Iterator[None]:
    # mutmut limits a mutant's CPU time, and its own wall limit is half of that: minutes for the delivery tests.
    # A mutant that makes a test wait or loop forever would cost that much. Under mutmut a test gets 20 s (the
    # longest takes 3 s, 5 s with both workers busy); then the worker ends at once with mutmut's timeout code.
    # Not an exception: a loop that retries on errors (the delivery loop does) would swallow it.
    if not _under_mutmut():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        os._exit(MUTMUT_TIMEOUT_EXIT)

    # Results cached before the mutant was switched on (a fork server that ran a test would have them) would
    # hide it: the mutated function would never run. Cached functions of the money modules start empty.
    from app.reconciliation.matching import one_typo_variants

    one_typo_variants.cache_clear()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(MUTANT_TEST_WALL_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _shared(path: Path) -> Path:
    """A file from ../shared: skipped when the samples are absent, an error when they are required."""
    if not path.is_file():
        if REQUIRE_SAMPLES:
            pytest.fail(f"sample {path} is missing (CODARECON_REQUIRE_SAMPLES=1)")
        pytest.skip(f"{path} is missing; .ci/run requires it (CODARECON_REQUIRE_SAMPLES=1)")
    return path


def sample_path(name: str) -> Path:
    """A shared CODA sample."""
    return _shared(SAMPLES_DIR / name)


def camt_sample(name: str) -> Path:
    """A shared camt.053 sample."""
    return _shared(CAMT_SAMPLES / name)


def peppol_examples() -> list[Path]:
    """The Peppol examples: skipped when absent, an error when the shared samples are required."""
    found = sorted(PEPPOL_EXAMPLES.glob("*.xml"))
    if not found:
        if REQUIRE_SAMPLES:
            pytest.fail(f"no Peppol examples in {PEPPOL_EXAMPLES} (CODARECON_REQUIRE_SAMPLES=1)")
        pytest.skip(f"{PEPPOL_EXAMPLES} is missing; .ci/run requires it (CODARECON_REQUIRE_SAMPLES=1)")
    return found


def database_url(tmp_dir: Path) -> str:
    return os.environ.get("CODARECON_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("codarecon")
    env = {
        "CODARECON_DATABASE_URL": database_url(tmp),
        "CODARECON_ADMIN_TOKEN": ADMIN_TOKEN,
        "CODARECON_VAR_DIR": str(tmp / "var"),
        "CODARECON_EMBEDDED_WORKERS": "false",
        "CODARECON_RATE_LIMIT": "0",  # the suite is one client firing fast; tests/api/test_rate_limit.py turns it on
        # PostgreSQL refuses to start without an explicit key (app.core.config.require_explicit_secret_key).
        "CODARECON_SECRET_KEY": TEST_SECRET_KEY,
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from app.core.config import get_settings
    from app.core.db import reset_engine

    get_settings.cache_clear()
    reset_engine()
    yield env
    reset_engine()
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def _schema_template() -> Path:
    """A migrated, empty SQLite file, made once per version of the migrations and copied by every test
    session: migrating from nothing takes a second or two, which `make mutate` would pay per mutant."""
    from app.core.db import make_engine
    from app.core.migrate import upgrade_to_head

    versions = Path(__file__).resolve().parents[1] / "app" / "migrations" / "versions"
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted(versions.glob("*.py")))).hexdigest()[:16]
    template = Path(tempfile.gettempdir()) / f"codarecon-test-schema-{digest}.db"
    if not template.exists():
        scratch = template.with_suffix(f".{os.getpid()}.tmp")
        engine = make_engine(f"sqlite:///{scratch}")
        upgrade_to_head(engine)
        engine.dispose()  # the last connection to close folds the WAL back into the file
        scratch.replace(template)  # atomic: parallel sessions never see half a file
    return template


@pytest.fixture(scope="session")
def migrated(app_settings: dict[str, str]) -> None:
    from sqlalchemy.engine import make_url

    from app.core.db import get_engine
    from app.core.migrate import upgrade_to_head

    url = app_settings["CODARECON_DATABASE_URL"]
    if url.startswith("sqlite"):
        # The template was migrated to head by upgrade_to_head itself (its name is the digest of the migrations):
        # asking Alembic again would only load every migration script, a second per session under `make mutate`.
        shutil.copyfile(_schema_template(), make_url(url).database)
        return
    engine = get_engine()
    with engine.begin() as conn:  # a reused test database starts from nothing
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_to_head(engine)


def _empty_all_tables() -> None:
    import app.models  # noqa: F401
    from app.companies.access import company_cache
    from app.core.auth import key_cache
    from app.core.db import get_engine

    engine = get_engine()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    key_cache._entries.clear()
    company_cache.clear()


@pytest.fixture
def db(migrated: None) -> Iterator[None]:
    _empty_all_tables()
    yield


@pytest.fixture(scope="session")
def app(migrated: None):
    """One app for the session: building FastAPI's routes costs more than most tests."""
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(db: None, app) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:  # lifespan per test, as in production
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


#: What the test resolver answers for names under the reserved .example and .test domains: a public address
#: (example.com's), so that tests stay offline and webhook URLs such as https://app.example/hook are accepted.
PUBLIC_TEST_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def _job_kinds_restored() -> Iterator[None]:
    """Each test leaves the job registry as it found it: a kind registered under a patched setting (one attempt,
    say) would otherwise decide how a later test's jobs retry, in whatever order the tests run."""
    from app.core import outbox
    from app.worker import load_job_kinds

    load_job_kinds()  # registered once per process, under the settings of the moment: here, not in a patched test
    saved = dict(outbox.KINDS)
    yield
    outbox.KINDS.clear()
    outbox.KINDS.update(saved)


@pytest.fixture(autouse=True)
def offline_resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Webhook hosts resolve offline: names in the returned table first, *.example/*.test to a public address,
    everything else (numeric spellings, localhost) through the system resolver, as in production."""
    import ipaddress

    from app.webhooks import network

    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int):
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        if host.endswith((".example", ".test")):
            return [ipaddress.ip_address(PUBLIC_TEST_ADDRESS)]
        return network._system_resolve(host, port)

    monkeypatch.setattr(network, "resolve", resolve)
    return table
