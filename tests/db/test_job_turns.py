"""The claim's round-robin reads only what can be in turn: it takes the same jobs as ranking every due job
(each company's oldest before any company's second, then by age), without ranking the backlog on each claim."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text

from app.core import outbox
from app.core.db import insert_rows, unit_of_work
from app.core.outbox_models import Job
from app.core.timeutil import utcnow
from tests.db.query_plans import query_plan

_job = st.fixed_dictionaries(
    {
        "company_id": st.sampled_from([None, "co_a", "co_b", "co_c", "co_d"]),
        "kind": st.sampled_from(["k", "webhook.deliver"]),
        "state": st.sampled_from(["pending", "pending", "pending", "future", "running", "expired", "done"]),
        # Few distinct ages: ties are broken by id, as the ranking does.
        "age": st.integers(min_value=1, max_value=6),
    }
)


def _rows(jobs: list[dict], now) -> list[dict]:
    rows = []
    for n, job in enumerate(jobs):
        state = job["state"]
        rows.append(
            {
                "id": f"job_{n:04d}",
                "kind": job["kind"],
                "company_id": job["company_id"],
                "dedupe_key": None,
                "payload": {},
                "status": {"future": "pending", "expired": "running"}.get(state, state),
                "attempts": 0,
                "run_at": now + timedelta(minutes=10) if state == "future" else now - timedelta(minutes=job["age"]),
                "locked_until": {"running": now + timedelta(minutes=5), "expired": now - timedelta(minutes=1)}.get(
                    state
                ),
                "locked_by": "w0" if state in ("running", "expired") else None,
                "last_error": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _in_turn(rows: list[dict], now, limit: int, kinds, exclude_kinds) -> set[str]:
    """What the round-robin takes, by its definition: rank every due job."""
    due = [
        r
        for r in rows
        if ((r["status"] == "pending" and r["run_at"] <= now) or (r["status"] == "running" and r["locked_until"] < now))
        and (not kinds or r["kind"] in kinds)
        and (not exclude_kinds or r["kind"] not in exclude_kinds)
    ]
    by_tenant: dict = defaultdict(list)
    for r in due:
        by_tenant[r["company_id"]].append((r["run_at"], r["id"]))
    ranked = sorted((turn, *job) for jobs in by_tenant.values() for turn, job in enumerate(sorted(jobs)))
    return {job_id for _, _, job_id in ranked[:limit]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    jobs=st.lists(_job, max_size=30),
    limit=st.integers(min_value=1, max_value=8),
    lane=st.sampled_from([(None, None), (["webhook.deliver"], None), (None, ["webhook.deliver"])]),
)
def test_a_claim_takes_the_jobs_in_turn(db, jobs, limit, lane):
    kinds, exclude_kinds = lane
    now = utcnow()
    rows = _rows(jobs, now)
    with unit_of_work() as session:
        session.execute(delete(Job))
        insert_rows(session, Job, rows)
    with unit_of_work() as session:
        claimed = outbox.claim(session, owner="w1", limit=limit, kinds=kinds, exclude_kinds=exclude_kinds)
        assert {job.id for job in claimed} == _in_turn(rows, now, limit, kinds, exclude_kinds)
        session.rollback()


def _backlog(now) -> list[dict]:
    """What a queue holds after a while: thousands of finished jobs (most of no company: deliveries, polls), and
    a few waiting."""
    companies = [None, None, None, "co_a", "co_b"]
    finished = [{"company_id": companies[n % 5], "kind": "k", "state": "done", "age": 6} for n in range(3000)]
    waiting = [{"company_id": c, "kind": "k", "state": "pending", "age": 1} for c in (None, "co_a", "co_b")]
    return _rows(finished + waiting, now)


def test_a_claim_reads_through_indexes_what_can_be_in_turn_not_the_backlog(db):
    now = utcnow()
    with unit_of_work() as session:
        session.execute(delete(Job))
        insert_rows(session, Job, _backlog(now))
    with unit_of_work() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            # PostgreSQL plans from statistics: give it the backlog's, not whatever an earlier test left (with an
            # empty table's, the index of company ids looked as cheap as the queue's own for the jobs of none).
            session.execute(text("ANALYZE jobs"))
        for query, ordered in (
            (outbox._first_pending_of_each_company(now, None, None), True),
            (outbox._pending_of("co_a", now, 10, None, None), True),
            # PostgreSQL takes no order from ``company_id IS NULL`` and sorts the jobs of no company (a few); it
            # finds them through either index of waiting jobs (ix_jobs_claim starts at status), by statistics.
            (outbox._pending_of(None, now, 10, None, None), not postgresql),
        ):
            plan = query_plan(session, query)
            waiting_only = ("ix_jobs_pending", "ix_jobs_claim") if postgresql and not ordered else ("ix_jobs_pending",)
            assert any(index in plan for index in waiting_only), plan
            assert "SCAN jobs" not in plan and "Seq Scan" not in plan and "ix_jobs_company_id" not in plan, plan
            if ordered:
                assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        # The chosen jobs are re-checked by their ids, not by walking the due ones again.
        plan = query_plan(session, outbox._still_due(["job_a", "job_b"], None, None))
        assert "ix_jobs_claim" not in plan and ("sqlite_autoindex_jobs_1" in plan or "jobs_pkey" in plan), plan
