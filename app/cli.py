"""codarecon: payment reconciliation for Belgian invoicing software. Run the API, its workers, and tools for
bank statements (CODA and camt.053), the database and a local CodaBox stand-in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from app import __version__

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.config import get_settings
    from app.core.logging_setup import logging_config

    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logging_config(get_settings().log_level),
        proxy_headers=True,
        # Forwarded headers are believed from these addresses only (README: behind a reverse proxy).
        forwarded_allow_ips=args.forwarded_allow_ips or get_settings().forwarded_allow_ips,
        access_log=False,
        # On SIGTERM, requests in flight get this long to finish; then the process ends anyway. Waiting
        # requests are bounded too (write queue, lock and statement timeouts), so they end well before.
        timeout_graceful_shutdown=get_settings().graceful_shutdown_seconds,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    import signal

    from app.core.config import get_settings, require_explicit_secret_key
    from app.core.db import get_engine
    from app.core.gc_tuning import tune_for_serving
    from app.core.logging_setup import configure_logging
    from app.core.migrate import upgrade_to_head
    from app.worker import Worker

    settings = get_settings()
    configure_logging(settings.log_level)
    require_explicit_secret_key(settings)
    upgrade_to_head(get_engine())
    worker = Worker()
    tune_for_serving()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: worker.stop.set())
    worker.start()
    worker.wait()
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from app.core.db import get_engine
    from app.core.migrate import current_revision, upgrade_to_head

    upgrade_to_head(get_engine())
    print(f"schema at revision {current_revision(get_engine())}")
    return 0


def _admin_token(_: argparse.Namespace) -> int:
    from app.core.auth import admin_token
    from app.core.config import get_settings

    print(admin_token(get_settings()))
    return 0


def _check(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        return _check_database(args)
    except (ArgumentError, DBAPIError) as exc:
        # An invalid URL or a database out of reach is no violation (exit 1): one line, and 2 as for a usage error.
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0][:200]
        print(f"codarecon check: cannot read the database: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 2


def _check_database(args: argparse.Namespace) -> int:
    from app.companies.access import company_by_vat
    from app.core.db import get_engine, unit_of_work
    from app.identifiers.vat import VatError, normalize_vat
    from app.reconciliation.invariants import check

    engine = get_engine()
    with unit_of_work(read_only=True) as session:
        company_id = None
        if args.company:
            try:
                company = company_by_vat(session, normalize_vat(args.company))
            except VatError as exc:
                print(f"codarecon check: {exc}", file=sys.stderr)
                return 2
            if company is None:
                print(f"codarecon check: no company {args.company}", file=sys.stderr)
                return 2
            company_id = company.id
        violations = check(session, company_id)
    for violation in violations:
        print(violation)
    where = f"{engine.dialect.name} database {engine.url.render_as_string(hide_password=True)}"
    if violations:
        print(f"{len(violations)} violation(s) of the money-state invariants in the {where}", file=sys.stderr)
        return 1
    print(f"ok: no violation of the money-state invariants in the {where}")
    return 0


def _statement_parse(args: argparse.Namespace) -> int:
    """What the service would store from a CODA or camt.053 file (told apart by its content); ``-`` is stdin."""
    from app.statements.parsed import StatementFileError
    from app.statements.readers import reader_for
    from app.statements.report import render_report

    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        print(f"codarecon: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    reader = reader_for(data)
    try:
        parsed = reader.parse(data)
    except StatementFileError as exc:
        print(f"{args.file}: not a readable {reader.name} file: {exc}", file=sys.stderr)
        return 2
    print(render_report(parsed, as_json=args.json))
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes as one clear line and exit code 2, never a traceback or a page of usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _amount(text: str) -> Decimal:
    """A signed amount with at most 2 decimals; a Belgian decimal comma ("12,50") is accepted."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount (like 121.00 or 12,50)") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount with at most 2 decimals")
    return value


