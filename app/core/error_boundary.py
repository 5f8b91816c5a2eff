"""The outermost layer: an unexpected error never costs the client its keep-alive connection.

Starlette answers an unhandled exception with our 500 problem and then raises it again for the server to
log; uvicorn answers that by closing the connection, so the client's next request on it is reset. The error
is already logged and answered by then, so here it stops. An error before any answer still gets the 500
problem; one in the middle of a streamed answer has to end the connection (the answer cannot be finished).
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem

log = logging.getLogger(__name__)


class KeepConnectionOnError:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "finished": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["finished"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if state["finished"]:
                return  # answered (500 problem) and logged by the error handler
            if state["started"]:
                raise
            log.exception("unhandled error before any answer on %s %s", scope.get("method"), scope.get("path"))
            await problem(500, "Internal error", "an unexpected error occurred; it has been logged")(
                scope, receive, send
            )
