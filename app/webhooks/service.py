"""Webhook endpoint management (no HTTP here): who may see and change which endpoint, test pings."""

from __future__ import annotations

import base64
import secrets

from sqlmodel import Session, col, func, select

from app.companies.access import company_by_vat, given_vat
from app.companies.models import Company
from app.core.auth import Principal
from app.core.crypto import encrypt
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.ids import new_id
from app.core.outbox_models import Event, Job
from app.core.timeutil import utcnow
from app.webhooks.dispatch import add_delivery
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.network import TargetRefused, check_url
from app.webhooks.schemas import DeliveryPublic, EndpointCreate, EndpointPublic, EndpointUpdate


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _company_id_for(session: Session, principal: Principal, company_vat: str | None) -> str | None:
    if principal.kind == "admin":
        if company_vat is None:
            return None
        company = company_by_vat(session, given_vat(company_vat, "body.company_vat"))
        if company is None:
            raise ValidationFailed(
                f"no company {company_vat}", errors=[{"loc": "body.company_vat", "message": "unknown company"}]
            )
        return company.id
    if company_vat is not None:
        company = company_by_vat(session, given_vat(company_vat, "body.company_vat"))
        if company is None or company.id != principal.company_id:
            raise Forbidden("a company key manages its own company's endpoints only")
    return principal.company_id


def _require_write(principal: Principal) -> None:
    if principal.kind != "admin" and principal.scope != "write":
        raise Forbidden("this API key has scope 'read'; this operation needs 'write'")


def _reachable(url: str) -> str:
    try:
        check_url(url)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), errors=[{"loc": "body.url", "message": str(exc)}]) from None
    return url


def create(session: Session, principal: Principal, data: EndpointCreate) -> tuple[WebhookEndpoint, str]:
    _require_write(principal)
    _reachable(data.url)
    company_id = _company_id_for(session, principal, data.company_vat)
    _check_room(session, company_id)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe"),
        company_id=company_id,
        url=data.url,
        events=data.events,
        secret_encrypted=encrypt(secret),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def visible(
    session: Session, principal: Principal, *, limit: int | None = None, after: str | None = None
) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
    if principal.kind != "admin":
        query = query.where(WebhookEndpoint.company_id == principal.company_id)
    if after:
        query = query.where(col(WebhookEndpoint.id) > after)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


#: Endpoints per company (and for the admin's all-company endpoints): each event fans out to every one of
#: them, so a tenant with hundreds would fill the delivery queue that all tenants share.
MAX_ENDPOINTS = 25


def _check_room(session: Session, company_id: str | None) -> None:
    count = session.exec(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id)
        if company_id is not None
        else select(func.count()).select_from(WebhookEndpoint).where(col(WebhookEndpoint.company_id).is_(None))
    ).one()
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"at most {MAX_ENDPOINTS} webhook endpoints per company; delete one to add another")


def get(session: Session, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or (principal.kind != "admin" and endpoint.company_id != principal.company_id):
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def update(session: Session, principal: Principal, endpoint_id: str, data: EndpointUpdate) -> WebhookEndpoint:
    _require_write(principal)
    endpoint = get(session, principal, endpoint_id)
    if data.url is not None:
        endpoint.url = _reachable(data.url)
    if data.events is not None:
        endpoint.events = data.events
    if data.enabled is not None:
        endpoint.enabled = data.enabled
        if data.enabled:
            endpoint.consecutive_failures, endpoint.disabled_reason = 0, None
    session.add(endpoint)
    return endpoint


def delete(session: Session, principal: Principal, endpoint_id: str) -> None:
    _require_write(principal)
    endpoint = get(session, principal, endpoint_id)
    for delivery in session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)):
        session.delete(delivery)
    session.flush()
    session.delete(endpoint)


def send_test(session: Session, principal: Principal, endpoint_id: str) -> WebhookDelivery:
    _require_write(principal)
    endpoint = get(session, principal, endpoint_id)
    company_id = endpoint.company_id or principal.company_id or _any_company(session)
    event = Event(
        id=new_id("evt"),
        company_id=company_id,
        type="webhook.test",
        subject_id=endpoint.id,
        payload={"endpoint_id": endpoint.id, "message": "test event from codarecon"},
    )
    session.add(event)
    session.flush()
    event.dispatched_at = utcnow()  # addressed to this endpoint only
    session.add(event)
    return add_delivery(session, endpoint, event)


def _any_company(session: Session) -> str:
    company_id = session.exec(select(Company.id)).first()
    if company_id is None:
        raise ValidationFailed("register a company before sending test events")
    return company_id


def present(session: Session, endpoint: WebhookEndpoint) -> EndpointPublic:
    vat = session.get(Company, endpoint.company_id).vat if endpoint.company_id else None  # type: ignore[union-attr]
    return EndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        company_vat=vat,
        enabled=endpoint.enabled,
        consecutive_failures=endpoint.consecutive_failures,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def deliveries(session: Session, endpoint: WebhookEndpoint, limit: int, after: str | None) -> list[DeliveryPublic]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if after:
        query = query.where(col(WebhookDelivery.id) < after)
    rows = list(session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit + 1)).all())
    keys = [f"whd:{d.id}" for d in rows if d.status == "pending"]
    next_runs = (
        dict(
            session.exec(
                select(Job.dedupe_key, Job.run_at).where(col(Job.dedupe_key).in_(keys), Job.status == "pending")
            ).all()
        )
        if keys
        else {}
    )
    return [
        DeliveryPublic(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            subject_id=d.subject_id,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            next_attempt_at=next_runs.get(f"whd:{d.id}"),
            delivered_at=d.delivered_at,
            history=d.history,
            created_at=d.created_at,
        )
        for d in rows
    ]
