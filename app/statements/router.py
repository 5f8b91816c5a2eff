"""HTTP routes for statement uploads (CODA, camt.053) and bank transactions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.companies.access import CompanyDep
from app.core.db import SessionDep, in_one_transaction
from app.core.gc_tuning import give_memory_back
from app.core.pagination import CursorQuery, LimitQuery, decode_cursor, next_cursor
from app.core.request_routes import CommittingRoute
from app.core.schemas import Page
from app.statements import queries, service
from app.statements.presenter import present_transactions, statement_document
from app.statements.schemas import (
    IngestResponse,
    StatementDetail,
    StatementRead,
    TransactionPublic,
    TransactionStatus,
)
from app.statements.upload import read_statement_upload

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}", tags=["statements"])

_STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string", "description": "An ISO 20022 camt.053 statement."}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                    # The file and a few text fields, which are ignored (read_statement_upload's limits).
                    "additionalProperties": {"type": "string"},
                    "maxProperties": 10,
                }
            },
        },
    }
}


#: An upload this large leaves its parsed statements' memory with the process unless it is handed back.
LARGE_UPLOAD_BYTES = 4 * 1024 * 1024


@router.post(
    "/statements",
    status_code=201,
    response_model=IngestResponse,
    openapi_extra=_STATEMENT_BODY,
    responses={
        200: {"model": IngestResponse, "description": "Every statement in the file was stored before."},
        409: {"description": "A statement's account belongs to another company."},
        413: {"description": "Larger than CODARECON_MAX_UPLOAD_BYTES."},
        422: {"description": "Not a readable CODA file; errors carry the line number. Nothing is stored."},
    },
)
async def upload_statements(request: Request, ctx: CompanyDep, session: SessionDep) -> JSONResponse:
    """Upload a raw CODA file: stored whole or not at all; statements already stored are skipped."""
    file = await read_statement_upload(request)
    result = await run_in_threadpool(in_one_transaction, session, service.ingest_statement_file, session, ctx.id, file)
    if len(file.data) >= LARGE_UPLOAD_BYTES:
        await run_in_threadpool(give_memory_back)
    return JSONResponse(result.response.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get("/statements", response_model=Page[StatementRead])
def list_statements(
    ctx: CompanyDep,
    session: SessionDep,
    account_iban: Annotated[str | None, Query(max_length=40, description="Only this account's statements.")] = None,
    date_from: Annotated[date | None, Query(description="Only statements dated on or after this day.")] = None,
    date_to: Annotated[date | None, Query(description="Only statements dated on or before this day.")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The company's stored statements, whatever their source (upload, CodaBox), a page at a time."""
    iban = account_iban.replace(" ", "").upper() if account_iban else None
    rows = queries.statements_page(
        session,
        ctx.id,
        account_iban=iban,
        date_from=date_from,
        date_to=date_to,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return {
        "items": [statement_document(s) for s in rows[:limit]],
        "next_cursor": next_cursor([r.id for r in rows], limit),
    }


@router.get("/statements/{statement_id}", response_model=StatementDetail)
def get_statement(statement_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """One statement with its booked leaf transactions, in the bank's order."""
    statement, leaves = queries.company_statement(session, ctx.id, statement_id)
    return {**statement_document(statement), "transactions": present_transactions(session, leaves)}


@router.get("/transactions", response_model=Page[TransactionPublic], tags=["transactions"])
def list_transactions(
    ctx: CompanyDep,
    session: SessionDep,
    status: Annotated[list[TransactionStatus] | None, Query(description="Filter; repeat for several.")] = None,
    statement_id: str | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[TransactionPublic]:
    """Booked leaf transactions (globalisation details where present, else the movement)."""
    after = decode_cursor(cursor)
    rows = queries.transactions_page(
        session, ctx.id, statuses=status, statement_id=statement_id, after=after, limit=limit
    )
    return Page(
        items=present_transactions(session, rows[:limit]),
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/transactions/{transaction_id}", response_model=TransactionPublic, tags=["transactions"])
def get_transaction(transaction_id: str, ctx: CompanyDep, session: SessionDep) -> TransactionPublic:
    """One bank transaction with its allocations, write-offs and open suggestions."""
    tx = queries.company_transaction(session, ctx.id, transaction_id)
    return present_transactions(session, [tx])[0]
