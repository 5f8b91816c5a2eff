"""The review page (/ui/): server-rendered, no JavaScript, for a person holding a company key.

The key is kept in an HttpOnly, SameSite=Strict cookie; every action is a plain form POST that runs the same
services as the API (so tenancy, scopes, audit and events are the same) and redirects back (POST/redirect/GET).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from app.companies.models import Company
from app.db import unit_of_work
from app.errors import AppError, Unauthorized
from app.invoices.models import Invoice
from app.money import MoneyError, format_amount, parse_amount
from app.reconciliation import decisions
from app.reconciliation.models import Suggestion
from app.security import Principal, principal_for
from app.statements.models import BankTransaction

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
COOKIE = "codarecon_key"


async def _principal(request: Request) -> Principal | None:
    key = request.cookies.get(COOKIE)
    if not key:
        return None
    try:
        principal = await principal_for(key)
    except Unauthorized:
        return None
    return principal if principal.kind == "company" else None


def _to_login(message: str | None = None) -> Response:
    target = "/ui/login" + (f"?message={message}" if message else "")
    return RedirectResponse(target, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, message: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"company": None, "message": message, "error": bool(message)}
    )


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
async def logout() -> Response:
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
                "due_text": format_amount(inv.total_amount - inv.amount_paid),
                "overdue": inv.due_date < today,
            }
            for inv in session.exec(
                select(Invoice)
                .where(Invoice.company_id == company_id, col(Invoice.status).in_(("open", "partially_paid")))
                .order_by(col(Invoice.due_date), col(Invoice.id))
                .limit(200)
            )
        ]
        unmatched = [
            _transaction_view(tx)
            for tx in session.exec(
                select(BankTransaction)
                .where(
                    BankTransaction.company_id == company_id,
                    BankTransaction.status == "unmatched",
                    col(BankTransaction.amount) > 0,
                )
                .order_by(col(BankTransaction.booking_date).desc())
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
                    }
                )
            suggestions.append(
                {
                    "id": s.id,
                    "tx": _transaction_view(tx),
                    "tx_amount": format_amount(tx.amount),
                    "score": s.score,
                    "reasons": s.reasons,
                    "invoices": parts,
                }
            )
        company_view = {"name": company.name, "vat": company.vat} if company else None
    return {"company": company_view, "invoices": invoices, "unmatched": unmatched, "suggestions": suggestions}


def _transaction_view(tx: BankTransaction) -> dict[str, Any]:
    return {
        "id": tx.id,
        "booking_date": tx.booking_date,
        "counterparty_name": tx.counterparty_name,
        "counterparty_iban": tx.counterparty_iban,
        "communication": tx.communication,
        "amount_text": format_amount(tx.amount),
    }


@router.get("/", response_class=HTMLResponse)
async def review(request: Request, message: str | None = None, error: bool = False) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _to_login()
    data = await run_in_threadpool(_page_data, principal.company_id)
    return templates.TemplateResponse(request, "review.html", {**data, "message": message, "error": error})


async def _act(request: Request, action: Any, done: str) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _to_login("Sign in again.")
    if principal.scope != "write":
        return RedirectResponse("/ui/?error=1&message=This+key+can+only+read.", status_code=303)

    def run() -> None:
        with unit_of_work() as session:
            action(session, principal)

    try:
        await run_in_threadpool(run)
    except AppError as exc:
        from urllib.parse import quote

        return RedirectResponse(f"/ui/?error=1&message={quote(exc.detail)}", status_code=303)
    return RedirectResponse(f"/ui/?message={done.replace(' ', '+')}", status_code=303)


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


@router.post("/transactions/{transaction_id}/allocate")
async def allocate(
    request: Request, transaction_id: str, invoice_id: Annotated[str, Form()], amount: Annotated[str, Form()]
) -> Response:
    try:
        value: Decimal = parse_amount(amount)
    except MoneyError as exc:
        return RedirectResponse(f"/ui/?error=1&message=Amount+{str(exc).replace(' ', '+')}", status_code=303)
    return await _act(
        request,
        lambda s, p: decisions.allocate_manually(s, p.company_id, transaction_id, invoice_id, value, f"ui:{p.key_id}"),
        "Allocated.",
    )
