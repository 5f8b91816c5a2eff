"""Clients' UBL documents are read and checked in worker processes, never in the API process's threads or its
event loop.

Reading a large UBL document and running the official rules on it is CPU work that holds the GIL: in the API
process it stalled every request of every company (a 10 MB document, 3-5 s of nothing else). Here it runs in a
small pool of processes (``CODARECON_XML_PROCESSES``), each document with a time budget
(``CODARECON_XML_SECONDS``): a document that takes longer is refused (rule ``XML``) and its worker killed. Workers
are replaced after ``CODARECON_XML_TASKS_PER_WORKER`` documents, so the memory a large document took goes back
to the system. The size budget is ``MAX_UBL_BYTES``, checked before a document is sent.

Async callers await the pool without holding a thread; sync callers (a handler's thread, a job) wait on it,
which holds their thread but not the GIL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.core.config import MAX_UBL_BYTES, get_settings
from app.peppol.reading import UblFacts, read_facts
from app.peppol.validation import Finding, Report, validate_ubl

log = logging.getLogger(__name__)


#: How much a UBL worker defers to other processes for the CPU (nice(2)): a 2-core machine checking two large
#: documents would otherwise leave the API process and the database a share at best.
WORKER_NICENESS = 10


def too_large(data: bytes) -> Finding | None:
    if len(data) > MAX_UBL_BYTES:
        return Finding("XML", f"the UBL document is {len(data)} bytes; at most {MAX_UBL_BYTES} are taken")
    return None


# -- what runs in a worker --------------------------------------------------------------------------------


def _warm() -> None:
    """Compile the rules' stylesheets when a worker starts (about a second), not in a client's request; and
    yield the CPU to the API process: a document's check is batch work beside the requests of every company."""
    os.nice(WORKER_NICENESS)
    validate_ubl(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>")


def _read_and_check(data: bytes, check: bool) -> tuple[UblFacts | Finding, Report | None]:
    facts = read_facts(data)
    report = validate_ubl(data) if check and not isinstance(facts, Finding) else None
    return facts, report


def _check(data: bytes) -> Report:
    return validate_ubl(data)


# -- the pool ---------------------------------------------------------------------------------------------


def _ready() -> None:
    """A task that only makes a new worker start (and warm up) before any document is timed."""


#: How long a new pool's workers may take to start and compile the rules (not a document's budget).
START_SECONDS = 120.0


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._started: list[concurrent.futures.Future[None]] = []

    def executor(self) -> tuple[concurrent.futures.ProcessPoolExecutor, list[concurrent.futures.Future[None]]]:
        """The pool, and the futures of its workers' start: a document's budget counts from when they are done."""
        with self._lock:
            if self._executor is None:
                settings = get_settings()
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=settings.xml_processes,
                    # forkserver: a worker starts from a clean process, never a fork of threads holding locks.
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_warm,
                    max_tasks_per_child=settings.xml_tasks_per_worker,
                )
                self._started = [self._executor.submit(_ready) for _ in range(settings.xml_processes)]
            return self._executor, self._started

    def kill(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        """A document ran over its budget: end its workers (the others' documents are asked again)."""
        with self._lock:
            if self._executor is not broken:
                return  # replaced already
            self._executor = None
        for process in list(getattr(broken, "_processes", {}).values()):  # no public way to stop a running task
            process.kill()
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_pool = _Pool()


def _over_budget(seconds: float) -> Finding:
    return Finding("XML", f"the document took longer than {seconds:g} s to read and check; it was not taken")


def run(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a worker, waited for in this thread; a Finding if over the time budget."""
    seconds = get_settings().xml_seconds
    for attempt in (1, 2):
        executor, started = _pool.executor()
        concurrent.futures.wait(started, timeout=START_SECONDS)
        future = executor.submit(function, *args)
        try:
            return future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            _pool.kill(executor)
            return _over_budget(seconds)
        except BrokenProcessPool:
            _pool.kill(executor)  # another document's budget ended the workers: this one goes again, once
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def run_async(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a worker, awaited on the event loop (no thread held meanwhile)."""
    seconds = get_settings().xml_seconds
    for attempt in (1, 2):
        executor, started = _pool.executor()
        await asyncio.wait([asyncio.wrap_future(f) for f in started], timeout=START_SECONDS)
        future = executor.submit(function, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=seconds)
        except TimeoutError:
            _pool.kill(executor)
            return _over_budget(seconds)
        except BrokenProcessPool:
            _pool.kill(executor)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def read_ubl(data: bytes, *, check: bool) -> tuple[UblFacts | Finding, Report | None]:
    """A UBL document's facts and, with ``check``, its report against the official rules."""
    refused = too_large(data)
    if refused is not None:
        return refused, None
    answer = run(_read_and_check, data, check)
    return (answer, None) if isinstance(answer, Finding) else answer


def read_ubls(documents: list[bytes]) -> list[tuple[UblFacts | Finding, Report | None]]:
    """``read_ubl(..., check=True)`` for several documents (a batch), spread over the workers."""
    if len(documents) <= 1:
        return [read_ubl(document, check=True) for document in documents]
    seconds = get_settings().xml_seconds
    executor, started = _pool.executor()
    concurrent.futures.wait(started, timeout=START_SECONDS)
    futures = {
        n: executor.submit(_read_and_check, document, True)
        for n, document in enumerate(documents)
        if too_large(document) is None
    }
    answers: list[tuple[UblFacts | Finding, Report | None]] = []
    for n, document in enumerate(documents):
        if n not in futures:
            answers.append((too_large(document), None))  # type: ignore[arg-type]
            continue
        try:
            # Each document's budget counts from when the batch is sent: a slow one ends the batch's wait.
            answers.append(futures[n].result(timeout=seconds))
        except concurrent.futures.TimeoutError:
            _pool.kill(executor)
            answers.append((_over_budget(seconds), None))
        except BrokenProcessPool:
            _pool.kill(executor)
            answers.append(read_ubl(document, check=True))  # asked again alone, on a fresh pool
    return answers


async def check_ubl(data: bytes) -> Report:
    """The official rules' report on a document (POST /v1/ubl/validate)."""
    refused = too_large(data)
    if refused is None:
        answer = await run_async(_check, data)
        if isinstance(answer, Report):
            return answer
        refused = answer
    return Report(errors=[refused])


def shutdown() -> None:
    _pool.close()
