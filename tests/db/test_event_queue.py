"""The dispatcher's poll reads the oldest waiting events through their own index: its cost follows the poll's
limit, not the backlog (a large statement leaves tens of thousands of events waiting)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from app.core.db import unit_of_work
from app.core.ids import new_id
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
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


def test_a_poll_fans_out_in_bulk_as_one_delivery_at_a_time_would(client):
    """Per endpoint and subject, deliveries wait in line: only the first of a line gets a job, a new one behind
    a delivery already waiting gets none, and the line keeps the events' order."""
    from sqlmodel import select

    from app.core.outbox_models import Job
    from app.webhooks.dispatch import add_delivery
    from app.webhooks.models import WebhookDelivery, WebhookEndpoint

    company_id = make_company(client)["id"]
    start = utcnow()
    with unit_of_work() as session:
        session.execute(text("DELETE FROM events"))
        endpoint = WebhookEndpoint(
            id=new_id("whe"), company_id=company_id, url="https://example.com/h", events=["*"], secret_encrypted="x"
        )
        session.add(endpoint)
        session.flush()
        old = Event(id=new_id("evt"), company_id=company_id, type="t", subject_id="s_old", dispatched_at=start)
        session.add(old)
        session.flush()
        add_delivery(session, endpoint, old)  # waiting already, with its job
        subjects = ["s_a", "s_b", "s_a", "s_old", "s_a"]
        events = [new_id("evt") for _ in subjects]
        for n, (event_id, subject) in enumerate(zip(events, subjects, strict=True)):
            session.add(
                Event(
                    id=event_id,
                    company_id=company_id,
                    type="t",
                    subject_id=subject,
                    created_at=start + timedelta(seconds=n),
                )
            )
    assert dispatch_events() == len(events)
    with unit_of_work() as session:
        deliveries = session.exec(
            select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)  # type: ignore[arg-type]
        ).all()
        jobs = session.exec(select(Job)).all()
    line = {s: [d.event_id for d in deliveries if d.subject_id == s] for s in ("s_a", "s_b", "s_old")}
    assert line["s_a"] == [events[0], events[2], events[4]]
    assert line["s_b"] == [events[1]]
    assert line["s_old"] == [old.id, events[3]]
    first_of_line = {d.id for d in deliveries if d.event_id in (old.id, events[0], events[1])}
    assert {job.payload["delivery_id"] for job in jobs} == first_of_line
    assert all(job.company_id == company_id for job in jobs)
