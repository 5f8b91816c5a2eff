"""Dashboard figures from aggregate SQL (no Python loops over rows): open and overdue amounts, ageing,
days sales outstanding, the money in and how much of it is accounted for, the review queue, and money that came
back by reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, type_coerce
from sqlmodel import Session, col, select

from app.companies.models import Company
from app.core.db import Money
from app.dashboard.schemas import Overview, Summary
from app.invoices.models import Invoice
from app.reconciliation.models import Allocation, Suggestion
from app.reconciliation.return_reasons import reason_text
from app.statements.models import BankTransaction

ZERO = Decimal("0.00")
OPEN = ("open", "partially_paid")
BUCKETS = (("not_due", None, 0), ("1_30", 1, 30), ("31_60", 31, 60), ("61_90", 61, 90), ("over_90", 91, None))
DSO_DAYS = 90


def _money_sum(expression: Any) -> Any:
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def _due() -> Any:
    return Invoice.total_amount - Invoice.amount_paid


def invoice_figures(session: Session, company_ids: list[str] | None, today: date) -> dict[str, dict[str, Any]]:
    """Per company: open, overdue, paid this month, ageing buckets and DSO inputs, in one grouped query."""
    is_open = and_(col(Invoice.status).in_(OPEN), Invoice.kind == "invoice")
    overdue = and_(is_open, col(Invoice.due_date) < today)
    month_start = today.replace(day=1)
    paid_now = and_(col(Invoice.status).in_(("paid", "overpaid")), col(Invoice.paid_at) >= month_start)
    on_its_way = and_(is_open, Invoice.pending_amount != 0)
    recent_sales = and_(
        Invoice.kind == "invoice",
        Invoice.status != "cancelled",
        col(Invoice.issue_date) > today - timedelta(days=DSO_DAYS),
    )
    columns = [
        Invoice.company_id,
        func.count(case((is_open, 1))).label("open_count"),
        _money_sum(case((is_open, _due()))).label("open_amount"),
        func.count(case((overdue, 1))).label("overdue_count"),
        _money_sum(case((overdue, _due()))).label("overdue_amount"),
        func.count(case((paid_now, 1))).label("paid_count"),
        _money_sum(case((paid_now, Invoice.total_amount))).label("paid_amount"),
        _money_sum(case((recent_sales, Invoice.total_amount))).label("recent_sales"),
        func.count(case((on_its_way, 1))).label("pending_count"),
        _money_sum(case((on_its_way, Invoice.pending_amount))).label("pending_amount"),
    ]
    for name, low, high in BUCKETS:
        if low is None:
            condition = and_(is_open, col(Invoice.due_date) >= today)
        else:
            condition = and_(is_open, col(Invoice.due_date) <= today - timedelta(days=low))
            if high is not None:
                condition = and_(condition, col(Invoice.due_date) >= today - timedelta(days=high))
        columns.append(func.count(case((condition, 1))).label(f"b_{name}_count"))
        columns.append(_money_sum(case((condition, _due()))).label(f"b_{name}_amount"))
    query = select(*columns).group_by(col(Invoice.company_id))
    if company_ids is not None:
        query = query.where(col(Invoice.company_id).in_(company_ids))
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(query):
        m = row._mapping
        out[row.company_id] = {
            "open": {"count": m["open_count"], "amount": m["open_amount"]},
            "overdue": {"count": m["overdue_count"], "amount": m["overdue_amount"]},
            "paid_this_month": {"count": m["paid_count"], "amount": m["paid_amount"]},
            "pending": {"count": m["pending_count"], "amount": m["pending_amount"]},
            "ageing": {
                name: {"count": m[f"b_{name}_count"], "amount": m[f"b_{name}_amount"]} for name, _, _ in BUCKETS
            },
            "days_sales_outstanding": _dso(m["open_amount"], m["recent_sales"]),
        }
    return out


def _dso(receivable: Decimal, sales: Decimal) -> float | None:
    """Receivables over the last 90 days' sales, in days (the usual count-back-free approximation)."""
    if not sales:
        return None
    return round(float(receivable / sales) * DSO_DAYS, 1)


