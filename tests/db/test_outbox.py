"""The job outbox: dedupe, leases, retries with backoff, and no job run twice by concurrent workers."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from app.core import outbox
from app.core.db import unit_of_work
from app.core.outbox_models import Job
from app.core.timeutil import utcnow


@pytest.fixture
def kinds():
    saved = dict(outbox.KINDS)
    yield outbox.KINDS
    outbox.KINDS.clear()
    outbox.KINDS.update(saved)


def jobs() -> list[Job]:
    with unit_of_work() as session:
        return list(session.exec(select(Job).order_by(Job.created_at)).all())


def test_dedupe_key_keeps_one_waiting_job(db):
    with unit_of_work() as session:
        assert outbox.enqueue(session, "k", {}, dedupe_key="deliver:1") is not None
        assert outbox.enqueue(session, "k", {}, dedupe_key="deliver:1") is None
    assert len(jobs()) == 1


def test_done_job_frees_its_dedupe_key(db, kinds):
    outbox.register("ok", lambda job: None)
    with unit_of_work() as session:
        outbox.enqueue(session, "ok", {}, dedupe_key="x")
    assert outbox.run_due_jobs(owner="w1") == 1
    with unit_of_work() as session:
        assert outbox.enqueue(session, "ok", {}, dedupe_key="x") is not None


def test_work_asked_for_while_its_job_runs_is_done_after_it(db, kinds):
    """A sync requested after the running sync listed the feed, an invoice created after the delivery loop
    looked: the dedupe key must not swallow the request. The running job goes round once more."""
    seen: list[int] = []
    inbox = [1]

    def drain(job):
        seen.extend(inbox)
        inbox.clear()
        if len(seen) == 1:  # new work arrives, and is asked for, after this run has looked
            inbox.append(2)
            with unit_of_work() as session:
                assert outbox.enqueue(session, "drain", {}, dedupe_key="drain:co") is None

    outbox.register("drain", drain)
    with unit_of_work() as session:
        outbox.enqueue(session, "drain", {}, dedupe_key="drain:co")
    assert outbox.run_due_jobs(owner="w1") == 1
    [job] = jobs()
    assert (job.status, job.dedupe_key, job.attempts, job.rerun) == ("pending", "drain:co", 0, False)
    assert outbox.run_due_jobs(owner="w1") == 1
    assert seen == [1, 2]
    [job] = jobs()
    assert (job.status, job.dedupe_key) == ("done", None)  # and it ends once nothing more was asked for
    assert outbox.run_due_jobs(owner="w1") == 0


def test_failure_is_retried_later_then_fails_after_max_attempts(db, kinds):
    calls = []

    def flaky(job):
        calls.append(job.attempts)
        raise outbox.RetryableJobError("receiver down")

    outbox.register("flaky", flaky, max_attempts=3)
    with unit_of_work() as session:
        outbox.enqueue(session, "flaky", {})
    for _ in range(3):
        assert outbox.run_due_jobs(owner="w1", base_delay=0.0) == 1
    [job] = jobs()
    assert calls == [1, 2, 3]
    assert job.status == "failed"
    assert job.last_error == "receiver down"


def test_retry_is_scheduled_in_the_future_with_backoff(db, kinds):
    outbox.register("flaky", lambda job: (_ for _ in ()).throw(outbox.RetryableJobError("503")))
    with unit_of_work() as session:
        outbox.enqueue(session, "flaky", {})
    outbox.run_due_jobs(owner="w1", base_delay=1000.0)
    [job] = jobs()
    assert job.status == "pending"
    assert job.run_at > utcnow()
    assert outbox.run_due_jobs(owner="w1") == 0  # not due yet


def test_permanent_error_fails_at_once(db, kinds):
    def bad(job):
        raise outbox.PermanentJobError("422 from receiver")

    outbox.register("bad", bad)
    with unit_of_work() as session:
        outbox.enqueue(session, "bad", {})
    outbox.run_due_jobs(owner="w1")
    assert jobs()[0].status == "failed"


def test_expired_lease_is_claimed_again(db, kinds):
    outbox.register("slow", lambda job: None)
    with unit_of_work() as session:
        outbox.enqueue(session, "slow", {})
        [job] = outbox.claim(session, owner="dead-worker")
        job.locked_until = utcnow() - timedelta(seconds=1)  # the worker died and its lease ran out
        session.add(job)
    assert outbox.run_due_jobs(owner="w2") == 1
    [job] = jobs()
    assert job.status == "done"
    assert job.attempts == 2


def test_backoff_is_exponential_with_full_jitter():
    rng = random.Random(1)
    for attempt in range(1, 8):
        delays = [outbox.backoff_delay(attempt, 2.0, 60.0, rng) for _ in range(200)]
        ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range


def test_concurrent_workers_run_every_job_exactly_once(db, kinds):
    ran: Counter[str] = Counter()
    lock = threading.Lock()

    def record(job):
        with lock:
            ran[job.payload["n"]] += 1

    outbox.register("count", record)
    with unit_of_work() as session:
        for n in range(200):
            outbox.enqueue(session, "count", {"n": str(n)})

    def work(owner: str) -> None:
        while outbox.run_due_jobs(owner=owner, limit=5):
            pass

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ran) == 200
    assert set(ran.values()) == {1}
    assert {j.status for j in jobs()} == {"done"}


def test_expedite_brings_a_waiting_job_forward(db):
    with unit_of_work() as session:
        outbox.enqueue(session, "k", {}, dedupe_key="sync:1", run_at=utcnow() + timedelta(hours=1))
    with unit_of_work() as session:
        assert outbox.enqueue(session, "k", {}, dedupe_key="sync:1") is None
    assert jobs()[0].run_at > utcnow()
    with unit_of_work() as session:
        outbox.enqueue(session, "k", {}, dedupe_key="sync:1", expedite=True)
    assert jobs()[0].run_at <= utcnow()


def test_claims_take_turns_between_companies(db, kinds):
    """One company's flood of due jobs queues behind itself: the next claim serves every company once."""
    with unit_of_work() as session:
        for n in range(50):
            outbox.enqueue(session, "k", {"n": n}, company_id="co_flood", run_at=utcnow() - timedelta(minutes=10))
        outbox.enqueue(session, "k", {"n": "quiet"}, company_id="co_quiet")
        outbox.enqueue(session, "k", {"n": "system"})  # no company: a tenant of its own
    with unit_of_work() as session:
        claimed = outbox.claim(session, owner="w1", limit=3)
    assert sorted(str(job.company_id) for job in claimed) == ["None", "co_flood", "co_quiet"]
    # Within one company the oldest comes first.
    [flood] = [job for job in claimed if job.company_id == "co_flood"]
    assert flood.payload == {"n": 0}


