"""The review page (/ui/): server-rendered, no JavaScript, for a person holding a company key.

Signing in with the key opens a server-side session (app/ui/sessions.py): the HttpOnly, SameSite=Strict cookie
holds the session's random id, never the key. Every action is a plain form POST with a CSRF token that runs the
same services as the API (so tenancy, scopes, audit and events are the same) and redirects back
(POST/redirect/GET). Whatever moves money is shown on a confirmation page first, and can be undone from the
history afterwards. Every answer carries the headers of app/ui/headers.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.core.asgi import replay_body
from app.core.auth import Principal, principal_for
from app.core.bodies import read_limited_body
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.errors import AppError, PayloadTooLarge, Unauthorized
from app.core.money import MoneyError
from app.reconciliation import decisions, rules_service
from app.reconciliation.models import WRITE_OFF_REASONS
from app.reconciliation.rules_schemas import RuleCreate
from app.ui import confirm, i18n, sessions
from app.ui.headers import PageRoute
from app.ui.views import LISTS, page_data

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
#: The session id (app/ui/sessions.py); lives as long as the session.
COOKIE = "codarecon_session"
#: Where the key itself used to be kept: a browser that still has it is told to forget it.
LEGACY_COOKIE = "codarecon_key"
#: Set by the sign-in page, so that its form can carry a token no other site can know (see login_token).
LOGIN_COOKIE = "codarecon_login"
LANGUAGE_COOKIE = "codarecon_lang"
STYLE = (HERE / "static" / "review.css").read_bytes()
#: Named by its content: cached for good, and a new version is a new URL.
STYLESHEET = f"/ui/review.css?v={hashlib.sha256(STYLE).hexdigest()[:12]}"


def _token(purpose: str, cookie: str) -> str:
    from app.core.crypto import secret_bytes

    return hmac.new(secret_bytes(), f"{purpose}:{cookie}".encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """Tied to the signed-in session (its cookie) and to this server's secret: a page from elsewhere cannot know
    it. Every form of the signed-in page carries it, and every action checks it (besides SameSite=Strict)."""
    return _token("csrf", request.cookies.get(COOKIE, ""))


def login_token(cookie: str) -> str:
    """The sign-in form's token, tied to the sign-in page's cookie: a form posted from another site has neither
    (SameSite=Strict), so it cannot sign a visitor into the sender's company."""
    return _token("login", cookie)


async def _csrf_ok(request: Request) -> bool:
    form = await request.form()
    sent = form.get("csrf")
    return isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(request))


async def _principal(request: Request) -> Principal | None:
    """The session's principal, looked up once per request (in the thread pool: it reads the database)."""
    if not hasattr(request.state, "principal"):
        session_id = request.cookies.get(COOKIE)
        request.state.principal = await run_in_threadpool(sessions.resolve, session_id) if session_id else None
    return request.state.principal


NOTICE = "codarecon_notice"


def _notice(target: str, message: str, *, error: bool) -> Response:
    """Go to ``target`` with a one-time notice. The notice travels in a cookie only this site sets, never in
    the URL: a link from elsewhere cannot put its own words on the page."""
    response = RedirectResponse(target, status_code=303)
    value = json.dumps({"message": message[:500], "error": error})
    response.set_cookie(NOTICE, quote(value), httponly=True, samesite="strict", path="/ui", max_age=60)
    return response


def _take_notice(request: Request) -> tuple[str | None, bool]:
    raw = request.cookies.get(NOTICE)
    if not raw:
        return None, False
    try:
        data = json.loads(unquote(raw))
        return str(data["message"]), bool(data["error"])
    except (ValueError, KeyError, TypeError):
        return None, False


def _language(request: Request) -> str:
    return i18n.choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def _shown(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    notice: tuple[str, bool] | None = None,
) -> Response:
    message, error = notice or _take_notice(request)
    language = _language(request)
    csrf = context.pop("csrf", None) or (csrf_token(request) if request.cookies.get(COOKIE) else "")
    response = templates.TemplateResponse(
        request,
        template,
        {
            "company": None,
            "can_write": False,
            **context,
            "message": message,
            "error": error,
            "csrf": csrf,
            "stylesheet": STYLESHEET,
            "t": i18n.translator(language),
            "language": language,
            "languages": i18n.LANGUAGE_NAMES,
        },
        status_code=status_code,
    )
    if message is not None and notice is None:
        response.delete_cookie(NOTICE, path="/ui")
    return response