def _day(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _iban(text: str) -> str:
    from app.identifiers.iban import IbanError, normalize_iban

    try:
        return normalize_iban(text)
    except IbanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ogm(text: str) -> str:
    from app.identifiers.references import ReferenceError_, normalize_ogm

    try:
        return normalize_ogm(text)
    except ReferenceError_ as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _coda_example(args: argparse.Namespace) -> int:
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    movement = MovementSpec(
        amount=args.amount,
        ogm=args.ogm,
        communication=args.communication or "",
        counterparty_name=args.name,
        counterparty_iban=args.counterparty or "",
    )
    statement = StatementSpec(
        account_iban=args.account,
        date=args.date or date.today(),
        opening_balance=args.opening,
        movements=[movement],
        sequence=args.sequence,
    )
    sys.stdout.buffer.write(write_coda([statement]))
    return 0


def _fake_codabox(args: argparse.Namespace) -> int:
    from app.codabox.fake import serve_fake

    print(f"fake CodaBox on http://{args.host}:{args.port}/v2/ (control routes under /_fake/)", file=sys.stderr)
    serve_fake(args.host, args.port, args.software_company, args.fetch_delay)
    return 0


def _fake_ponto(args: argparse.Namespace) -> int:
    from app.ponto.fake import serve_fake as serve_fake_ponto

    print(
        f"fake Ponto Connect on http://{args.host}:{args.port}/ponto-connect (browser step /oauth2/auth, webhook keys "
        "/webhooks/keys, control routes under /_fake/)",
        file=sys.stderr,
    )
    options: dict[str, object] = {"cooldown_seconds": args.cooldown}
    if args.webhook_url:
        options["webhook_url"] = args.webhook_url
    serve_fake_ponto(args.host, args.port, **options)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="codarecon", description=__doc__)
    parser.add_argument("--version", action="version", version=f"codarecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    serve = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="API processes (stateless; use PostgreSQL for > 1)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-For/-Proto are believed (default CODARECON_FORWARDED_ALLOW_IPS, 127.0.0.1)",
    )
    serve.set_defaults(func=_serve)

    sub.add_parser("worker", help="run background jobs (several may run at once on PostgreSQL)").set_defaults(
        func=_worker
    )
    sub.add_parser("migrate", help="bring the database schema to the newest revision").set_defaults(func=_migrate)
    sub.add_parser("admin-token", help="print the admin token (generated under var/ if unset)").set_defaults(
        func=_admin_token
    )

    check = sub.add_parser(
        "check",
        help="verify the money-state invariants on the database (CODARECON_DATABASE_URL); exit 1 on a violation",
    )
    check.add_argument("--company", help="only this company (its VAT number)")
    check.set_defaults(func=_check)

    statement = sub.add_parser("statement", help="bank statement tools (CODA and camt.053)").add_subparsers(
        dest="statement_command", required=True, parser_class=OneLineParser
    )
    coda = sub.add_parser("coda", help="CODA file tools").add_subparsers(
        dest="coda_command", required=True, parser_class=OneLineParser
    )
    for group, name in ((statement, "parse"), (coda, "parse")):
        parse = group.add_parser(
            name, help="print what the service would store for a CODA or camt.053 file (detected from its content)"
        )
        parse.add_argument("file", help="the file, or - for standard input")
        parse.add_argument("--json", action="store_true", help="machine-readable output")
        parse.set_defaults(func=_statement_parse)
    example = coda.add_parser("example", help="write a one-payment CODA file to stdout (for trying things out)")
    example.add_argument("--account", required=True, type=_iban, help="the statement's account (IBAN)")
    example.add_argument(
        "--amount", required=True, type=_amount, help="signed amount, at most 2 decimals; positive is money in"
    )
    example.add_argument("--ogm", type=_ogm, help="structured communication (OGM/VCS) of the payment")
    example.add_argument("--communication", help="free communication (instead of --ogm)")
    example.add_argument("--name", default="", help="counterparty name")
    example.add_argument("--counterparty", type=_iban, help="counterparty IBAN")
    example.add_argument("--date", type=_day, help="booking date, YYYY-MM-DD or DD/MM/YYYY (default today)")
    example.add_argument("--opening", type=_amount, default=Decimal(0), help="opening balance")
    example.add_argument("--sequence", type=int, default=1, help="CODA statement sequence number")
    example.set_defaults(func=_coda_example)
    fake = sub.add_parser("fake-codabox", help="run a local CodaBox stand-in with fault injection")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8765)
    fake.add_argument("--software-company", help="the X-Software-Company it accepts (default all zeros)")
    fake.add_argument(
        "--fetch-delay",
        type=int,
        default=7200,
        help="the fetch_delay it announces, seconds between two polls of a feed (default 7200, as CodaBox's)",
    )
    fake.set_defaults(func=_fake_codabox)
    ponto = sub.add_parser("fake-ponto", help="run a local Ponto Connect stand-in (OAuth, sync, webhooks, faults)")
    ponto.add_argument("--host", default="127.0.0.1")
    ponto.add_argument("--port", type=int, default=8766)
    ponto.add_argument("--webhook-url", help="where it delivers its signed webhooks (e.g. .../v1/webhooks/ponto)")
    ponto.add_argument(
        "--cooldown",
        type=int,
        default=300,
        help="seconds before an account may be synchronized again (Ponto's cool-down; its length is unpublished)",
    )
    ponto.set_defaults(func=_fake_ponto)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