def test_kinds_can_be_claimed_apart(db, kinds):
    with unit_of_work() as session:
        outbox.enqueue(session, "webhook.deliver", {})
        outbox.enqueue(session, "codabox.sync", {})
    with unit_of_work() as session:
        [other] = outbox.claim(session, owner="main", exclude_kinds=["webhook.deliver"])
        [delivery] = outbox.claim(session, owner="pool", kinds=["webhook.deliver"])
    assert (other.kind, delivery.kind) == ("codabox.sync", "webhook.deliver")


def test_a_running_job_keeps_its_lease_and_never_runs_twice(db, kinds):
    """A job that runs longer than its lease has it renewed, so no other worker claims it meanwhile."""
    started = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow(job):
        runs.append(job.locked_by)
        started.set()
        release.wait(10)

    outbox.register("slow", slow, lease_seconds=1)  # renewed every third of a second
    with unit_of_work() as session:
        outbox.enqueue(session, "slow", {})
    first = threading.Thread(target=outbox.run_due_jobs, kwargs={"owner": "w1"})
    first.start()
    assert started.wait(10)
    deadline = time.monotonic() + 2.5  # two and a half lease lengths
    while time.monotonic() < deadline:
        assert outbox.run_due_jobs(owner="w2") == 0
        time.sleep(0.1)
    release.set()
    first.join(10)
    assert runs == ["w1"]
    [job] = jobs()
    assert (job.status, job.attempts) == ("done", 1)


def test_a_lost_lease_is_not_renewed(db, kinds):
    with unit_of_work() as session:
        outbox.enqueue(session, "k", {})
        [job] = outbox.claim(session, owner="w1")
    assert outbox.renew_lease(job.id, "w1", 60)
    assert not outbox.renew_lease(job.id, "someone-else", 60)
    [stored] = jobs()
    assert stored.locked_until > utcnow() + timedelta(seconds=50)


def test_a_slow_receiver_holds_one_delivery_thread_not_the_other_work(db, kinds):
    """Deliveries run on their own pool: while one hangs, other tenants' deliveries and other jobs go on."""
    from app.worker import Worker, load_job_kinds

    load_job_kinds()
    hanging = threading.Event()
    release = threading.Event()
    done: list[str] = []

    def deliver(job):
        if job.payload["to"] == "slow":
            hanging.set()
            release.wait(20)
        done.append(job.payload["to"])

    outbox.register("webhook.deliver", deliver)
    outbox.register("other", lambda job: done.append("other"))
    with unit_of_work() as session:
        outbox.enqueue(session, "webhook.deliver", {"to": "slow"}, company_id="co_a")
    worker = Worker(delivery_threads=2)
    worker.start()
    try:
        assert hanging.wait(10)
        with unit_of_work() as session:
            outbox.enqueue(session, "webhook.deliver", {"to": "fast"}, company_id="co_b")
            outbox.enqueue(session, "other", {})
        deadline = time.monotonic() + 10
        while len(done) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(done) == ["fast", "other"]  # both done while the slow one still hangs
        release.set()
        while len(done) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done[-1] == "slow"
    finally:
        release.set()
        worker.close()
