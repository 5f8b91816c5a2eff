"""The background worker loop: runs due outbox jobs and periodic tasks, embedded in the API process
(default, for `make run`) or as separate `codarecon worker` processes in production."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.config import get_settings
from app.outbox import run_due_jobs, worker_id

log = logging.getLogger(__name__)

#: Periodic tasks: (name, interval seconds getter, function); features add theirs at import time.
PERIODIC: list[tuple[str, Callable[[], float], Callable[[], None]]] = []


def register_periodic(name: str, interval: Callable[[], float], func: Callable[[], None]) -> None:
    PERIODIC.append((name, interval, func))


def load_job_kinds() -> None:
    """Import the features that register job kinds and periodic tasks (once)."""
    import app.jobs  # noqa: F401  (registers on first import only)


def run_worker(stop: threading.Event, *, idle_sleep: float = 0.5, owner: str | None = None) -> None:
    load_job_kinds()
    owner = owner or worker_id()
    settings = get_settings()
    next_run = {name: 0.0 for name, _, _ in PERIODIC}
    log.info("worker %s started", owner)
    while not stop.is_set():
        ran = 0
        try:
            ran = run_due_jobs(owner=owner, base_delay=settings.delivery_retry_seconds)
            now = time.monotonic()
            for name, interval, func in PERIODIC:
                if now >= next_run[name]:
                    next_run[name] = now + interval()
                    func()
        except Exception:  # the loop must survive a bad round (e.g. the database restarting)
            log.exception("worker round failed")
            stop.wait(2.0)
        if not ran:
            stop.wait(idle_sleep)
    log.info("worker %s stopped", owner)


class EmbeddedWorker:
    """Runs the worker loop in a daemon thread of the API process."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_worker, args=(self.stop,), name="codarecon-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
