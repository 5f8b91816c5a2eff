"""The upload as a statement source: a file read from a request (raw body or multipart ``file``), within the limit."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from app.core.asgi import replay_body
from app.core.bodies import read_limited_body
from app.core.config import get_settings
from app.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.statements.sources import ReceivedFile, uploaded

#: camt.053 statements (ISO 20022 XML); the content decides the format either way.
XML_TYPES = ("application/xml", "text/xml")


async def read_statement_upload(request: Request) -> ReceivedFile:
    limit = get_settings().max_upload_bytes
    content_type = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
    if content_type.startswith("multipart/form-data"):
        # Multipart framing adds a little; the file part itself is held to the limit below.
        body = await read_limited_body(request, limit + 64 * 1024)
        replay = Request(request.scope, receive=replay_body(body))
        form = await replay.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "send the CODA file in the multipart field 'file'",
                errors=[{"loc": "body.file", "message": "missing"}],
            )
        data = await upload.read()
        if len(data) > limit:
            raise PayloadTooLarge(f"the upload is larger than the limit of {limit} bytes (CODARECON_MAX_UPLOAD_BYTES)")
    elif content_type in ("application/octet-stream", "text/plain", "application/x-coda", "", *XML_TYPES):
        data = await read_limited_body(request, limit)
    else:
        raise UnsupportedMediaType(
            "send the CODA or camt.053 file as application/octet-stream, text/plain, application/xml or "
            f"multipart/form-data, not {content_type}"
        )
    if not data.strip():
        raise ValidationFailed("the CODA file is empty", errors=[{"line": 1, "message": "empty file"}])
    return uploaded(data)
