"""A client for Ponto Connect (Ibanity) as an integrator reads a company's bank with it.

What it relies on is in ../shared/ponto-api.md and docs/ponto.md, from Ibanity's official SDKs and fixtures:
- every path comes from the discovery document (``GET {base}``: ``links``, URI templates), as the SDKs do;
- OAuth2 token and revoke calls are form-encoded with HTTP Basic (client id and secret); refresh tokens rotate,
  so the caller must keep the new one each time (``Tokens``);
- JSON:API resources kept as they came; amounts are JSON numbers, read exactly by ``ponto_reader``;
- cursor pages newest first (``page[limit]`` at most 100), followed by their ``links.next`` / ``links.prev``;
- errors ``{"errors": [{"code", "detail"}]}``, OAuth's ``{"error", "error_description"}``;
- mTLS with the certificate Ibanity issued, on every call (``ssl.SSLContext`` from the configured PEM files).

Errors split into retryable (network, time-outs, 429, 5xx: ``RetryablePontoError``), an access token that no
longer works (``PontoAuthError``), a refresh token or consent that is gone (``PontoGrantError``) and other
refusals (``PontoError``). Tokens never appear in reprs, logs or messages.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

PAGE_LIMIT = 100
#: Keys of the discovery document this client uses, and where they are when a server serves none.
_FALLBACK_LINKS = {
    "accounts": "/accounts",
    "account.transactions": "/accounts/{accountId}/transactions",
    "account.pendingTransactions": "/accounts/{accountId}/pending-transactions",
    "account.reauthorizationRequests": "/accounts/{accountId}/reauthorization-requests",
    "synchronizations": "/synchronizations",
    "synchronization.updatedTransactions": "/synchronizations/{synchronizationId}/updated-transactions",
    "oauth2.token": "/oauth2/token",
    "oauth2.revoke": "/oauth2/revoke",
    "userinfo": "/userinfo",
}


class PontoError(Exception):
    def __init__(self, message: str, status_code: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class RetryablePontoError(PontoError):
    """Try again later: Ponto (or the bank behind it) was slow, down or busy."""


class PontoAuthError(PontoError):
    """The access token is not (or no longer) valid: refresh it."""


class PontoGrantError(PontoError):
    """The refresh token or the authorization is gone (revoked, expired, used twice): the company must connect
    again."""


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int
    scope: str


def ssl_context(certificate: str | None, key: str | None, passphrase: str | None) -> ssl.SSLContext | bool:
    """The client certificate Ibanity requires on every call; none (plain verification) for a local stand-in."""
    if not certificate:
        return True
    context = ssl.create_default_context()
    context.load_cert_chain(certificate, key, passphrase)
    return context


class PontoClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        verify: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._basic = httpx.BasicAuth(client_id, client_secret)
        self.client_id = client_id
        self._http = httpx.Client(verify=verify, timeout=timeout, transport=transport, follow_redirects=False)
        self._links: dict[str, str] | None = None

    def __enter__(self) -> PontoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"PontoClient({self.base_url!r})"

    # -- plumbing -----------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise RetryablePontoError(f"Ponto did not answer {method} {_path(url)}: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryablePontoError(
                f"Ponto answered {response.status_code} to {method} {_path(url)}{_detail(response)}",
                response.status_code,
                _code(response),
            )
        return response

    def _json(self, response: httpx.Response) -> Any:
        # Plain JSON: the resources are kept (and stored in batches) as they came. A JSON number read as a float
        # keeps its literal: its repr gives the same digits back (an amount has at most 15), which the reader
        # then reads exactly (``ponto_reader.amount_of``).
        try:
            return json.loads(response.content)
        except ValueError:
            raise RetryablePontoError(f"Ponto's answer to {_path(str(response.url))} is not JSON") from None

    def _api(self, method: str, url: str, access_token: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/vnd.api+json"}
        response = self._send(method, url, headers=headers, **kwargs)
        if response.status_code == 401:
            raise PontoAuthError(f"Ponto refused the access token{_detail(response)}", 401, _code(response))
        if response.status_code >= 400:
            raise PontoError(
                f"Ponto answered {response.status_code} to {method} {_path(url)}{_detail(response)}",
                response.status_code,
                _code(response),
            )
        return self._json(response) if response.content else {}

    def link(self, key: str, **values: str) -> str:
        """A path of the discovery document, filled in (the SDKs resolve every path this way)."""
        if self._links is None:
            response = self._send("GET", self.base_url, headers={"Accept": "application/vnd.api+json"})
            links = self._json(response).get("links") if response.status_code == 200 else None
            self._links = links if isinstance(links, dict) else {}
        template = _lookup(self._links, key) or self.base_url + _FALLBACK_LINKS[key]
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        # A list's template ends in its item's placeholder (``accounts/{accountId}``): left empty, as the SDKs do.
        return re.sub(r"\{[^}]*\}", "", template).rstrip("/")

    # -- OAuth2 ---------------------------------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> Tokens:
        response = self._send("POST", self.link("oauth2.token"), data=form, auth=self._basic)
        body = self._json(response) if response.content else {}
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            message = f"Ponto refused the token request: {error or response.status_code}"
            if description:
                message += f" ({description})"
            if error in ("invalid_grant", "access_denied"):
                raise PontoGrantError(message, response.status_code, error)
            raise PontoError(message, response.status_code, error)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise PontoError("Ponto's token answer has no access_token")
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            expires_in=int(body.get("expires_in") or 0),
            scope=str(body.get("scope") or ""),
        )

    def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> Tokens:
        return self._token(
            {
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )

    def refresh(self, refresh_token: str) -> Tokens:
        """A new access token and a NEW refresh token (the old one is dead from now: keep the new one)."""
        return self._token({"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": refresh_token})

    def revoke(self, refresh_token: str) -> None:
        response = self._send("POST", self.link("oauth2.revoke"), data={"token": refresh_token}, auth=self._basic)
        if response.status_code >= 400:
            raise PontoError(f"Ponto refused to revoke the token ({response.status_code})", response.status_code)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        return self._api("GET", self.link("userinfo"), access_token)

    # -- resources ------------------------------------------------------------------------------------------

    def _pages(self, url: str, access_token: str, params: dict[str, str], follow: str) -> Iterator[list[Any]]:
        """Each page's items, following ``links.<follow>`` until it is absent."""
        seen: set[str] = set()
        next_url: str | None = url
        query: dict[str, str] | None = params
        while next_url:
            body = self._api("GET", next_url, access_token, params=query)
            items = body.get("data") or []
            yield items if isinstance(items, list) else []
            link = (body.get("links") or {}).get(follow)
            if not link or link in seen or not items:
                return
            seen.add(link)
            next_url, query = link, None  # a link carries its own query

    def accounts(self, access_token: str) -> list[dict[str, Any]]:
        limit = {"page[limit]": str(PAGE_LIMIT)}
        return [item for page in self._pages(self.link("accounts"), access_token, limit, "next") for item in page]

    def transactions_since(self, access_token: str, account_id: str, last_id: str | None) -> list[dict[str, Any]]:
        """The account's booked transactions newer than ``last_id`` (all of them without one), oldest first.

        Ponto lists by creation order, newest first, and dates are not in that order: the position of the last
        imported id, never a date, says what is new (the loss OCA's module had: ../shared/ponto-api.md §7)."""
        url = self.link("account.transactions", accountId=account_id)
        return self._since(url, access_token, last_id)

    def _since(self, url: str, access_token: str, last_id: str | None) -> list[dict[str, Any]]:
        if last_id is None:
            pages = list(self._pages(url, access_token, {"page[limit]": str(PAGE_LIMIT)}, "next"))
            newest_first = [item for page in pages for item in page]
        else:
            params = {"page[limit]": str(PAGE_LIMIT), "page[before]": last_id}
            pages = list(self._pages(url, access_token, params, "prev"))
            # Each page is newest first; each later page is newer than the one before it.
            newest_first = [item for page in reversed(pages) for item in page]
        return [item for item in reversed(newest_first) if isinstance(item, dict)]

    def pending_transactions(self, access_token: str, account_id: str) -> list[dict[str, Any]]:
        url = self.link("account.pendingTransactions", accountId=account_id)
        limit = {"page[limit]": str(PAGE_LIMIT)}
        return [item for page in self._pages(url, access_token, limit, "next") for item in page]

    def start_synchronization(self, access_token: str, account_id: str, subtype: str) -> dict[str, Any] | None:
        """A new synchronization of the account, or None when one of the subtype ran too recently (Ponto's
        cool-down: what is there is read as it is)."""
        body = {
            "data": {
                "type": "synchronization",
                "attributes": {"resourceType": "account", "resourceId": account_id, "subtype": subtype},
            }
        }
        try:
            return self._api("POST", self.link("synchronizations"), access_token, json=body).get("data")
        except PontoError as exc:
            if exc.code == "accountRecentlySynchronized":
                return None
            raise

    def synchronization(self, access_token: str, synchronization_id: str) -> dict[str, Any]:
        url = self.link("synchronizations") + "/" + synchronization_id
        return self._api("GET", url, access_token).get("data") or {}

    def updated_transactions(self, access_token: str, synchronization_id: str) -> list[dict[str, Any]]:
        url = self.link("synchronization.updatedTransactions", synchronizationId=synchronization_id)
        limit = {"page[limit]": str(PAGE_LIMIT)}
        return [item for page in self._pages(url, access_token, limit, "next") for item in page]

    def reauthorization_link(self, access_token: str, account_id: str, redirect_uri: str) -> str | None:
        """A one-off link where the company's user renews the account's PSD2 consent."""
        url = self.link("account.reauthorizationRequests", accountId=account_id)
        body = {"data": {"type": "reauthorizationRequest", "attributes": {"redirectUri": redirect_uri}}}
        answer = self._api("POST", url, access_token, json=body)
        links = (answer.get("links") or {}) if isinstance(answer, dict) else {}
        data_links = ((answer.get("data") or {}).get("links") or {}) if isinstance(answer, dict) else {}
        return links.get("redirect") or data_links.get("redirect")


def _lookup(links: dict[str, Any], key: str) -> str | None:
    """A template by its dotted name: the real document nests them (``links.account.transactions``); a flat
    ``"account.transactions"`` key is read too."""
    if isinstance(links.get(key), str):
        return links[key]
    node: Any = links
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def _path(url: str) -> str:
    """A URL without its query (which may carry cursors, never secrets, but is noise in a message)."""
    return re.sub(r"\?.*$", "", httpx.URL(url).path)


def _errors(response: httpx.Response) -> list[Any]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) else []


def _code(response: httpx.Response) -> str | None:
    errors = _errors(response)
    return str(errors[0].get("code")) if errors and isinstance(errors[0], dict) and errors[0].get("code") else None


def _detail(response: httpx.Response) -> str:
    errors = _errors(response)
    if errors and isinstance(errors[0], dict):
        code, detail = errors[0].get("code"), errors[0].get("detail")
        return f": {code}" + (f" ({str(detail)[:200]})" if detail else "")
    return ""
