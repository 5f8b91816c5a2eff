"""API routes whose sync handlers commit where they work, and that refuse impossible ids before any query.

A writing request's handler runs in a pool thread and may take a company's ledger lock (PostgreSQL: an advisory
lock until the transaction ends). If its commit then waited for another pool thread, the lock would stay held
while every thread is taken by requests waiting for that very lock: the process stops, for every company (seen
with nine parallel writes of one company and eight threads). So the handler, its commit (or rollback) and the
release of its connection run in the one thread call FastAPI makes for it.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, get_type_hints

from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from app.core.db import SessionDep, in_one_transaction
from app.core.errors import BadRequest, NotFound, ValidationFailed


def _session_parameters(endpoint: Callable[..., Any]) -> list[str]:
    hints = get_type_hints(endpoint, include_extras=True)
    return [name for name, hint in hints.items() if name != "return" and hint == SessionDep]


def committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The sync endpoint, committing its session in its own thread when it returns (rolling back if it raises).
    Async endpoints hand their work to ``in_one_transaction`` themselves."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    names = _session_parameters(endpoint)
    if not names:
        return endpoint
    (name,) = names

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = kwargs[name]
        return in_one_transaction(session, endpoint, *args, **kwargs)

    return run


#: Longer than any id of ours (a prefix and 28 hex digits) and than any id column.
MAX_ID_LENGTH = 40


def refuse_impossible_input(request: Request) -> None:
    """An id in the path that no database could look up (a NUL or other control character, or overlong) is a
    404, a control character in the query a 422, before any query: PostgreSQL refuses NUL in text, and one bad
    value in a shared query would fail the others' reads with it (the batched invoice read checks ids fully:
    app/invoices/reads.py)."""
    for name, value in request.path_params.items():
        # Only what no database could even look up: a wrong prefix or length is left to the route, whose own
        # answer for an unknown id (404, or 422 where the contract says so) costs one primary-key lookup.
        if name.endswith("_id") and (not value.isprintable() or len(value) > MAX_ID_LENGTH):
            raise NotFound(f"no such {name.removesuffix('_id').replace('_', ' ')}")
    for name, value in request.query_params.multi_items():
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationFailed(
                f"query parameter {name} holds a control character",
                errors=[{"loc": f"query.{name}", "message": "control characters are not allowed"}],
            )


#: A JSON body this large (an invoice with its documents, a batch) is parsed in a thread: on the event loop, a
#: few megabytes held every other request of the process for tens of milliseconds.
LARGE_JSON_BYTES = 256 * 1024


async def parse_large_json_in_a_thread(request: Request) -> None:
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) < LARGE_JSON_BYTES:
        return
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    try:
        # Starlette keeps a request's parsed JSON: FastAPI's own ``request.json()`` then finds it.
        request._json = await run_in_threadpool(json.loads, body)
    except ValueError:
        return  # left to FastAPI, which answers malformed JSON its usual way


def refuse_unknown_query(request: Request, known: frozenset[str]) -> None:
    """A query parameter the route does not take is a 400 naming it: ``?updated_sinse=`` ignored would answer
    everything, and the client would never know its filter was not applied."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise BadRequest(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; this route takes "
            f"{', '.join(sorted(known)) or 'none'}",
            errors=[{"loc": f"query.{name}", "message": "not a parameter of this route"} for name in unknown],
        )


def _query_names(dependant: Any) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' too (by the name a client sends: the alias)."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(param.alias for param in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


class CommittingRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, committing(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)  # built here: FastAPI asks for the handler while it constructs

        async def checked(request: Request) -> Response:
            refuse_impossible_input(request)
            refuse_unknown_query(request, known)
            await parse_large_json_in_a_thread(request)
            return await handler(request)

        return checked
