"""POST /v1/ubl/validate: any UBL document checked against the official EN 16931 and Peppol BIS 3 rules."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.auth import PrincipalDep
from app.core.bodies import read_limited_body
from app.core.config import get_settings
from app.core.errors import UnsupportedMediaType
from app.core.request_routes import CommittingRoute
from app.peppol import work as xml_work
from app.peppol.schemas import ValidationResult

router = APIRouter(route_class=CommittingRoute, prefix="/v1/ubl", tags=["peppol"])

XML_TYPES = ("application/xml", "text/xml")


@router.post(
    "/validate",
    response_model=ValidationResult,
    openapi_extra={"requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def validate(request: Request, principal: PrincipalDep) -> ValidationResult:
    """Check a UBL Invoice or CreditNote before sending it: every failed rule, with its official id.

    EN 16931 and Peppol BIS Billing 3.0 rules, as published by CEN and OpenPEPPOL. Any key may call this.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in XML_TYPES:
        raise UnsupportedMediaType(f"send the UBL document as application/xml, not {content_type or 'nothing'}")
    # Up to the UBL cap (app/peppol/work.py); a larger document is a 413 before it is read.
    data = await read_limited_body(request, min(get_settings().max_upload_bytes, xml_work.MAX_UBL_BYTES))
    report = await xml_work.check_ubl(data)  # in a worker process: the event loop and its threads stay free
    return ValidationResult.model_validate(report.as_dict())
