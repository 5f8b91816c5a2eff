"""GET /v1/companies/{vat}/events: the event feed, for clients that poll (issue 41)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.pagination import LimitQuery
from app.core.request_routes import CommittingRoute
from app.events.feed import event_document, list_events
from app.events.schemas import EventFeed, EventType

router = APIRouter(route_class=CommittingRoute, tags=["events"])


@router.get("/v1/companies/{vat}/events", response_model=EventFeed)
def events(
    ctx: CompanyDep,
    session: SessionDep,
    after: Annotated[
        str | None, Query(max_length=40, description="The last event id you have: the feed continues after it.")
    ] = None,
    type: Annotated[list[EventType] | None, Query(description="Only these types; repeat for several.")] = None,
    limit: LimitQuery = 100,
) -> dict[str, Any]:
    """The company's events, oldest first: the same events (and bodies) as the webhooks, kept 30 days. A
    consumer that was down catches up from the last id it saw, without redelivery. Ids order the events as
    they were recorded; an event shows here once the change that made it is committed."""
    rows = list_events(session, ctx.id, after=after, limit=limit, types=list(type) if type else None)
    return {"items": [event_document(session, e) for e in rows[:limit]], "has_more": len(rows) > limit}
