"""The stand-in's discovery document and OAuth2 routes: the auto-approving browser step (``/oauth2/auth``),
token, revoke and userinfo."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.ponto.fake.documents import api_base, bad_page, jsonapi
from app.ponto.fake.guards import bearer, guard
from app.ponto.fake.records import FakeCode, OAuthError
from app.ponto.fake.state import FakePontoState
from app.ponto.fake.values import _CHALLENGE, _VERIFIER, API, SCOPES, _is_web_url, _with_query


def oauth_router(state: FakePontoState) -> APIRouter:
    """Discovery and OAuth2 routes over ``state``."""
    router = APIRouter()

    # -- discovery, OAuth2 ---------------------------------------------------------------------------------------

    @router.get(API)
    async def discovery(request: Request) -> Response:
        await guard(state, request, "discovery")
        api = api_base(request)
        return jsonapi(
            {
                "links": {
                    "accounts": f"{api}/accounts/{{accountId}}",
                    "account": {
                        "transactions": f"{api}/accounts/{{accountId}}/transactions/{{transactionId}}",
                        "pendingTransactions": (
                            f"{api}/accounts/{{accountId}}/pending-transactions/{{pendingTransactionId}}"
                        ),
                        "reauthorizationRequests": f"{api}/accounts/{{accountId}}/reauthorization-requests",
                    },
                    "synchronizations": f"{api}/synchronizations/{{synchronizationId}}",
                    "synchronization": {
                        "updatedTransactions": f"{api}/synchronizations/{{synchronizationId}}/updated-transactions",
                        "updatedPendingTransactions": (
                            f"{api}/synchronizations/{{synchronizationId}}/updated-pending-transactions"
                        ),
                    },
                    "financialInstitutions": f"{api}/financial-institutions/{{financialInstitutionId}}",
                    "oauth2": {"token": f"{api}/oauth2/token", "revoke": f"{api}/oauth2/revoke"},
                    "userinfo": f"{api}/userinfo",
                    "organizations": {"integration": f"{api}/organizations/{{organizationId}}/integration"},
                }
            }
        )

    @router.get("/oauth2/auth")
    async def authorize(request: Request) -> Response:
        """The browser step (authorization host in reality); approves at once for an organization."""
        await guard(state, request, "auth")
        q = request.query_params
        if q.get("client_id") != state.client_id:
            return bad_page("Unknown client_id.")
        redirect_uri = q.get("redirect_uri")
        if not _is_web_url(redirect_uri):
            return bad_page("redirect_uri must be an absolute http(s) URL.")
        assert redirect_uri is not None
        client_state = q.get("state")

        def refuse(error: str, description: str) -> Response:
            params = {"error": error, "error_description": description}
            if client_state:
                params["state"] = client_state
            return RedirectResponse(_with_query(redirect_uri, params), 302)

        if q.get("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be 'code'.")
        if not client_state:
            return refuse("invalid_request", "state is required.")
        if q.get("code_challenge_method") != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256.")
        challenge = q.get("code_challenge") or ""
        if not _CHALLENGE.fullmatch(challenge):
            return refuse("invalid_request", "code_challenge is missing or malformed.")
        scopes = (q.get("scope") or "").split()
        if "ai" not in scopes or any(s not in SCOPES for s in scopes):
            return refuse("invalid_scope", f"scope must include 'ai' and only {' '.join(SCOPES)}.")
        with state.lock:
            organization_id = q.get("organization") or state.next_authorization or state._latest_organization
            organization = state.organizations.get(organization_id or "")
            if organization is None:
                return refuse("access_denied", "No such organization to authorize (seed one under /_fake/).")
            code = FakeCode(
                value=secrets.token_urlsafe(32),
                organization_id=organization.id,
                integration_id=state._activate(organization),
                redirect_uri=redirect_uri,
                challenge=challenge,
                scope=" ".join(scopes),
                expires_at=state.clock() + timedelta(seconds=state.code_seconds),
            )
            state.codes[code.value] = code
        return RedirectResponse(_with_query(redirect_uri, {"code": code.value, "state": client_state}), 302)

    def client_authenticated(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            raise OAuthError(401, "invalid_client", "HTTP Basic client authentication is required.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, binascii.Error) as exc:
            raise OAuthError(401, "invalid_client", "Malformed Basic credentials.") from exc
        client_id, _, secret = decoded.partition(":")
        if unquote_plus(client_id) != state.client_id or not secrets.compare_digest(
            unquote_plus(secret).encode(), state.client_secret.encode()
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed.")

    async def form(request: Request) -> dict[str, str]:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise OAuthError(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
        return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))

    @router.post(f"{API}/oauth2/token")
    async def token(request: Request) -> Response:
        await guard(state, request, "token")
        client_authenticated(request)
        params = await form(request)
        grant = params.get("grant_type")
        with state.lock:
            if grant == "authorization_code":
                for name in ("code", "redirect_uri", "code_verifier"):
                    if not params.get(name):
                        raise OAuthError(400, "invalid_request", f"{name} is required.")
                code = state.codes.get(params["code"])
                if code is None or code.used or code.expires_at <= state.clock():
                    raise OAuthError(400, "invalid_grant", "The authorization code is invalid, used or expired.")
                if params["redirect_uri"] != code.redirect_uri:
                    raise OAuthError(400, "invalid_grant", "redirect_uri differs from the authorization request's.")
                verifier = params["code_verifier"]
                if not _VERIFIER.fullmatch(verifier):
                    raise OAuthError(400, "invalid_request", "code_verifier is malformed (RFC 7636).")
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not secrets.compare_digest(computed, code.challenge):
                    raise OAuthError(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
                organization = state.organizations[code.organization_id]
                if organization.integration_id != code.integration_id:
                    raise OAuthError(400, "invalid_grant", "The integration was revoked.")
                code.used = True
                answer = state._issue(organization.id, code.integration_id, code.scope)
            elif grant == "refresh_token":
                if not params.get("refresh_token"):
                    raise OAuthError(400, "invalid_request", "refresh_token is required.")
                old = state._live(params["refresh_token"], "refresh")
                if old is None:
                    raise OAuthError(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
                old.revoked = True  # rotation: each refresh token works once
                answer = state._issue(old.organization_id, old.integration_id, old.scope)
            elif grant == "client_credentials":
                answer = state._issue(None, None, params.get("scope", ""), client=True)
            elif not grant:
                raise OAuthError(400, "invalid_request", "grant_type is required.")
            else:
                raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @router.post(f"{API}/oauth2/revoke")
    async def revoke(request: Request) -> Response:
        await guard(state, request, "revoke")
        client_authenticated(request)
        value = (await form(request)).get("token", "")
        with state.lock:
            token = state.tokens.get(value)
            if token is not None and token.kind == "refresh":  # a refresh token: the whole integration ends
                organization = state.organizations.get(token.organization_id or "")
                if organization is not None and organization.integration_id == token.integration_id:
                    state._revoke(organization)
            if token is not None:
                token.revoked = True
        return Response(status_code=200)

    @router.get(f"{API}/userinfo")
    async def userinfo(request: Request) -> Response:
        await guard(state, request, "userinfo")
        token = bearer(state, request)
        organization = state.organizations[token.organization_id or ""]
        return JSONResponse(
            {
                "sub": organization.id,
                "name": organization.name,
                "representativeOrganizationName": organization.name,
                "representativeOrganizationId": organization.id,
                "paymentsActivated": False,
                "paymentsActivationRequested": False,
                "onboardingComplete": True,
            }
        )

    return router