def _to_login(message: str | None = None) -> Response:
    if message is None:
        return RedirectResponse("/ui/login", status_code=303)
    return _notice("/ui/login", message, error=True)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _sign_in_page(request: Request, status_code: int = 200, notice: tuple[str, bool] | None = None) -> Response:
    """The sign-in form with its token; the cookie it is tied to is kept if the browser has one (several tabs
    may be open), else set."""
    cookie = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = _shown(request, "login.html", {"csrf": login_token(cookie)}, status_code=status_code, notice=notice)
    response.set_cookie(
        LOGIN_COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request), path="/ui", max_age=3600
    )
    if LEGACY_COOKIE in request.cookies:
        response.delete_cookie(LEGACY_COOKIE, path="/ui")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return _sign_in_page(request)


@router.get("/review.css")
async def stylesheet() -> Response:
    return Response(STYLE, media_type="text/css", headers={"cache-control": "public, max-age=31536000, immutable"})


@router.get("/language/{language}")
async def choose_language(language: str) -> Response:
    """Remember the reader's language (nl, fr, en) and go back to the page."""
    response = RedirectResponse("/ui/", status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="strict", path="/ui", max_age=365 * 86400)
    return response


@router.post("/login")
async def login(request: Request, key: Annotated[str, Form()], csrf: Annotated[str, Form()] = "") -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not hmac.compare_digest(csrf, login_token(cookie)):
        return _notice("/ui/login", _t(request, "stale"), error=True)
    try:
        principal = await principal_for(key.strip())
    except Unauthorized:
        principal = None
    if principal is None or principal.kind != "company":
        return _sign_in_page(request, status_code=401, notice=(_t(request, "not_a_key"), True))
    session_id = await run_in_threadpool(sessions.start, principal, request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/ui",
        max_age=int(sessions.LIFETIME.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    if LEGACY_COOKIE in request.cookies:
        response.delete_cookie(LEGACY_COOKIE, path="/ui")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    if not await _csrf_ok(request):
        return _notice("/ui/", _t(request, "stale"), error=True)
    await run_in_threadpool(sessions.end, request.cookies.get(COOKIE, ""))
    response = _to_login()
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _t(request: Request, key: str, **values: object) -> str:
    return i18n.translator(_language(request))(key, **values)


def _requested_page(request: Request, name: str) -> int:
    raw = request.query_params.get(f"page_{name}", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


@router.get("/", response_class=HTMLResponse)
async def review(request: Request) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _to_login()
    language = _language(request)
    pages = {name: _requested_page(request, name) for name in LISTS}
    search = request.query_params.get("q", "")
    invoice_search = request.query_params.get("invoice_q", "")
    data = await run_in_threadpool(page_data, principal.company_id, language, pages, search, invoice_search)

    def page_url(name: str, page: int) -> str:
        params: dict[str, Any] = {f"page_{n}": p for n, p in pages.items() if p > 1 and n != name}
        if page > 1:
            params[f"page_{name}"] = page
        for field, value in (("q", search), ("invoice_q", invoice_search)):
            if value.strip():
                params[field] = value.strip()
        return "/ui/" + ("?" + urlencode(sorted(params.items())) if params else "") + f"#{name}"

    return _shown(request, "review.html", {**data, "can_write": principal.scope == "write", "page_url": page_url})


async def _writer(request: Request) -> Principal | Response:
    """The signed-in principal with a write key, or the page to go to instead."""
    principal = await _principal(request)
    if principal is None:
        return _to_login(_t(request, "sign_in_again"))
    if principal.scope != "write":
        return _notice("/ui/", _t(request, "cannot_write"), error=True)
    return principal


async def _act(request: Request, action: Any, done: str) -> Response:
    if await _principal(request) is not None and not await _csrf_ok(request):
        return _notice("/ui/", _t(request, "stale"), error=True)
    writer = await _writer(request)
    if isinstance(writer, Response):
        return writer

    def run() -> None:
        with unit_of_work() as session:
            action(session, writer)

    try:
        await run_in_threadpool(run)
    except AppError as exc:
        return _notice("/ui/", exc.detail, error=True)
    return _notice("/ui/", _t(request, done), error=False)


def _actor(principal: Principal) -> str:
    return f"ui:{principal.key_id}"


async def _confirmation(request: Request, build: Any) -> Response:
    """The confirmation page of an action: what will happen, in the reader's language, and one button."""
    writer = await _writer(request)
    if isinstance(writer, Response):
        return writer
    language = _language(request)
    try:
        preview = await run_in_threadpool(build, writer.company_id, language)
    except (AppError, MoneyError) as exc:
        typed = request.query_params.get("amount", "")[:40]
        message = exc.detail if isinstance(exc, AppError) else _t(request, "bad_amount", text=typed)
        return _notice("/ui/", message, error=True)
    return _shown(request, "confirm.html", {"preview": preview, "company": preview["company"], "can_write": True})


@router.get("/transactions/{transaction_id}/allocate", response_class=HTMLResponse)
async def confirm_allocation(
    request: Request, transaction_id: str, invoice_id: str = "", amount: str = "", allow_overpayment: bool = False
) -> Response:
    return await _confirmation(
        request,
        lambda company_id, language: confirm.allocation(
            company_id, language, transaction_id, invoice_id, amount, allow_overpayment=allow_overpayment
        ),
    )


@router.post("/transactions/{transaction_id}/allocate")
async def allocate(
    request: Request,
    transaction_id: str,
    invoice_id: Annotated[str, Form()],
    amount: Annotated[str, Form()],
    allow_overpayment: Annotated[bool, Form()] = False,
) -> Response:
    value = _amount(request, amount)
    if isinstance(value, Response):
        return value
    return await _act(
        request,
        lambda s, p: decisions.allocate_manually(
            s, p.company_id, transaction_id, invoice_id, value, _actor(p), allow_overpayment=allow_overpayment
        ),
        "done_allocated",
    )


@router.get("/transactions/{transaction_id}/keep", response_class=HTMLResponse)
async def confirm_keep(request: Request, transaction_id: str, amount: str = "", reason: str = "manual") -> Response:
    return await _confirmation(
        request, lambda company_id, language: confirm.keep(company_id, language, transaction_id, amount, reason)
    )


@router.post("/transactions/{transaction_id}/keep")
async def keep(
    request: Request, transaction_id: str, amount: Annotated[str, Form()], reason: Annotated[str, Form()]
) -> Response:
    value = _amount(request, amount)
    if isinstance(value, Response):
        return value
    if reason not in WRITE_OFF_REASONS:
        return _notice("/ui/", f"unknown reason {reason[:40]!r}", error=True)
    return await _act(
        request,
        lambda s, p: decisions.write_off_transaction(
            s, p.company_id, transaction_id, value, reason, _actor(p), note=None
        ),
        "done_kept",
    )


@router.get("/transactions/{transaction_id}/suggestions/{suggestion_id}/accept", response_class=HTMLResponse)
async def confirm_accept(request: Request, transaction_id: str, suggestion_id: str) -> Response:
    return await _confirmation(
        request, lambda company_id, language: confirm.acceptance(company_id, language, transaction_id, suggestion_id)
    )


@router.post("/transactions/{transaction_id}/suggestions/{suggestion_id}/accept")
async def accept(request: Request, transaction_id: str, suggestion_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.accept_suggestion(s, p.company_id, transaction_id, suggestion_id, _actor(p)),
        "done_accepted",
    )


@router.post("/rules")
async def new_rule(
    request: Request,
    name: Annotated[str, Form()],
    action: Annotated[str, Form()],
    words: Annotated[str, Form()] = "",
    counterparty_iban: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "bank_fee",
    customer: Annotated[str, Form()] = "",
) -> Response:
    """A rule from the page's form: created off, to be tried and switched on like any other."""
    try:
        data = RuleCreate(
            name=name,
            action=action,
            words=words.split(),
            counterparty_iban=counterparty_iban or None,
            reason=reason if action == "keep" else None,
            customer={"name": customer} if action == "payer" and customer.strip() else None,
        )
    except ValidationError as exc:
        return _notice("/ui/", "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()), error=True)
    return await _act(
        request, lambda s, p: rules_service.create_from(s, p.company_id, data, _actor(p)), "done_rule_made"
    )


@router.get("/rules/{rule_id}/on", response_class=HTMLResponse)
async def confirm_rule_on(request: Request, rule_id: str) -> Response:
    return await _confirmation(
        request, lambda company_id, language: confirm.rule_switched_on(company_id, language, rule_id)
    )


@router.post("/rules/{rule_id}/{state}")
async def set_rule_state(request: Request, rule_id: str, state: str) -> Response:
    """Switch a rule on or off, or dismiss a proposal (the review page's buttons)."""
    states = {
        "on": ("on", "done_rule_on"),
        "off": ("off", "done_rule_off"),
        "dismiss": ("dismissed", "done_rule_dismissed"),
    }
    if state not in states:
        return _notice("/ui/", _t(request, "stale"), error=True)
    target, done = states[state]

    def change(session: Any, principal: Principal) -> None:
        rule = rules_service.rule_at(session, principal.company_id, rule_id)
        rules_service.update_rule(session, rule, {"state": target}, _actor(principal))

    return await _act(request, change, done)


@router.post("/transactions/{transaction_id}/suggestions/{suggestion_id}/reject")
async def reject(request: Request, transaction_id: str, suggestion_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.reject_suggestion(s, p.company_id, transaction_id, suggestion_id, _actor(p)),
        "done_rejected",
    )


def _amount(request: Request, text: str) -> Decimal | Response:
    try:
        return i18n.parse_money(text, _language(request))
    except MoneyError:
        return _notice("/ui/", _t(request, "bad_amount", text=text[:40]), error=True)


@router.get("/transactions/{transaction_id}/allocations/{allocation_id}/undo", response_class=HTMLResponse)
async def confirm_undo_allocation(request: Request, transaction_id: str, allocation_id: str) -> Response:
    return await _confirmation(
        request,
        lambda company_id, language: confirm.undoing_allocation(company_id, language, transaction_id, allocation_id),
    )


@router.get("/write-offs/{write_off_id}/undo", response_class=HTMLResponse)
async def confirm_undo_write_off(request: Request, write_off_id: str) -> Response:
    return await _confirmation(
        request, lambda company_id, language: confirm.undoing_write_off(company_id, language, write_off_id)
    )


@router.post("/transactions/{transaction_id}/allocations/{allocation_id}/undo")
async def undo_allocation(request: Request, transaction_id: str, allocation_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.undo_allocation(s, p.company_id, transaction_id, allocation_id, _actor(p)),
        "done_undone",
    )


@router.post("/write-offs/{write_off_id}/undo")
async def undo_write_off(request: Request, write_off_id: str) -> Response:
    return await _act(
        request, lambda s, p: decisions.undo_write_off(s, p.company_id, write_off_id, _actor(p)), "done_undone"
    )


@router.post("/statements")
async def upload_statement(request: Request) -> Response:
    """A CODA or camt.053 file chosen on the page: stored whole or not at all, like the API's upload."""
    writer = await _writer(request)
    if isinstance(writer, Response):
        return writer
    limit = get_settings().max_upload_bytes
    try:
        body = await read_limited_body(request, limit + 64 * 1024)
    except PayloadTooLarge as exc:
        return _notice("/ui/", exc.detail, error=True)
    form = await Request(request.scope, receive=replay_body(body)).form(max_files=1, max_fields=5)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        return _notice("/ui/", _t(request, "stale"), error=True)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data.strip():
        return _notice("/ui/", _t(request, "no_file"), error=True)
    if len(data) > limit:
        return _notice("/ui/", f"the file is larger than the limit of {limit} bytes", error=True)

    def run() -> Any:
        from app.statements.service import ingest_statement_file
        from app.statements.sources import uploaded

        with unit_of_work() as session:
            return ingest_statement_file(session, writer.company_id, uploaded(data)).response

    try:
        answer = await run_in_threadpool(run)
    except AppError as exc:
        return _notice("/ui/", exc.detail, error=True)
    if answer.transactions_created == 0 and answer.duplicates:  # every statement in it was stored before
        return _notice("/ui/", _t(request, "already_imported"), error=False)
    done = _t(
        request,
        "uploaded",
        created=answer.transactions_created,
        matched=answer.matching.matched,
        suggested=answer.matching.suggested,
    )
    return _notice("/ui/", done, error=False)
