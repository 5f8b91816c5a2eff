"""Bugs planted by hand, one at a time, in code written since the last audit: does a test catch each?

mutmut's operators do not make the changes a person makes (a dropped branch, a field read from the wrong place,
a boundary moved by one, a check that looks at one thing fewer). Each bug here is such a change, one to three
lines, with the tests that should catch it. The script applies a bug, runs its tests (stopping at the first
failure, each test with a time limit), restores the file byte for byte, and reports caught and survived per
module. `--only ID` runs one; `--check` only verifies that every bug still applies to the code.

    .venv/bin/python scripts/plant_bugs.py            # all, on SQLite (about 15 minutes on 2 cores)
    .venv/bin/python scripts/plant_bugs.py --only codabox-holder-ignored

Results of the runs, and what was done about survivors: docs/testing.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bug:
    id: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]

    @property
    def module(self) -> str:
        return self.path.removeprefix("app/").removesuffix(".py")


CODABOX = ("tests/api/test_codabox_real_api.py", "tests/api/test_codabox.py")

BUGS = [
    # -- CodaBox as it really is -------------------------------------------------------------------------
    Bug(
        "codabox-formats-as-list",
        "app/codabox/client.py",
        "    if isinstance(raw, dict):\n        return {str(model).lower()",
        "    if isinstance(raw, list):\n        return {str(model).lower()",
        CODABOX,
    ),
    Bug(
        "codabox-xml-offered-anywhere",
        "app/codabox/client.py",
        'return preferred if preferred in self.allowed_formats.get("coda", []) else "cod"',
        'return preferred if any(preferred in f for f in self.allowed_formats.values()) else "cod"',
        CODABOX,
    ),
    Bug(
        "codabox-fetch-delay-zero-is-default",
        "app/codabox/client.py",
        'fetch_delay=DEFAULT_FETCH_DELAY if body.get("fetch_delay") is None else int(body["fetch_delay"]),',
        'fetch_delay=int(body.get("fetch_delay") or DEFAULT_FETCH_DELAY),',
        CODABOX,
    ),
    Bug(
        "codabox-duplicate-by-text",
        "app/codabox/client.py",
        'if status == 409 and method == "POST":',
        'if status in (400, 409) and ("already" in detail.lower() or status == 409):',
        CODABOX,
    ),
    Bug(
        "codabox-holder-ignored",
        "app/statements/service.py",
        "        self.holder = file.source.holder",
        "        self.holder = None",
        CODABOX,
    ),
    Bug(
        "codabox-other-models-silent",
        "app/codabox/feed.py",
        '        _record(link.company_id, feed_id, entry, "skipped", reason)\n        return "skipped"',
        '        return "skipped"',
        CODABOX,
    ),
    Bug(
        "codabox-sync-goes-on-after-foreign",
        "app/codabox/feed.py",
        '                    if outcome == "foreign":',
        '                    if outcome == "foreign" and False:',
        CODABOX,
    ),
    Bug(
        "codabox-skipped-downloaded-again",
        "app/codabox/feed.py",
        'SETTLED = ("ingested", "failed", "skipped", "foreign")',
        'SETTLED = ("ingested", "failed")',
        CODABOX,
    ),
    Bug(
        "codabox-poll-ignores-delay",
        "app/codabox/feed.py",
        "            if due is None or due <= now:",
        "            if True:",
        CODABOX,
    ),
    Bug(
        "codabox-sync-inside-delay",
        "app/codabox/service.py",
        "    if due is not None and due > utcnow():\n        raise TooManyRequests(",
        "    if due is not None and due > utcnow() + timedelta(days=1):\n        raise TooManyRequests(",
        CODABOX,
    ),
    Bug(
        "codabox-resume-any-state",
        "app/codabox/service.py",
        '    if conn is None or conn.state != "mismatch":',
        "    if conn is None:",
        CODABOX,
    ),
    Bug(
        "codabox-name-warning-inverted",
        "app/codabox/feed.py",
        "max(name_similarity(name, company_name) for name in names) < NAME_WARNING_BELOW",
        "max(name_similarity(name, company_name) for name in names) > NAME_WARNING_BELOW",
        CODABOX,
    ),
    Bug(
        "codabox-status-hides-skipped",
        "app/codabox/service.py",
        'SET_ASIDE = ("failed", "skipped", "foreign")',
        'SET_ASIDE = ("failed", "foreign")',
        CODABOX,
    ),
    # -- account holders -----------------------------------------------------------------------------------
    Bug(
        "holder-eleven-digits-kept",
        "app/identifiers/vat.py",
        '    if len(digits) == 11 and digits.startswith("0"):\n        digits = digits[1:]',
        "",
        ("tests/unit/test_holder_number.py", *CODABOX),
    ),
    Bug(
        "holder-no-check-digits",
        "app/identifiers/vat.py",
        '    return "BE" + digits if be_vat.is_valid(digits) else None',
        '    return "BE" + digits',
        ("tests/unit/test_holder_number.py",),
    ),
    Bug(
        "holder-field-shifted",
        "app/statements/coda.py",
        "account_holder_number=enterprise_number(header[71:82]),",
        "account_holder_number=enterprise_number(header[70:81]),",
        ("tests/unit/test_holder_number.py",),
    ),
    Bug(
        "holder-unnamed-refused",
        "app/statements/service.py",
        "if self.holder and st.account_holder_number and st.account_holder_number != self.holder:",
        "if self.holder and st.account_holder_number != self.holder:",
        CODABOX,
    ),
    Bug(
        "holder-camt-foreign-account",
        "app/statements/camt.py",
        '    if not iban.startswith("BE"):\n        return None',
        "",
        ("tests/unit/test_holder_number.py",),
    ),
    # -- the outbox's rerun ------------------------------------------------------------------------------------
    Bug(
        "rerun-not-marked",
        "app/core/outbox.py",
        '    if waiting is not None and waiting.status == "running":',
        '    if waiting is not None and waiting.status == "runnin":',
        ("tests/db/test_outbox.py",),
    ),
    Bug(
        "rerun-ends-done",
        "app/core/outbox.py",
        'status=case((again, "pending"), else_="done"),',
        'status="done",',
        ("tests/db/test_outbox.py",),
    ),
    # -- one company never stalls another -------------------------------------------------------------------
    Bug(
        "transaction-not-committed",
        "app/core/db.py",
        "        result = work(*args, **kwargs)\n        session.commit()",
        "        result = work(*args, **kwargs)\n        session.flush()",
        ("tests/api/test_invoices.py", "tests/api/test_statements.py"),
    ),
    Bug(
        "committing-route-skipped",
        "app/core/request_routes.py",
        "    if not names:\n        return endpoint",
        "    if names:\n        return endpoint",
        ("tests/api/test_invoices.py", "tests/api/test_decision_contract.py"),
    ),
    Bug(
        "control-character-query-passes",
        "app/core/request_routes.py",
        "        if any(ord(c) < 32 or ord(c) == 127 for c in value):",
        "        if any(ord(c) < 31 and ord(c) != 0 for c in value):",
        ("tests/api/test_impossible_ids.py",),
    ),
    Bug(
        "batched-failure-for-all",
        "app/core/batched_reads.py",
        "            if len(keys) == 1:",
        "            if len(keys) >= 1:",
        ("tests/unit/test_batched_reads.py",),
    ),
    Bug(
        "hot-read-unchecked-id",
        "app/invoices/reads.py",
        "    if not is_possible_id(invoice_id):  # refused before any query, never sent to share one with others\n",
        "    if False:\n",
        ("tests/api/test_impossible_ids.py",),
    ),
    Bug(
        "lock-timeout-unit",
        "app/core/db.py",
        "    lock_ms = int(settings.database_lock_timeout_seconds * 1000)",
        "    lock_ms = int(settings.database_lock_timeout_seconds)",
        ("tests/unit/test_waiting_bounds.py",),
    ),
    Bug(
        "lock-timeout-is-not-busy",
        "app/core/errors.py",
        'WAITED_TOO_LONG = {"55P03", "57014"}',
        'WAITED_TOO_LONG = {"57014"}',
        ("tests/unit/test_waiting_bounds.py",),
    ),
    Bug(
        "write-queue-by-path",
        "app/core/write_queues.py",
        '            return "company:" + vat.upper()',
        '            return "company:" + path',
        ("tests/unit/test_write_queues.py",),
    ),
    # -- UBL off the event loop --------------------------------------------------------------------------------
    Bug(
        "ubl-cap-off-by-much",
        "app/peppol/work.py",
        "    if len(data) > MAX_UBL_BYTES:",
        "    if len(data) > 2 * MAX_UBL_BYTES:",
        ("tests/unit/test_xml_work.py",),
    ),
    Bug(
        "ubl-report-not-checked",
        "app/peppol/work.py",
        "    report = validate_ubl(data) if check and not isinstance(facts, Finding) else None",
        "    report = validate_ubl(data) if not check and not isinstance(facts, Finding) else None",
        ("tests/api/test_client_ubl.py",),
    ),
    Bug(
        "ubl-disagreement-accepted",
        "app/invoices/schemas.py",
        "            if conflicts:\n                raise ValueError(",
        "            if conflicts and False:\n                raise ValueError(",
        ("tests/api/test_client_ubl.py",),
    ),
    # -- edges found by the audit's other findings -------------------------------------------------------------
    Bug(
        "trailer-cut-accepted",
        "app/statements/coda.py",
        'if last is not None and lines[last].startswith("9") and len(lines[last]) < TRAILER_FIELDS:',
        'if last is not None and lines[last].startswith("9") and len(lines[last]) < TRAILER_FIELDS - 30:',
        ("tests/unit/test_coda_input.py", "tests/api/test_incomplete_files.py"),
    ),
    Bug(
        "sixtofour-unwrapped-not",
        "app/webhooks/network.py",
        "    if address.sixtofour is not None:\n        return address.sixtofour",
        "",
        ("tests/unit/test_webhook_targets.py",),
    ),
    Bug(
        "secret-key-unpadded",
        "app/core/config.py",
        '    return len(raw) == 32 and base64.urlsafe_b64encode(raw).decode("ascii") == value',
        "    return len(raw) == 32",
        ("tests/unit/test_secrets_at_rest.py",),
    ),
    Bug(
        "var-not-tightened",
        "app/core/config.py",
        "    if tighten and not missing:",
        "    if tighten and missing:",
        ("tests/unit/test_secrets_at_rest.py",),
    ),
]


def existing(tests: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in tests if (ROOT / t.split("::")[0]).exists())


def run(bug: Bug, seconds: int) -> tuple[bool, float]:
    """Whether a test caught ``bug``, and how long it took to find out (no test yet: survived)."""
    tests = existing(bug.tests)
    if not tests:
        return False, 0.0
    path = ROOT / bug.path
    original = path.read_bytes()
    text = original.decode()
    if text.count(bug.old) != 1:
        raise SystemExit(f"{bug.id}: the code it changes is not there exactly once ({bug.path})")
    path.write_text(text.replace(bug.old, bug.new))
    started = time.monotonic()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "-o",
                f"timeout={seconds}",
                *bug.tests,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds * 20,
        )
        if done.returncode not in (0, 1):  # no tests collected, a usage error: nothing was judged
            raise SystemExit(f"{bug.id}: pytest could not run its tests ({done.returncode}):\n{done.stdout[-2000:]}")
        caught = done.returncode == 1
    except subprocess.TimeoutExpired:
        caught = True  # a hang is a failure the run notices
    finally:
        path.write_bytes(original)
    return caught, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="the id of one bug")
    parser.add_argument("--check", action="store_true", help="only check that every bug still applies")
    parser.add_argument("--seconds", type=int, default=120, help="time limit of one test")
    args = parser.parse_args()
    bugs = [b for b in BUGS if args.only in (None, b.id)]
    if not bugs:
        raise SystemExit(f"no bug {args.only}")
    if args.check:
        for bug in bugs:
            count = (ROOT / bug.path).read_text().count(bug.old)
            if count != 1:
                raise SystemExit(f"{bug.id}: found {count} times in {bug.path}")
        print(f"{len(bugs)} bugs apply")
        return 0
    # The tests must pass on the real code first, or every bug would look caught.
    for tests in dict.fromkeys(existing(bug.tests) for bug in bugs if existing(bug.tests)):
        clean = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", f"timeout={args.seconds}", *tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if clean.returncode != 0:
            raise SystemExit(f"the tests {tests} fail on the real code:\n{clean.stdout[-2000:]}")
    by_module: dict[str, list[tuple[Bug, bool]]] = defaultdict(list)
    for bug in bugs:
        caught, seconds = run(bug, args.seconds)
        by_module[bug.module].append((bug, caught))
        print(f"{'caught  ' if caught else 'SURVIVED'} {bug.id:40} {seconds:6.1f} s", flush=True)
    total = sum(len(v) for v in by_module.values())
    caught_all = sum(c for v in by_module.values() for _, c in v)
    print("\n| module | caught | survived |\n|---|---|---|")
    for module, results in sorted(by_module.items()):
        caught = sum(c for _, c in results)
        print(f"| {module} | {caught} | {len(results) - caught} |")
    print(f"\n{caught_all} of {total} caught ({100 * caught_all / total:.1f} %)")
    return 0 if caught_all == total else 1


if __name__ == "__main__":
    sys.exit(main())