def matching_figures(session: Session, company_ids: list[str] | None) -> dict[str, dict[str, Any]]:
    credit = and_(col(BankTransaction.amount) > 0, BankTransaction.kind != "total")
    by_matcher = (
        select(
            Allocation.transaction_id.label("tx_id"),  # type: ignore[attr-defined]
            func.sum(case((Invoice.kind == "credit_note", -Allocation.amount), else_=Allocation.amount)).label(
                "auto_amount"
            ),
        )
        .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
        .where(Allocation.created_by == "matcher")
        .group_by(col(Allocation.transaction_id))
    )
    if company_ids is not None:
        by_matcher = by_matcher.where(col(Allocation.company_id).in_(company_ids))
    auto = by_matcher.subquery()

    def count(status: str) -> Any:
        return func.count(case((and_(credit, BankTransaction.status == status), 1)))

    query = (
        select(
            BankTransaction.company_id,
            func.count(case((credit, 1))).label("credits"),
            count("matched").label("matched"),
            count("partially_matched").label("partially_matched"),
            count("suggested").label("suggested"),
            count("unmatched").label("unmatched"),
            _money_sum(case((credit, BankTransaction.amount))).label("incoming"),
            _money_sum(case((credit, BankTransaction.amount_allocated))).label("allocated"),
            _money_sum(case((credit, BankTransaction.amount_written_off))).label("written_off"),
            _money_sum(case((credit, auto.c.auto_amount))).label("auto"),
        )
        .outerjoin(auto, auto.c.tx_id == col(BankTransaction.id))
        .group_by(col(BankTransaction.company_id))
    )
    if company_ids is not None:
        query = query.where(col(BankTransaction.company_id).in_(company_ids))
    suggestions_query = (
        select(Suggestion.company_id, func.count())
        .where(Suggestion.status == "open")
        .group_by(col(Suggestion.company_id))
    )
    if company_ids is not None:
        suggestions_query = suggestions_query.where(col(Suggestion.company_id).in_(company_ids))
    open_suggestions = dict(session.execute(suggestions_query).all())
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(query):
        credits = row.credits or 0
        incoming = row.incoming
        out[row.company_id] = {
            "incoming_transactions": credits,
            "matched": row.matched,
            "partially_matched": row.partially_matched,
            "suggested": row.suggested,
            "unmatched": row.unmatched,
            "incoming_amount": incoming,
            "allocated_amount": row.allocated,
            "written_off_amount": row.written_off,
            "unallocated_amount": incoming - row.allocated - row.written_off,
            "match_rate": _share(row.allocated + row.written_off, incoming),
            "auto_match_rate": _share(row.auto, incoming),
            "transaction_match_rate": round(row.matched / credits, 4) if credits else None,
            "review_queue": (row.suggested or 0) + (row.unmatched or 0) + (row.partially_matched or 0),
            "open_suggestions": open_suggestions.get(row.company_id, 0),
        }
    return out


def return_figures(session: Session, company_ids: list[str] | None) -> dict[str, dict[str, Any]]:
    """Per company: the R-transactions traced to their original, by the reason the bank gave."""
    reason = func.coalesce(
        BankTransaction.direct_debit["reason"].as_string(),  # type: ignore[index]
        BankTransaction.transfer_return["reason"].as_string(),  # type: ignore[index]
    )
    query = (
        select(BankTransaction.company_id, reason, func.count(), _money_sum(func.abs(BankTransaction.amount)))
        .where(col(BankTransaction.returns_transaction_id).is_not(None))
        .group_by(col(BankTransaction.company_id), reason)
    )
    if company_ids is not None:
        query = query.where(col(BankTransaction.company_id).in_(company_ids))
    out: dict[str, dict[str, Any]] = {}
    for company_id, code, count, amount in session.execute(query):
        figures = out.setdefault(company_id, {"count": 0, "amount": ZERO, "reasons": []})
        figures["count"] += count
        figures["amount"] += amount
        figures["reasons"].append({"code": code, "text": reason_text(code), "count": count, "amount": amount})
    for figures in out.values():
        figures["reasons"].sort(key=lambda r: (-r["amount"], r["code"] or ""))
    return out


def _share(part: Decimal, whole: Decimal) -> float | None:
    return round(float(part / whole), 4) if whole else None


EMPTY_INVOICES = {
    "open": {"count": 0, "amount": ZERO},
    "overdue": {"count": 0, "amount": ZERO},
    "paid_this_month": {"count": 0, "amount": ZERO},
    "pending": {"count": 0, "amount": ZERO},
    "ageing": {name: {"count": 0, "amount": ZERO} for name, _, _ in BUCKETS},
    "days_sales_outstanding": None,
}
EMPTY_MATCHING = {
    "incoming_transactions": 0,
    "matched": 0,
    "partially_matched": 0,
    "suggested": 0,
    "unmatched": 0,
    "incoming_amount": ZERO,
    "allocated_amount": ZERO,
    "written_off_amount": ZERO,
    "unallocated_amount": ZERO,
    "match_rate": None,
    "auto_match_rate": None,
    "transaction_match_rate": None,
    "review_queue": 0,
    "open_suggestions": 0,
}


def summaries(session: Session, company_ids: list[str] | None, today: date) -> dict[str, dict[str, Any]]:
    invoices = invoice_figures(session, company_ids, today)
    matching = matching_figures(session, company_ids)
    returns = return_figures(session, company_ids)
    ids = company_ids if company_ids is not None else sorted(set(invoices) | set(matching))
    return {
        cid: {
            **invoices.get(cid, EMPTY_INVOICES),
            "matching": matching.get(cid, EMPTY_MATCHING),
            "returns": returns.get(cid, {"count": 0, "amount": ZERO, "reasons": []}),
        }
        for cid in ids
    }


def _summary(company: Company, figures: dict[str, Any], today: date) -> Summary:
    return Summary.model_validate({"company_vat": company.vat, "company_name": company.name, "as_of": today, **figures})


def company_summary(session: Session, company: Company) -> Summary:
    """One company's summary as of today."""
    today = date.today()
    return _summary(company, summaries(session, [company.id], today)[company.id], today)


def overview(session: Session) -> Overview:
    """Every company's summary as of today, by VAT number."""
    today = date.today()
    companies = list(session.exec(select(Company).order_by(col(Company.vat))).all())
    figures = summaries(session, [c.id for c in companies], today)
    return Overview(as_of=today, companies=[_summary(c, figures[c.id], today) for c in companies])
