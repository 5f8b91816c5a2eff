"""The dispatcher's poll reads the oldest waiting events through their own index: its cost follows the poll's
limit, not the backlog (a large statement leaves tens of thousands of events waiting)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from app.db import unit_of_work
from app.ids import new_id
from app.outbox_models import Event
from app.timeutil import utcnow
from app.webhooks.dispatch import dispatch_events, pending_events
from tests.db.query_plans import query_plan
from tests.helpers import ADMIN, VAT, make_company


def test_the_poll_reads_waiting_events_in_order_from_their_index_without_sorting_the_backlog(db):
    with unit_of_work() as session:
        plan = query_plan(session, pending_events(session, 500))
    assert "ix_events_pending" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_waiting_events_are_dispatched_oldest_first_and_leave_the_queue(client):
    make_company(client)
    company_id = client.get(f"/v1/companies/{VAT}", headers=ADMIN).json()["id"]
    start = utcnow()
    ids = [new_id("evt") for _ in range(5)]
    with unit_of_work() as session:
        session.execute(text("DELETE FROM events"))
        for n, event_id in reversed(list(enumerate(ids))):  # stored newest first: the order is created_at's
            session.add(
                Event(
                    id=event_id,
                    company_id=company_id,
                    type="t",
                    subject_id="s",
                    created_at=start + timedelta(seconds=n),
                )
            )
    assert dispatch_events(limit=2) == 2
    with unit_of_work() as session:
        waiting = [e.id for e in session.exec(pending_events(session, 10)).all()]
    assert waiting == ids[2:]
    assert dispatch_events(limit=10) == 3
    assert dispatch_events(limit=10) == 0
