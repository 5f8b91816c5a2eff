"""Read a request body up to a limit, refusing more as soon as it is seen (413), not after holding it."""

from __future__ import annotations

from fastapi import Request

from app.core.errors import PayloadTooLarge


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the upload is larger than the limit of {limit} bytes (CODARECON_MAX_UPLOAD_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the upload is larger than the limit of {limit} bytes (CODARECON_MAX_UPLOAD_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)
