"""What the review page shows, read in one read-only transaction: each list a page at a time with its true
total, filtered by the search, amounts and dates already in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.companies.models import Company
from app.core.auth import ApiKey
from app.core.db import unit_of_work
from app.core.money import MoneyError
from app.core.timeutil import as_utc, utcnow
from app.dashboard.automation import automation_weeks
from app.dashboard.service import return_figures
from app.invoices.models import Invoice
from app.invoices.presenter import amount_due
from app.ponto.events import consent_ends_soon
from app.ponto.models import PontoAccount, PontoConnection
from app.reconciliation.candidates import SqlCandidates
from app.reconciliation.models import WRITE_OFF_REASONS, Allocation, Suggestion, WriteOff
from app.reconciliation.reasons import read_back
from app.reconciliation.return_reasons import reason_text
from app.reconciliation.rules_service import list_rules
from app.statements.models import BankTransaction
from app.ui import i18n
from app.ui.ranking import PaymentView, rank

BRUSSELS = ZoneInfo("Europe/Brussels")

PAGE_SIZE = 25
LISTS = ("suggestions", "money_in", "money_out", "history", "invoices")


@dataclass(frozen=True)
class Paging:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.last < self.total


def _paging(session: Session, query: Any, requested: int) -> Paging:
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    last_page = max(1, -(-total // PAGE_SIZE))
    return Paging(page=min(max(1, requested), last_page), total=total)


def _text_filter(search: str, *columns: Any) -> Any:
    needle = search.lower()
    return or_(*(func.lower(column).contains(needle, autoescape=True) for column in columns))


def _search_amount(search: str, language: str) -> Decimal | None:
    try:
        return i18n.parse_money(search, language)
    except MoneyError:
        return None


def _bank_notices(session: Session, company_id: str, f: i18n.Formats) -> list[dict[str, str | None]]:
    """What the company's person must do for the bank feed: renew a Ponto consent that ends soon or has ended
    (with Ponto's renewal link), or know that the connection was revoked."""
    conn = session.get(PontoConnection, company_id)
    if conn is None or conn.state not in ("connected", "revoked"):
        return []
    if conn.state == "revoked":
        return [{"text": f.t("ponto_revoked"), "url": None}]
    notices: list[dict[str, str | None]] = []
    for account in session.exec(
        select(PontoAccount).where(PontoAccount.company_id == company_id, PontoAccount.state != "revoked")
    ):
        ends = as_utc(account.consent_expires_at) if account.consent_expires_at else None
        if account.state == "consent_expired" or (ends is not None and ends <= utcnow()):
            text = f.t("consent_expired", iban=i18n.grouped_iban(account.iban))
            notices.append({"text": text, "url": account.reauthorization_url})
        elif consent_ends_soon(account):
            day = f.day(ends.astimezone(BRUSSELS).date())
            text = f.t("consent_expiring", iban=i18n.grouped_iban(account.iban), day=day)
            notices.append({"text": text, "url": account.reauthorization_url})
    return notices


def page_data(
    company_id: str, language: str, pages: dict[str, int], search: str, invoice_search: str
) -> dict[str, Any]:
    """``search`` narrows the payments (payer, account, communication, amount); ``invoice_search`` narrows the
    open invoices (number, customer, reference, amount) and offers what it finds for every payment."""
    f = i18n.Formats(language)
    search, invoice_search = search.strip()[:100], invoice_search.strip()[:100]
    amount = _search_amount(search, language) if search else None
    invoice_amount = _search_amount(invoice_search, language) if invoice_search else None
    with unit_of_work(read_only=True) as session:
        company = session.get_one(Company, company_id)
        source = SqlCandidates(session, company_id)
        found = _found_invoices(session, company_id, invoice_search, invoice_amount) if invoice_search else []
        data = {
            "company": {"name": company.name, "vat": company.vat},
            "search": search,
            "invoice_search": invoice_search,
            "suggestions": _suggestions(session, company_id, pages["suggestions"], search, amount, f),
            "money_in": _payments(session, company_id, pages["money_in"], search, amount, f, incoming=True),
            "money_out": _payments(session, company_id, pages["money_out"], search, amount, f, incoming=False),
            "history": _history(session, company_id, pages["history"], f),
            "returns": _returns(session, company_id, f),
            "automation": automation_chart(session, company_id, f),
            "rules": _rules(session, company_id, f),
            "invoices": _invoices(session, company_id, pages["invoices"], invoice_search, invoice_amount, f),
            "reasons": [(r, f.t(f"reason_{r}")) for r in WRITE_OFF_REASONS],
            "bank_notices": _bank_notices(session, company_id, f),
        }
        for payment in data["money_in"]["rows"]:
            view = PaymentView(
                amount_left=payment["left"],
                communication=payment["communication"],
                counterparty_name=payment["counterparty_name"],
                counterparty_iban=payment["counterparty_iban"],
            )
            payment["candidates"] = [
                {
                    "id": c.invoice.id,
                    "label": f"{c.invoice.number} · {c.invoice.customer_name} · {f.money(c.invoice.due)} {f.t('due')}",
                    "reasons": [f.t(f"why_{reason}") for reason in c.reasons],
                }
                for c in rank(source, view)
            ]
            listed = {c["id"] for c in payment["candidates"]}
            payment["found"] = [f for f in found if f["id"] not in listed]
    return data


def _found_invoices(session: Session, company_id: str, search: str, amount: Decimal | None) -> list[dict[str, Any]]:
    """Open invoices the search names, offered for every payment besides its ranked candidates."""
    rows = session.exec(
        select(Invoice)
        .where(
            Invoice.company_id == company_id,
            col(Invoice.status).in_(("open", "partially_paid")),
            _invoice_search(search, amount),
        )
        .order_by(col(Invoice.due_date), col(Invoice.id))
        .limit(10)
    ).all()
    return [{"id": i.id, "label": f"{i.number} · {i.customer_name}"} for i in rows]


def _invoice_search(search: str, amount: Decimal | None) -> Any:
    matches = _text_filter(search, Invoice.number, Invoice.customer_name, Invoice.structured_reference)
    if amount is not None:
        matches = or_(matches, Invoice.outstanding == amount, Invoice.total_amount == amount)
    return matches


def _payment_search(search: str, amount: Decimal | None) -> Any:
    matches = _text_filter(
        search, BankTransaction.counterparty_name, BankTransaction.communication, BankTransaction.counterparty_iban
    )
    if amount is not None:
        matches = or_(matches, col(BankTransaction.amount).in_((amount, -amount)))
    return matches


def _returns(session: Session, company_id: str, f: i18n.Formats) -> dict[str, Any]:
    """What came back, by reason, in the reader's language (the summary's figures: app/dashboard/service.py)."""
    figures = return_figures(session, [company_id]).get(company_id)
    if figures is None:
        return {"count": 0, "amount": f.money(Decimal(0)), "rows": []}
    return {
        "count": figures["count"],
        "amount": f.money(figures["amount"]),
        "rows": [
            {
                "code": r["code"] or "—",
                "text": reason_text(r["code"], f.language) or "",
                "count": r["count"],
                "amount": f.money(r["amount"]),
            }
            for r in figures["reasons"]
        ],
    }


def _suggestions(
    session: Session, company_id: str, page: int, search: str, amount: Decimal | None, f: i18n.Formats
) -> dict[str, Any]:
    query = (
        select(Suggestion, BankTransaction)
        .join(BankTransaction, col(BankTransaction.id) == col(Suggestion.transaction_id))
        .where(Suggestion.company_id == company_id, Suggestion.status == "open")
    )
    if search:
        query = query.where(_payment_search(search, amount))
    paging = _paging(session, query, page)
    rows = []
    for suggestion, tx in session.exec(
        query.order_by(col(Suggestion.score).desc(), col(Suggestion.id)).offset(paging.offset).limit(paging.size)
    ):
        invoices = {
            i.id: i
            for i in session.exec(
                select(Invoice).where(col(Invoice.id).in_([a["invoice_id"] for a in suggestion.allocations]))
            )
        }
        parts = []
        for a in suggestion.allocations:
            inv = invoices.get(a["invoice_id"])
            write_off = Decimal(a.get("write_off", "0"))
            parts.append(
                {
                    "number": inv.number if inv else "?",
                    "customer": inv.customer_name if inv else "",
                    "amount": f.money(Decimal(a["amount"])),
                    "write_off": f.money(write_off) if write_off else "",
                    "take_back": bool(a.get("returns")),  # a proposed return: money off the invoice
                }
            )
        rows.append(
            {
                "id": suggestion.id,
                "tx": _transaction_view(tx, f),
                "score": suggestion.score,
                "score_text": f.decimal(suggestion.score),
                "reasons": [f.reason(r, coded) for r, coded in read_back(suggestion.reasons, suggestion.reason_codes)],
                "invoices": parts,
            }
        )
    return {"rows": rows, "paging": paging}


def _payments(
    session: Session,
    company_id: str,
    page: int,
    search: str,
    amount: Decimal | None,
    f: i18n.Formats,
    *,
    incoming: bool,
) -> dict[str, Any]:
    """Money nobody has fully accounted for: in (to allocate) or out (bank charges, refunds, to keep)."""
    # A payment with a suggestion is listed too: the person may know it pays another invoice.
    query = select(BankTransaction).where(
        BankTransaction.company_id == company_id,
        col(BankTransaction.status).in_(("unmatched", "suggested", "partially_matched")),
        col(BankTransaction.amount) > 0 if incoming else col(BankTransaction.amount) < 0,
    )
    if search:
        query = query.where(_payment_search(search, amount))
    paging = _paging(session, query, page)
    rows = [
        _transaction_view(tx, f)
        for tx in session.exec(
            query.order_by(col(BankTransaction.booking_date).desc(), col(BankTransaction.id))
            .offset(paging.offset)
            .limit(paging.size)
        )
    ]
    return {"rows": rows, "paging": paging}


def _history(session: Session, company_id: str, page: int, f: i18n.Formats) -> dict[str, Any]:
    """Allocations and write-offs, newest first, each with what undoes it: one list over two tables."""
    allocations = select(Allocation).where(Allocation.company_id == company_id)
    write_offs = select(WriteOff).where(WriteOff.company_id == company_id)
    total = sum(
        session.execute(select(func.count()).select_from(q.subquery())).scalar_one() for q in (allocations, write_offs)
    )
    paging = Paging(page=min(max(1, page), max(1, -(-total // PAGE_SIZE))), total=total)
    enough = paging.offset + paging.size  # the newest of each table, enough to cut this page from both
    newest: list[tuple[Any, str]] = [
        *(
            (a, "allocation")
            for a in session.exec(allocations.order_by(col(Allocation.created_at).desc()).limit(enough))
        ),
        *((w, "write_off") for w in session.exec(write_offs.order_by(col(WriteOff.created_at).desc()).limit(enough))),
    ]
    newest.sort(key=lambda entry: (entry[0].created_at, entry[0].id), reverse=True)
    shown = newest[paging.offset : paging.offset + paging.size]
    numbers = dict(
        session.execute(
            select(Invoice.id, Invoice.number).where(
                col(Invoice.id).in_({row.invoice_id for row, _ in shown if row.invoice_id})
            )
        ).all()
    )
    names = _key_names(session, {row.created_by for row, _ in shown})
    rows = []
    for row, kind in shown:
        if kind == "allocation":
            what = f.t("history_allocation", amount=f.money(row.amount), invoice=numbers.get(row.invoice_id, "?"))
            undo = f"/ui/transactions/{row.transaction_id}/allocations/{row.id}/undo"
            how = row.method.replace("_", " ")
        else:
            what = (
                f.t("history_write_off", amount=f.money(row.amount), invoice=numbers.get(row.invoice_id, "?"))
                if row.invoice_id
                else f.t("history_kept", amount=f.money(row.amount))
            )
            undo = f"/ui/write-offs/{row.id}/undo"
            how = f.t(f"reason_{row.reason}")
        rows.append(
            {
                "id": row.id,
                "kind": kind,
                "at": row.created_at,
                "at_text": f.moment(row.created_at),
                "what": what,
                "how": how,
                "by": names.get(row.created_by, row.created_by),
                "undo": undo,
            }
        )
    return {"rows": rows, "paging": paging}


def _key_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Actors that are company keys ("key:<id>", "ui:<id>" on this page) by the key's name, where it has one."""
    ids = {actor.split(":", 1)[1]: actor for actor in actors if actor.startswith(("key:", "ui:"))}
    if not ids:
        return {}
    named = session.execute(select(ApiKey.id, ApiKey.name).where(col(ApiKey.id).in_(ids))).all()
    return {ids[key_id]: name for key_id, name in named if name}


def _invoices(
    session: Session,
    company_id: str,
    page: int,
    search: str,
    amount: Decimal | None,
    f: i18n.Formats,
) -> dict[str, Any]:
    query = select(Invoice).where(Invoice.company_id == company_id, col(Invoice.status).in_(("open", "partially_paid")))
    if search:
        query = query.where(_invoice_search(search, amount))
    paging = _paging(session, query, page)
    today = date.today()
    rows = [
        {
            "id": inv.id,
            "number": inv.number,
            "customer_name": inv.customer_name,
            "due_date": f.day(inv.due_date),
            "status": inv.status,
            "structured_reference": inv.structured_reference,
            "due_text": f.money(amount_due(inv)),
            "written_off_text": f.money(inv.write_off_amount) if inv.write_off_amount else "",
            "overdue": inv.due_date < today,
        }
        for inv in session.exec(
            query.order_by(col(Invoice.due_date), col(Invoice.id)).offset(paging.offset).limit(paging.size)
        )
    ]
    return {"rows": rows, "paging": paging}


def _transaction_view(tx: BankTransaction, f: i18n.Formats) -> dict[str, Any]:
    left = tx.amount - tx.amount_allocated - tx.amount_written_off
    return {
        "id": tx.id,
        "booking_date": f.day(tx.booking_date),
        "counterparty_name": tx.counterparty_name,
        "counterparty_iban": tx.counterparty_iban,
        "iban_text": i18n.grouped_iban(tx.counterparty_iban),
        "communication": tx.communication or "",
        "amount_text": f.money(tx.amount),
        "status": tx.status,
        "left": left,
        "left_text": f.money(left),
        "left_input": f"{abs(left):.2f}".replace(".", ","),
        "allocated_text": f.money(tx.amount_allocated) if tx.amount_allocated else "",
    }


#: The review page's chart: twelve weeks, two bars each (settled automatically, with a structured reference).
CHART_WEEKS = 12
CHART_HEIGHT = 120
CHART_STEP = 44


def automation_chart(session: Session, company_id: str, f: i18n.Formats) -> dict[str, Any]:
    """The automation monitor's last weeks as the page draws them: SVG bar geometry and a table beside it."""
    weeks = automation_weeks(session, company_id, CHART_WEEKS, datetime.now(i18n.BRUSSELS).date())

    none = "\u2013"  # an en dash where there is nothing to divide

    def percent(share: float | None) -> str:
        return none if share is None else f"{f.decimal(share * 100)} %"

    rows = []
    for n, week in enumerate(weeks):
        automatic, reference = week["automatic_share"] or 0.0, week["reference_share"] or 0.0
        rows.append(
            {
                "label": week["week"].split("-")[1],
                "starts": f.day(week["starts"]),
                "incoming": week["incoming"],
                "by_people": week["settled_by_people"],
                "automatic": percent(week["automatic_share"]),
                "reference": percent(week["reference_share"]),
                "median": none
                if week["median_days_to_settlement"] is None
                else f.decimal(week["median_days_to_settlement"]),
                "x": 30 + n * CHART_STEP,
                "auto_height": round(automatic * CHART_HEIGHT, 1),
                "ref_height": round(reference * CHART_HEIGHT, 1),
            }
        )
    return {"rows": rows, "height": CHART_HEIGHT, "width": 40 + CHART_WEEKS * CHART_STEP}


def _rules(session: Session, company_id: str, f: i18n.Formats) -> list[dict[str, Any]]:
    """The company's rules and proposals as the page lists them (dismissed proposals left out)."""
    out = []
    for rule in list_rules(session, company_id):
        if rule.state == "dismissed":
            continue
        when = [f"\u201c{w}\u201d" for w in rule.words or []]
        if rule.counterparty_iban:
            when.append(i18n.grouped_iban(rule.counterparty_iban))
        if rule.counterparty_name:
            when.append(rule.counterparty_name)
        if rule.amount_min is not None or rule.amount_max is not None:
            low = f.money(rule.amount_min) if rule.amount_min is not None else ""
            high = f.money(rule.amount_max) if rule.amount_max is not None else ""
            when.append(f"{low} \u2013 {high}".strip())
        if rule.direction:
            when.append(f.t("payments_in") if rule.direction == "in" else f.t("direction_out"))
        if rule.action == "keep":
            does = f.t("rule_keep", reason=f.t(f"reason_{rule.reason or 'bank_fee'}"))
        elif rule.action == "payer":
            does = f.t("rule_payer", customer=rule.customer_name or "?")
        else:
            does = f.t("rule_never_auto")
        out.append(
            {"id": rule.id, "name": rule.name, "state": rule.state, "state_label": f.t(f"rule_state_{rule.state}"),
             "when": " · ".join(when), "does": does}
        )  # fmt: skip
    return out
