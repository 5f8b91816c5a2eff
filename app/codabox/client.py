"""A typed client for CodaBox API v2 as type-3 integrators (invoicing software) use it.

Known from public integrations: base URL .../v2/, X-Software-Company on every call, HTTP Basic per client,
trailing slashes, ``Accept: */*`` for downloads, errors as ``{"detail": ...}``, and the shapes of pod-client
(integer ids, ``allowed_formats`` per document model, ``feed_clients`` named but without a VAT number) and of
the feed (``type: "download"``, entries of every document model). The sales-invoice upload path is not public
and is configured. Errors split into retryable (timeouts, connection errors, 408, 429, 5xx) and permanent
(other 4xx); a 409 to an upload is taken as "already there" (an assumption: docs/codabox.md), so a sender
whose first response was lost can tell it from a refusal. Secrets never appear in reprs, logs or messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class CodaboxError(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableCodaboxError(CodaboxError):
    """Try again later: CodaBox was slow, down or busy."""


class PermanentCodaboxError(CodaboxError):
    """CodaBox refused the request as it is; retrying will not help."""


class DuplicateDocumentError(PermanentCodaboxError):
    """CodaBox already has this document (an earlier upload whose response was lost counts as delivered)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.username, self.password)


@dataclass(frozen=True)
class FeedEntry:
    feed_index: str
    document_model: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class FeedClient:
    """One feed of the pod: CodaBox's id for it, and the name and code its accountant knows the client by."""

    id: str
    name: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class PodClient:
    id: str
    fetch_delay: int
    #: The formats each document model can be downloaded in, e.g. {"coda": ["cod", "pdf", "xml"]}.
    allowed_formats: dict[str, list[str]]
    feed_clients: list[FeedClient]

    @property
    def feed_ids(self) -> list[str]:
        return [f.id for f in self.feed_clients]

    def statement_format(self, preferred: str) -> str:
        """The preferred download format for bank statements when CodaBox offers it, else CODA's own."""
        return preferred if preferred in self.allowed_formats.get("coda", []) else "cod"


def _formats(raw: Any) -> dict[str, list[str]]:
    """``allowed_formats`` per document model; a bare list (no public example has one) is read as CODA's."""
    if isinstance(raw, dict):
        return {str(model).lower(): [str(f).lower() for f in formats or []] for model, formats in raw.items()}
    if isinstance(raw, list):
        return {"coda": [str(f).lower() for f in raw]}
    return {}


def _optional(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    return str(body.get("detail", body))[:500] if isinstance(body, dict) else str(body)[:500]


#: CodaBox's fetch_delay when pod-client does not say (the value in every public example).
DEFAULT_FETCH_DELAY = 7200


class CodaboxClient:
    def __init__(
        self,
        base_url: str,
        software_company: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"X-Software-Company": software_company, "User-Agent": "codarecon/0.1"},
        )

    def __repr__(self) -> str:
        return f"CodaboxClient(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CodaboxClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, *, auth: Credentials | None = None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, auth=auth.auth() if auth else None, **kwargs)
        except httpx.TimeoutException:
            raise RetryableCodaboxError(f"CodaBox did not answer {method} {path} in time") from None
        except httpx.TransportError as exc:
            raise RetryableCodaboxError(f"cannot reach CodaBox for {method} {path}: {type(exc).__name__}") from None
        if response.is_success:
            return response
        detail = _detail(response)
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise RetryableCodaboxError(f"CodaBox answered {status} to {method} {path}: {detail}", status)
        if status == 409 and method == "POST":
            raise DuplicateDocumentError(f"CodaBox already has this document (409): {detail}", status)
        raise PermanentCodaboxError(f"CodaBox refused {method} {path} ({status}): {detail}", status)

    # -- connecting a client ---------------------------------------------------------------------------

    def request_access_token(self, vat: str) -> None:
        """CodaBox e-mails the company a one-time token."""
        self._request("POST", "request-access-token/invoicing-software/", json={"vat": vat})

    def get_credentials(self, token: str) -> Credentials:
        body = self._request("GET", f"get-credentials/{token}/").json()
        return Credentials(username=body["username"], password=body["password"])

    # -- reading ---------------------------------------------------------------------------------------

    def pod_client(self, creds: Credentials) -> PodClient:
        body = self._request("GET", "delivery/pod-client/", auth=creds).json()
        return PodClient(
            id=str(body["id"]),
            fetch_delay=DEFAULT_FETCH_DELAY if body.get("fetch_delay") is None else int(body["fetch_delay"]),
            allowed_formats=_formats(body.get("allowed_formats")),
            feed_clients=[
                FeedClient(str(f["id"]), _optional(f.get("client_name")), _optional(f.get("client_code")))
                for f in body.get("feed_clients") or []
            ],
        )

    def feed(self, creds: Credentials, feed_id: str) -> list[FeedEntry]:
        body = self._request("GET", f"delivery/feed/{feed_id}/", auth=creds).json()
        return [
            FeedEntry(str(e["feed_index"]), str(e.get("document_model", "")), dict(e.get("metadata") or {}))
            for e in body.get("feed_entries", [])
        ]

    def download(self, creds: Credentials, feed_index: str, fmt: str = "cod") -> bytes:
        return self._request(
            "GET", f"delivery/download/{feed_index}/{fmt}/", auth=creds, headers={"Accept": "*/*"}
        ).content

    def commit_offset(self, creds: Credentials, feed_id: str, feed_index: str) -> None:
        self._request("PUT", f"delivery/feed/{feed_id}/", auth=creds, json={"feed_offset": feed_index})

    def redownload_feed(self, creds: Credentials, feed_id: str) -> list[FeedEntry]:
        body = self._request("GET", f"delivery/redownload-feed/{feed_id}/", auth=creds).json()
        return [
            FeedEntry(str(e["feed_index"]), str(e.get("document_model", "")), dict(e.get("metadata") or {}))
            for e in body.get("feed_entries", [])
        ]

    def redownload(self, creds: Credentials, feed_index: str, fmt: str = "cod") -> bytes:
        return self._request(
            "GET", f"delivery/redownload/{feed_index}/{fmt}/", auth=creds, headers={"Accept": "*/*"}
        ).content

    # -- sending ---------------------------------------------------------------------------------------

    def upload_sales_invoice(
        self, creds: Credentials, path: str, *, ubl_xml: bytes, filename: str, pdf: bytes | None = None
    ) -> dict[str, Any]:
        files: dict[str, Any] = {"file": (filename, ubl_xml, "application/xml")}
        if pdf is not None:
            files["pdf"] = (filename.rsplit(".", 1)[0] + ".pdf", pdf, "application/pdf")
        response = self._request("POST", path.lstrip("/"), auth=creds, files=files)
        try:
            return response.json()
        except ValueError:
            return {}
