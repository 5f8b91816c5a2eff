"""The review page (/ui/): server-rendered, no JavaScript, for a person holding a company key.

The key is kept in an HttpOnly, SameSite=Strict cookie; every action is a plain form POST that runs the same
services as the API (so tenancy, scopes, audit and events are the same) and redirects back (POST/redirect/GET).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from app.companies.models import Company
from app.db import unit_of_work
from app.errors import AppError, Unauthorized
from app.invoices.models import Invoice
from app.invoices.presenter import amount_due
from app.money import MoneyError, format_amount, parse_amount
from app.reconciliation import decisions
from app.reconciliation.models import WRITE_OFF_REASONS, Allocation, Suggestion, WriteOff
from app.security import Principal, principal_for
from app.statements.models import BankTransaction

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
COOKIE = "codarecon_key"


def csrf_token(request: Request) -> str:
    """Tied to the signed-in key (its cookie) and to this server's secret: a page from elsewhere cannot know it.
    Every form of the signed-in page carries it, and every action checks it (besides SameSite=Strict)."""
    from app.crypto import secret_bytes

    key = request.cookies.get(COOKIE, "")
    return hmac.new(secret_bytes(), f"csrf:{key}".encode(), hashlib.sha256).hexdigest()[:32]


async def _csrf_ok(request: Request) -> bool:
    form = await request.form()
    sent = form.get("csrf")
    return isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(request))


async def _principal(request: Request) -> Principal | None:
    key = request.cookies.get(COOKIE)
    if not key:
        return None
    try:
        principal = await principal_for(key)
    except Unauthorized:
        return None
    return principal if principal.kind == "company" else None


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


def _shown(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    message, error = _take_notice(request)
    csrf = csrf_token(request) if request.cookies.get(COOKIE) else ""
    response = templates.TemplateResponse(
        request, template, {**context, "message": message, "error": error, "csrf": csrf}, status_code=status_code
    )
    if message is not None:
        response.delete_cookie(NOTICE, path="/ui")
    return response


def _to_login(message: str | None = None) -> Response:
    if message is None:
        return RedirectResponse("/ui/login", status_code=303)
    return _notice("/ui/login", message, error=True)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return _shown(request, "login.html", {"company": None})


@router.post("/login")
async def login(request: Request, key: Annotated[str, Form()]) -> Response:
    try:
        principal = await principal_for(key.strip())
    except Unauthorized:
        principal = None
    if principal is None or principal.kind != "company":
        return templates.TemplateResponse(
            request,
            "login.html",
            {"company": None, "message": "That is not a company API key.", "error": True},
            status_code=401,
        )
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(
        COOKIE, key.strip(), httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/ui"
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    if not await _csrf_ok(request):
        return _notice("/ui/", "The page was out of date; nothing was done. Try again.", error=True)
    response = _to_login()
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _page_data(company_id: str) -> dict[str, Any]:
    """Plain view data for the template (rows are read once, in one read-only transaction)."""
    today = date.today()
    with unit_of_work(read_only=True) as session:
        company = session.get(Company, company_id)
        invoices = [
            {
                "id": inv.id,
                "number": inv.number,
                "customer_name": inv.customer_name,
                "due_date": inv.due_date,
                "status": inv.status,
                "structured_reference": inv.structured_reference,
                "due_text": format_amount(amount_due(inv)),
                "written_off_text": format_amount(inv.write_off_amount) if inv.write_off_amount else "",
                "overdue": inv.due_date < today,
            }
            for inv in session.exec(
                select(Invoice)
                .where(Invoice.company_id == company_id, col(Invoice.status).in_(("open", "partially_paid")))
                .order_by(col(Invoice.due_date), col(Invoice.id))
                .limit(200)
            )
        ]
        # Money in that nobody has fully accounted for: nothing allocated yet, or a remainder left.
        to_account = [
            _transaction_view(tx)
            for tx in session.exec(
                select(BankTransaction)
                .where(
                    BankTransaction.company_id == company_id,
                    col(BankTransaction.status).in_(("unmatched", "partially_matched")),
                    col(BankTransaction.amount) > 0,
                )
                .order_by(col(BankTransaction.booking_date).desc(), col(BankTransaction.id))
                .limit(100)
            )
        ]
        suggestions = []
        for s in session.exec(
            select(Suggestion)
            .where(Suggestion.company_id == company_id, Suggestion.status == "open")
            .order_by(col(Suggestion.score).desc())
            .limit(100)
        ):
            tx = session.get(BankTransaction, s.transaction_id)
            parts = []
            for a in s.allocations:
                inv = session.get(Invoice, a["invoice_id"])
                parts.append(
                    {
                        "number": inv.number if inv else "?",
                        "customer": inv.customer_name if inv else "",
                        "amount": a["amount"],
                        "write_off": a.get("write_off"),
                    }
                )
            suggestions.append(
                {
                    "id": s.id,
                    "tx": _transaction_view(tx),
                    "score": s.score,
                    "reasons": s.reasons,
                    "invoices": parts,
                }
            )
        history = _history(session, company_id)
        company_view = {"name": company.name, "vat": company.vat} if company else None
    return {
        "company": company_view,
        "invoices": invoices,
        "to_account": to_account,
        "suggestions": suggestions,
        "history": history,
        "reasons": WRITE_OFF_REASONS,
    }


def _history(session: Any, company_id: str) -> list[dict[str, Any]]:
    """The latest allocations and write-offs, newest first, each with what undoes it."""
    entries: list[dict[str, Any]] = []
    numbers: dict[str, str] = {}

    def number(invoice_id: str | None) -> str:
        if invoice_id is None:
            return "—"
        if invoice_id not in numbers:
            inv = session.get(Invoice, invoice_id)
            numbers[invoice_id] = inv.number if inv else "?"
        return numbers[invoice_id]

    for a in session.exec(
        select(Allocation)
        .where(Allocation.company_id == company_id)
        .order_by(col(Allocation.created_at).desc())
        .limit(50)
    ):
        entries.append(
            {
                "kind": "allocation",
                "at": a.created_at,
                "what": f"{format_amount(a.amount)} to {number(a.invoice_id)}",
                "how": a.method.replace("_", " "),
                "by": a.created_by,
                "undo": f"/ui/transactions/{a.transaction_id}/allocations/{a.id}/undo",
            }
        )
    for w in session.exec(
        select(WriteOff).where(WriteOff.company_id == company_id).order_by(col(WriteOff.created_at).desc()).limit(50)
    ):
        what = (
            f"{format_amount(w.amount)} written off on {number(w.invoice_id)}"
            if w.invoice_id
            else f"{format_amount(w.amount)} of a payment kept without an invoice"
        )
        entries.append(
            {
                "kind": "write-off",
                "at": w.created_at,
                "what": what,
                "how": w.reason.replace("_", " "),
                "by": w.created_by,
                "undo": f"/ui/write-offs/{w.id}/undo",
            }
        )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:50]


def _transaction_view(tx: BankTransaction) -> dict[str, Any]:
    left = tx.amount - tx.amount_allocated - tx.amount_written_off
    return {
        "id": tx.id,
        "booking_date": tx.booking_date,
        "counterparty_name": tx.counterparty_name,
        "counterparty_iban": tx.counterparty_iban,
        "communication": tx.communication,
        "amount_text": format_amount(tx.amount),
        "status": tx.status,
        "left_text": format_amount(left),
        "allocated_text": format_amount(tx.amount_allocated) if tx.amount_allocated else "",
    }


@router.get("/", response_class=HTMLResponse)
async def review(request: Request) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _to_login()
    data = await run_in_threadpool(_page_data, principal.company_id)
    return _shown(request, "review.html", data)


async def _act(request: Request, action: Any, done: str) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _to_login("Sign in again.")
    if not await _csrf_ok(request):
        return _notice("/ui/", "The page was out of date; nothing was done. Try again.", error=True)
    if principal.scope != "write":
        return _notice("/ui/", "This key can only read.", error=True)

    def run() -> None:
        with unit_of_work() as session:
            action(session, principal)

    try:
        await run_in_threadpool(run)
    except AppError as exc:
        return _notice("/ui/", exc.detail, error=True)
    return _notice("/ui/", done, error=False)


@router.post("/transactions/{transaction_id}/suggestions/{suggestion_id}/accept")
async def accept(request: Request, transaction_id: str, suggestion_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.accept_suggestion(s, p.company_id, transaction_id, suggestion_id, f"ui:{p.key_id}"),
        "Suggestion accepted.",
    )


@router.post("/transactions/{transaction_id}/suggestions/{suggestion_id}/reject")
async def reject(request: Request, transaction_id: str, suggestion_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.reject_suggestion(s, p.company_id, transaction_id, suggestion_id, f"ui:{p.key_id}"),
        "Suggestion rejected.",
    )


def _amount(text: str) -> Decimal | Response:
    try:
        return parse_amount(text)
    except MoneyError as exc:
        return _notice("/ui/", f"Amount {exc}", error=True)


@router.post("/transactions/{transaction_id}/allocate")
async def allocate(
    request: Request,
    transaction_id: str,
    invoice_id: Annotated[str, Form()],
    amount: Annotated[str, Form()],
    allow_overpayment: Annotated[bool, Form()] = False,
) -> Response:
    value = _amount(amount)
    if isinstance(value, Response):
        return value
    return await _act(
        request,
        lambda s, p: decisions.allocate_manually(
            s, p.company_id, transaction_id, invoice_id, value, f"ui:{p.key_id}", allow_overpayment=allow_overpayment
        ),
        "Allocated.",
    )


@router.post("/transactions/{transaction_id}/write-off")
async def write_off(
    request: Request, transaction_id: str, amount: Annotated[str, Form()], reason: Annotated[str, Form()]
) -> Response:
    value = _amount(amount)
    if isinstance(value, Response):
        return value
    return await _act(
        request,
        lambda s, p: decisions.write_off_transaction(
            s, p.company_id, transaction_id, value, reason, f"ui:{p.key_id}", note=None
        ),
        "Written off.",
    )


@router.post("/transactions/{transaction_id}/allocations/{allocation_id}/undo")
async def undo_allocation(request: Request, transaction_id: str, allocation_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.undo_allocation(s, p.company_id, transaction_id, allocation_id, f"ui:{p.key_id}"),
        "Allocation undone.",
    )


@router.post("/write-offs/{write_off_id}/undo")
async def undo_write_off(request: Request, write_off_id: str) -> Response:
    return await _act(
        request,
        lambda s, p: decisions.undo_write_off(s, p.company_id, write_off_id, f"ui:{p.key_id}"),
        "Write-off undone.",
    )
