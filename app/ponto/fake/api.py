"""The stand-in's real-API resource routes: accounts, transactions and pending transactions, synchronizations and
their updated transactions, financial institutions, reauthorization requests, the integration, webhook keys."""

from __future__ import annotations

import json
import secrets
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.ponto.fake.documents import (
    _account_resource,
    _fi_resource,
    _sync_resource,
    _transaction_resource,
    api_base,
    bad_page,
    jsonapi,
    page,
)
from app.ponto.fake.guards import bearer, guard
from app.ponto.fake.records import FakeAccount, FakeError, FakeSynchronization, FakeToken, FakeTransaction
from app.ponto.fake.state import FakePontoState
from app.ponto.fake.values import _FI_IDS, API, FINANCIAL_INSTITUTIONS, SUBTYPES, _is_web_url, iso
from app.ponto.signature import jwk_of


def api_router(state: FakePontoState) -> APIRouter:
    """The resource routes over ``state``."""
    router = APIRouter()

    def own_account(token: FakeToken, account_id: str) -> FakeAccount:
        account = state.accounts.get(account_id)
        if account is None or account.organization_id != token.organization_id:
            raise FakeError(404, "resourceNotFound", "The account was not found.", resource="account")
        return account

    def transaction_list(
        request: Request,
        items: list[FakeTransaction],
        known: list[FakeTransaction],
        account_id: str,
        subtypes: tuple[str, ...],
    ) -> JSONResponse:
        """A page of transactions (newest first by Ponto's creation order); ``known`` also holds the ids that
        left the list (settled pending items), which a cursor may still name."""
        api = api_base(request)
        ordered = sorted(((t.seq or 0, t.id, t) for t in items), key=lambda e: e[0], reverse=True)
        chosen, links, paging = page(request, ordered, {t.id: t.seq or 0 for t in known})
        latest, synchronized_at = state._latest(account_id, subtypes)
        meta = {
            "paging": paging,
            "synchronizedAt": iso(synchronized_at),
            "latestSynchronization": _sync_resource(latest, api, embedded=True) if latest else None,
        }
        return jsonapi({"data": [_transaction_resource(t, api) for t in chosen], "links": links, "meta": meta})

    # -- accounts, transactions ------------------------------------------------------------------------------------

    @router.get(f"{API}/accounts")
    async def accounts(request: Request) -> Response:
        await guard(state, request, "accounts")
        token = bearer(state, request)
        api = api_base(request)
        with state.lock:
            ids = state.organizations[token.organization_id or ""].account_ids
            ordered = [(-i, a, state.accounts[a]) for i, a in enumerate(ids)]  # oldest first
            chosen, links, paging = page(request, ordered, {a: -i for i, a in enumerate(ids)})
            data = [_account_resource(state, a, api) for a in chosen]
        return jsonapi({"data": data, "links": links, "meta": {"paging": paging}})

    @router.get(f"{API}/accounts/{{account_id}}")
    async def account(account_id: str, request: Request) -> Response:
        await guard(state, request, "account")
        token = bearer(state, request)
        with state.lock:
            return jsonapi({"data": _account_resource(state, own_account(token, account_id), api_base(request))})

    def visible(account_id: str, pending: bool) -> tuple[list[FakeTransaction], list[FakeTransaction]]:
        known = [
            t
            for t in state.transactions.values()
            if t.account_id == account_id and t.pending == pending and t.seq is not None
        ]
        return [t for t in known if not t.gone], known

    @router.get(f"{API}/accounts/{{account_id}}/transactions")
    async def transactions(account_id: str, request: Request) -> Response:
        await guard(state, request, "transactions")
        token = bearer(state, request)
        with state.lock:
            own_account(token, account_id)
            items, known = visible(account_id, False)
            return transaction_list(request, items, known, account_id, SUBTYPES[1:])

    @router.get(f"{API}/accounts/{{account_id}}/pending-transactions")
    async def pending_transactions(account_id: str, request: Request) -> Response:
        await guard(state, request, "pending")
        token = bearer(state, request)
        with state.lock:
            own_account(token, account_id)
            items, known = visible(account_id, True)
            return transaction_list(request, items, known, account_id, SUBTYPES[2:])

    def one_transaction(token: FakeToken, account_id: str, tx_id: str, pending: bool, api: str) -> JSONResponse:
        with state.lock:
            own_account(token, account_id)
            tx = state.transactions.get(tx_id)
            if tx is None or tx.account_id != account_id or tx.pending != pending or tx.seq is None or tx.gone:
                kind = "pendingTransaction" if pending else "transaction"
                raise FakeError(404, "resourceNotFound", f"The {kind} was not found.", resource=kind)
            return jsonapi({"data": _transaction_resource(tx, api)})

    @router.get(f"{API}/accounts/{{account_id}}/transactions/{{tx_id}}")
    async def transaction(account_id: str, tx_id: str, request: Request) -> Response:
        await guard(state, request, "transaction")
        return one_transaction(bearer(state, request), account_id, tx_id, False, api_base(request))

    @router.get(f"{API}/accounts/{{account_id}}/pending-transactions/{{tx_id}}")
    async def pending_transaction(account_id: str, tx_id: str, request: Request) -> Response:
        await guard(state, request, "pending_transaction")
        return one_transaction(bearer(state, request), account_id, tx_id, True, api_base(request))

    # -- synchronizations ----------------------------------------------------------------------------------------

    @router.post(f"{API}/synchronizations")
    async def create_synchronization(request: Request) -> Response:
        await guard(state, request, "synchronizations")
        token = bearer(state, request)
        try:
            document = json.loads(await request.body())
            data = document["data"]
            attributes = data["attributes"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FakeError(400, "validationError", "The body must be {data: {type, attributes}}.") from exc
        if not isinstance(data, dict) or not isinstance(attributes, dict) or data.get("type") != "synchronization":
            raise FakeError(400, "validationError", "data.type must be 'synchronization'.")
        if attributes.get("resourceType") != "account":
            raise FakeError(400, "validationError", "resourceType must be 'account'.", attribute="resourceType")
        if attributes.get("subtype") not in SUBTYPES:
            raise FakeError(
                400, "validationError", f"subtype must be one of {', '.join(SUBTYPES)}.", attribute="subtype"
            )
        with state.lock:
            sync = state._create_synchronization(
                token.organization_id or "",
                str(attributes.get("resourceId", "")),
                attributes["subtype"],
                attributes.get("customerIpAddress"),
            )
            return jsonapi({"data": _sync_resource(sync, api_base(request))}, 201)

    def own_synchronization(token: FakeToken, sync_id: str) -> FakeSynchronization:
        sync = state.synchronizations.get(sync_id)
        if sync is None or sync.organization_id != token.organization_id:
            raise FakeError(404, "resourceNotFound", "The synchronization was not found.", resource="synchronization")
        return sync

    @router.get(f"{API}/synchronizations/{{sync_id}}")
    async def synchronization(sync_id: str, request: Request) -> Response:
        await guard(state, request, "synchronization")
        token = bearer(state, request)
        with state.lock:
            sync = own_synchronization(token, sync_id)
            state._advance_synchronization(sync)
            return jsonapi({"data": _sync_resource(sync, api_base(request))})

    def updated_list(request: Request, token: FakeToken, sync_id: str, pending: bool) -> JSONResponse:
        with state.lock:
            sync = own_synchronization(token, sync_id)
            ids = sync.updated_pending if pending else sync.updated_transactions
            items = [state.transactions[i] for i in ids]
            subtypes = SUBTYPES[2:] if pending else SUBTYPES[1:]
            return transaction_list(request, items, items, sync.account_id, subtypes)

    @router.get(f"{API}/synchronizations/{{sync_id}}/updated-transactions")
    async def updated_transactions(sync_id: str, request: Request) -> Response:
        await guard(state, request, "updated")
        return updated_list(request, bearer(state, request), sync_id, False)

    @router.get(f"{API}/synchronizations/{{sync_id}}/updated-pending-transactions")
    async def updated_pending_transactions(sync_id: str, request: Request) -> Response:
        await guard(state, request, "updated_pending")
        return updated_list(request, bearer(state, request), sync_id, True)

    # -- financial institutions, reauthorization, integration ------------------------------------------------------

    @router.get(f"{API}/financial-institutions")
    async def financial_institutions(request: Request) -> Response:
        await guard(state, request, "financial_institutions")
        ordered = [(-i, _FI_IDS[i], _fi_resource(i)) for i in range(len(FINANCIAL_INSTITUTIONS))]
        chosen, links, paging = page(request, ordered, {fi: -i for i, fi in enumerate(_FI_IDS)})
        return jsonapi({"data": chosen, "links": links, "meta": {"paging": paging}})

    @router.get(f"{API}/financial-institutions/{{fi_id}}")
    async def financial_institution(fi_id: str, request: Request) -> Response:
        await guard(state, request, "financial_institutions")
        if fi_id not in _FI_IDS:
            raise FakeError(404, "resourceNotFound", "The financial institution was not found.")
        return jsonapi({"data": _fi_resource(_FI_IDS.index(fi_id))})

    @router.post(f"{API}/accounts/{{account_id}}/reauthorization-requests")
    async def reauthorization_request(account_id: str, request: Request) -> Response:
        await guard(state, request, "reauthorization")
        token = bearer(state, request)
        try:
            data = json.loads(await request.body())["data"]
            redirect_uri = data["attributes"]["redirectUri"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FakeError(
                400, "validationError", "The body must be {data: {type, attributes: {redirectUri}}}."
            ) from exc
        if data.get("type") != "reauthorizationRequest" or not _is_web_url(redirect_uri):
            raise FakeError(400, "validationError", "type reauthorizationRequest with an http(s) redirectUri.")
        with state.lock:
            account = own_account(token, account_id)
            request_id_, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
            state.reauthorizations[secret] = {
                "id": request_id_,
                "account_id": account.id,
                "redirect_uri": redirect_uri,
                "used": False,
            }
        root = str(request.base_url).rstrip("/")
        return jsonapi(
            {
                "data": {
                    "type": "reauthorizationRequest",
                    "id": request_id_,
                    "attributes": {},
                    "links": {"redirect": f"{root}/reauthorize/{secret}"},
                }
            },
            201,
        )

    @router.get("/reauthorize/{secret}")
    async def reauthorize(secret: str, request: Request) -> Response:
        """The browser step of a reauthorization: renews the consent at once and sends the user back."""
        await guard(state, request, "reauthorize")
        with state.lock:
            redirect_uri = state._reauthorize(secret)
        if redirect_uri is None:
            return bad_page("Unknown or already used reauthorization link.")
        return RedirectResponse(redirect_uri, 302)

    @router.delete(f"{API}/organizations/{{organization_id}}/integration")
    async def delete_integration(organization_id: str, request: Request) -> Response:
        await guard(state, request, "integration")
        bearer(state, request, client=True)
        with state.lock:
            organization = state.organizations.get(organization_id)
            integration_id = organization.integration_id if organization else None
            if organization is None or integration_id is None:
                raise FakeError(
                    404, "resourceNotFound", "No integration with this organization.", resource="integration"
                )
            state._revoke(organization)
        return jsonapi(
            {
                "data": {
                    "type": "integration",
                    "id": integration_id,
                    "relationships": {"organization": {"data": {"type": "organization", "id": organization_id}}},
                }
            }
        )

    # -- webhook keys --------------------------------------------------------------------------------------------

    @router.get("/webhooks")
    async def webhooks_schema(request: Request) -> Response:
        await guard(state, request, "webhooks")
        return JSONResponse({"links": {"keys": str(request.base_url).rstrip("/") + "/webhooks/keys"}})

    @router.get("/webhooks/keys")
    async def webhook_keys(request: Request) -> Response:
        await guard(state, request, "keys")
        return JSONResponse({"keys": [jwk_of(state.signing_key.public_key(), state.signing_kid)]})

    return router
