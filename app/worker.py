"""The background worker: runs due outbox jobs and periodic tasks, embedded in the API process (default, for
`make run`) or as separate `codarecon worker` processes in production.

A worker is one main loop (CodaBox jobs, periodic tasks) and a pool of threads that only deliver webhooks:
a receiver that answers slowly holds a delivery thread up to its deadline, never the other work.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from app.core.config import get_settings
from app.core.outbox import run_due_jobs, worker_id
from app.hooks import install_hooks
from app.jobs import PERIODIC, register_job_kinds
from app.webhooks.dispatch import JOB_KIND as DELIVER_WEBHOOK

log = logging.getLogger(__name__)


#: Job kinds that run on the delivery pool instead of the main loop.
DELIVERY_KINDS = [DELIVER_WEBHOOK]


def load_job_kinds() -> None:
    """Register every job kind (once per process), and install the hooks the jobs write through (the Ledger's
    listener: a CodaBox sync matches payments)."""
    install_hooks()
    register_job_kinds()


def run_worker(
    stop: threading.Event,
    *,
    idle_sleep: float = 0.5,
    owner: str | None = None,
    kinds: list[str] | None = None,
    exclude_kinds: list[str] | None = None,
    periodic: bool = True,
    limit: int = 10,
) -> None:
    """One worker loop until ``stop``: claim up to ``limit`` due jobs at a time (of ``kinds``, or all but
    ``exclude_kinds``) and run them; with ``periodic``, the periodic tasks too."""
    load_job_kinds()
    owner = owner or worker_id()
    settings = get_settings()
    next_run = {name: 0.0 for name, _, _ in PERIODIC}
    log.info("worker %s started", owner)
    while not stop.is_set():
        ran = 0
        try:
            ran = run_due_jobs(
                owner=owner,
                base_delay=settings.delivery_retry_seconds,
                kinds=kinds,
                exclude_kinds=exclude_kinds,
                limit=limit,
            )
            now = time.monotonic()
            for name, interval, func in PERIODIC if periodic else ():
                if now >= next_run[name]:
                    next_run[name] = now + interval()
                    func()
        except Exception:  # the loop must survive a bad round (e.g. the database restarting)
            log.exception("worker round failed")
            stop.wait(2.0)
        if not ran:
            stop.wait(idle_sleep)
    log.info("worker %s stopped", owner)


class Worker:
    """The main loop and the delivery pool, each in a daemon thread with an owner id of its own."""

    def __init__(self, delivery_threads: int | None = None) -> None:
        self.stop = threading.Event()
        pool = delivery_threads or get_settings().webhook_delivery_threads
        self.threads = [self._thread("codarecon-worker", "main", exclude_kinds=DELIVERY_KINDS)]
        # One job per claim on the delivery pool: a thread holds only what it is about to run.
        self.threads += [
            self._thread(f"codarecon-deliver-{n}", f"deliver-{n}", kinds=DELIVERY_KINDS, periodic=False, limit=1)
            for n in range(pool)
        ]

    def _thread(self, name: str, role: str, **loop: Any) -> threading.Thread:
        return threading.Thread(
            target=run_worker,
            args=(self.stop,),
            kwargs={"owner": f"{worker_id()}:{role}", **loop},
            name=name,
            daemon=True,
        )

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def wait(self) -> None:
        """Block until ``stop`` is set (the `codarecon worker` process)."""
        while not self.stop.wait(1.0):
            pass
        self.close()
