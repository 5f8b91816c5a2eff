"""The headers every answer of the review page carries: what a browser may load, frame, send and keep.

The page has no JavaScript and its one stylesheet is a file of its own, so the policy allows no script at all
and nothing inline: injected markup can neither run nor restyle the page. No other site may frame it (a
confirmation button under someone else's page) or be a form's target; no URL of it travels in a Referer.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.types import Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
)
#: Pages show a company's money: not kept in a cache, so Back after signing out shows nothing.
NO_STORE = (b"cache-control", b"no-store")


class PageRoute(APIRoute):
    """A review page route. Added where the answer is sent, so that the page's error answers (handled inside
    the route) carry the headers too."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(PAGE_HEADERS)
                if not any(name == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await super().handle(scope, receive, send_with_headers)
