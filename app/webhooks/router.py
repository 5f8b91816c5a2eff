"""HTTP routes for outbound webhook endpoints (admin: any company or all; company key: its own)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.core.auth import PrincipalDep
from app.core.db import SessionDep
from app.core.idempotency import SECRET_FIELDS
from app.core.pagination import CursorQuery, LimitQuery, decode_cursor, next_cursor
from app.core.request_routes import CommittingRoute
from app.core.schemas import Page
from app.webhooks import service
from app.webhooks.schemas import DeliveryPublic, EndpointCreate, EndpointCreated, EndpointPublic, EndpointUpdate

router = APIRouter(route_class=CommittingRoute, prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.post("", status_code=201, response_model=EndpointCreated)
def create_endpoint(
    data: EndpointCreate, request: Request, principal: PrincipalDep, session: SessionDep
) -> EndpointCreated:
    """Subscribe a URL to events; the signing secret is returned once (a replay under the same
    Idempotency-Key omits it)."""
    setattr(request.state, SECRET_FIELDS, ("secret",))
    endpoint, secret = service.create(session, principal, data)
    return EndpointCreated(**service.present(session, endpoint).model_dump(), secret=secret)


@router.get("", response_model=Page[EndpointPublic])
def list_endpoints(
    principal: PrincipalDep, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[EndpointPublic]:
    """The endpoints this credential manages, in creation order (paginated)."""
    rows = service.visible(session, principal, limit=limit + 1, after=decode_cursor(cursor))
    return Page(
        items=[service.present(session, e) for e in rows[:limit]], next_cursor=next_cursor([e.id for e in rows], limit)
    )


@router.get("/{endpoint_id}", response_model=EndpointPublic)
def get_endpoint(endpoint_id: str, principal: PrincipalDep, session: SessionDep) -> EndpointPublic:
    """One webhook endpoint (its secret is never shown again)."""
    return service.present(session, service.get(session, principal, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointPublic)
def update_endpoint(
    endpoint_id: str, data: EndpointUpdate, principal: PrincipalDep, session: SessionDep
) -> EndpointPublic:
    """Enable, disable, or change the URL or the event filter."""
    return service.present(session, service.update(session, principal, endpoint_id, data))


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a webhook endpoint and its pending deliveries."""
    service.delete(session, principal, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/test", status_code=202, response_model=DeliveryPublic)
def test_endpoint(endpoint_id: str, principal: PrincipalDep, session: SessionDep) -> DeliveryPublic:
    """Queue a signed `webhook.test` event to this endpoint."""
    delivery = service.send_test(session, principal, endpoint_id)
    endpoint = service.get(session, principal, endpoint_id)
    return next(d for d in service.deliveries(session, endpoint, 50, None) if d.id == delivery.id)


@router.get("/{endpoint_id}/deliveries", response_model=Page[DeliveryPublic])
def list_deliveries(
    endpoint_id: str, principal: PrincipalDep, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[DeliveryPublic]:
    """Newest first: attempts, status codes, errors and the next retry."""
    endpoint = service.get(session, principal, endpoint_id)
    rows = service.deliveries(session, endpoint, limit, decode_cursor(cursor))
    return Page(items=rows[:limit], next_cursor=next_cursor([d.id for d in rows], limit))
