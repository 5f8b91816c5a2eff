"""A local stand-in for CodaBox API v2 (the routes type-3 integrators use), with fault injection, so the whole
flow can be tried and tested offline: `codarecon fake-codabox`, then point CODARECON_CODABOX_BASE_URL at it.

Its answers take the shapes public clients of the real API show (docs/codabox.md): integer pod and feed ids,
``allowed_formats`` per document model, ``feed_clients`` with a name and codes but no VAT number, a feed of
``type: "download"`` whose entries may be of any document model. The sales-invoice upload is not public: its
parts and answers here are our assumptions.

Control routes under /_fake/: seed CODA files for a company, read the token "e-mailed" to it, read what was
uploaded, and inject faults: the next N calls to a route answer 503, answer slowly (time-out), or do their
work and then lose the response (a 504 after the fact).
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

FAULT_KINDS = ("503", "timeout", "lost", "truncate")  # truncate: a download cut off half-way
ROUTES = ("token", "credentials", "pod_client", "feed", "download", "commit", "upload")
_ID = re.compile(rb"<cbc:ID>([^<]+)</cbc:ID>")


@dataclass
class FakeClient:
    vat: str  # the stand-in's own key for a client; CodaBox's answers never show it
    username: str
    password: str
    feed_id: int
    name: str = ""  # client_name, as the accountant knows the client
    code: str = field(default_factory=lambda: str(uuid.uuid4()))  # client_code
    entries: list[dict[str, Any]] = field(default_factory=list)  # {feed_index, model, coda, xml, metadata}
    offset: str | None = None  # the last committed feed_index
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # document id -> upload
    #: Every upload that reached it, kept or not ({"id", "status"}): "exactly once" is judged on what was
    #: sent, not on what the stand-in kept (it refuses duplicates by itself).
    attempts: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # every feed_index downloaded, in order


@dataclass
class FakeCodaboxState:
    software_company: str = "00000000-0000-4000-8000-000000000000"
    sales_invoice_path: str = "sales-invoices/"
    fetch_delay: int = 7200
    slow_seconds: float = 3.0
    clients: dict[str, FakeClient] = field(default_factory=dict)  # by VAT
    next_id: int = 276  # pod and feed ids are integers
    tokens: dict[str, str] = field(default_factory=dict)  # token -> VAT (single use)
    last_token: dict[str, str] = field(default_factory=dict)  # VAT -> token, "e-mailed"
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, vat: str) -> FakeClient:
        if vat not in self.clients:
            self.next_id += 1
            self.clients[vat] = FakeClient(
                vat=vat,
                username=f"cb-{vat.lower()}",
                password=secrets.token_urlsafe(16),
                feed_id=self.next_id,
                name=f"Company {vat}",
            )
        return self.clients[vat]

    def add_coda(
        self, vat: str, coda: bytes, metadata: dict[str, Any] | None = None, *, xml: bytes | None = None
    ) -> str:
        """A bank file in the feed: its CODA, and (as CodaBox offers for XML-enabled clients) its XML form."""
        return self.add_document(vat, "coda", coda, metadata, xml=xml)

    def add_document(
        self,
        vat: str,
        model: str,
        content: bytes,
        metadata: dict[str, Any] | None = None,
        *,
        xml: bytes | None = None,
    ) -> str:
        """A feed entry of any document model (coda, soda, expense, purchase_invoice, sales_invoice, ...)."""
        with self.lock:
            index = str(uuid.uuid4())
            entry = {"feed_index": index, "model": model, "coda": content, "xml": xml, "metadata": metadata or {}}
            self.client(vat).entries.append(entry)
            return index

    def inject(self, route: str, kind: str, count: int = 1) -> None:
        with self.lock:
            self.faults[route].extend([kind] * count)

    def next_fault(self, route: str) -> str | None:
        with self.lock:
            self.calls[route] += 1
            queue = self.faults.get(route)
            return queue.pop(0) if queue else None


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_fake_codabox_app(state: FakeCodaboxState | None = None) -> FastAPI:
    state = state or FakeCodaboxState()
    app = FastAPI(title="fake CodaBox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = state

    def guard(request: Request, route: str) -> tuple[str | None, Response | None]:
        """The fault to apply after the work (for 'lost'), or a response to send instead of doing it."""
        if request.headers.get("x-software-company") != state.software_company:
            return None, _error(403, "Unknown software company")
        fault = state.next_fault(route)
        if fault == "503":
            return None, _error(503, "Service temporarily unavailable")
        if fault == "400":  # a refusal that retrying will not change
            return None, _error(400, "Invalid document: unknown buyer")
        if fault == "timeout":
            time.sleep(state.slow_seconds)
        return fault, None

    def authenticated(request: Request) -> FakeClient | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        for client in state.clients.values():
            if client.username == username and secrets.compare_digest(client.password, password):
                return client
        return None

    def done(fault: str | None, response: Response) -> Response:
        return _error(504, "Gateway timeout") if fault == "lost" else response

    @app.post("/v2/request-access-token/invoicing-software/")
    async def request_token(request: Request) -> Response:
        fault, early = guard(request, "token")
        if early:
            return early
        body = await request.json()
        vat = str(body.get("vat", ""))
        if not re.fullmatch(r"BE0\d{9}", vat):
            return _error(400, "Invalid VAT number")
        with state.lock:
            state.client(vat)
            token = secrets.token_urlsafe(12)
            state.tokens[token] = vat
            state.last_token[vat] = token
        return done(fault, JSONResponse({}, status_code=201))

    @app.get("/v2/get-credentials/{token}/")
    async def get_credentials(token: str, request: Request) -> Response:
        fault, early = guard(request, "credentials")
        if early:
            return early
        with state.lock:
            vat = state.tokens.pop(token, None)  # single use
        if vat is None:
            return _error(404, "Invalid or already used token")
        client = state.clients[vat]
        return done(fault, JSONResponse({"username": client.username, "password": client.password}))

    @app.get("/v2/delivery/pod-client/")
    async def pod_client(request: Request) -> Response:
        fault, early = guard(request, "pod_client")
        if early:
            return early
        client = authenticated(request)
        if client is None:
            return _error(401, "Invalid credentials")
        coda_formats = ["cod", "pdf", "xml"] if any(e.get("xml") for e in client.entries) else ["cod", "pdf"]
        body = {
            "id": client.feed_id + 1000,
            "fetch_delay": state.fetch_delay,
            "allowed_formats": {
                "coda": coda_formats,
                "soda": ["pdf", "xml"],
                "expense": ["pdf", "xml"],
                "purchase_invoice": ["pdf", "xml"],
                "sales_invoice": ["pdf", "xml"],
            },
            "feed_clients": [
                {
                    "id": client.feed_id,
                    "client_id": str(uuid.uuid5(uuid.NAMESPACE_OID, client.vat)),
                    "client_name": client.name,
                    "client_code": client.code,
                    "fiduciary_id": str(uuid.uuid5(uuid.NAMESPACE_OID, "fiduciary")),
                    "target_root_state": "default",
                    "delivery_config": None,
                }
            ],
        }
        return done(fault, JSONResponse(body))

    def _entries_after(client: FakeClient) -> list[dict[str, Any]]:
        indexes = [e["feed_index"] for e in client.entries]
        start = indexes.index(client.offset) + 1 if client.offset in indexes else 0
        return client.entries[start:]

    def _feed_body(client: FakeClient, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": client.feed_id,
            "type": "download",
            "feed_entries": [
                {"feed_index": e["feed_index"], "document_model": e["model"], "metadata": e["metadata"]}
                for e in entries
            ],
        }

    @app.get("/v2/delivery/feed/{feed_id}/")
    async def feed(feed_id: str, request: Request) -> Response:
        fault, early = guard(request, "feed")
        if early:
            return early
        client = authenticated(request)
        if client is None or str(client.feed_id) != feed_id:
            return _error(401 if client is None else 404, "Invalid credentials" if client is None else "Unknown feed")
        return done(fault, JSONResponse(_feed_body(client, _entries_after(client))))

    @app.put("/v2/delivery/feed/{feed_id}/")
    async def commit(feed_id: str, request: Request) -> Response:
        fault, early = guard(request, "commit")
        if early:
            return early
        client = authenticated(request)
        if client is None or str(client.feed_id) != feed_id:
            return _error(401 if client is None else 404, "Invalid credentials" if client is None else "Unknown feed")
        offset = (await request.json()).get("feed_offset")
        if offset not in [e["feed_index"] for e in client.entries]:
            return _error(400, "Unknown feed_offset")
        with state.lock:
            client.offset = offset
        return done(fault, JSONResponse({"feed_offset": offset}))

    def _download(request: Request, feed_index: str, fmt: str = "cod") -> Response:
        client = authenticated(request)
        if client is None:
            return _error(401, "Invalid credentials")
        entry = next((e for e in client.entries if e["feed_index"] == feed_index), None)
        if entry is None:
            return _error(404, "Unknown document")
        content = entry["coda"] if fmt == "cod" else entry.get("xml")
        if content is None:
            return _error(404, f"No {fmt} document for this entry")
        with state.lock:
            client.downloads.append(feed_index)
        return Response(content, media_type="application/xml" if fmt == "xml" else "application/octet-stream")

    @app.get("/v2/delivery/download/{feed_index}/{fmt}/")
    async def download(feed_index: str, fmt: str, request: Request) -> Response:
        fault, early = guard(request, "download")
        if early:
            return early
        if fmt not in ("cod", "xml"):
            return _error(400, "Unsupported format")
        response = _download(request, feed_index, fmt)
        if fault == "truncate" and response.status_code == 200:
            return Response(response.body[: len(response.body) // 2], media_type="application/octet-stream")
        return done(fault, response)

    @app.get("/v2/delivery/redownload-feed/{feed_id}/")
    async def redownload_feed(feed_id: str, request: Request) -> Response:
        client = authenticated(request)
        if client is None or str(client.feed_id) != feed_id:
            return _error(401, "Invalid credentials")
        return JSONResponse(_feed_body(client, client.entries))

    @app.get("/v2/delivery/redownload/{feed_index}/{fmt}/")
    async def redownload(feed_index: str, fmt: str, request: Request) -> Response:
        return _download(request, feed_index)

    @app.post("/v2/{path:path}")
    async def upload(path: str, request: Request) -> Response:
        if path.strip("/") + "/" != state.sales_invoice_path.strip("/") + "/":
            return _error(404, "Not found")
        fault, early = guard(request, "upload")
        if early:
            return early
        client = authenticated(request)
        if client is None:
            return _error(401, "Invalid credentials")
        form = await request.form()
        document = form.get("file")
        if document is None or not hasattr(document, "read"):
            return _error(400, "Missing file")
        xml = await document.read()
        match = _ID.search(xml)
        if not xml.lstrip().startswith(b"<?xml") or match is None:
            return _error(400, "Not a UBL document")
        key = match.group(1).decode()
        pdf = form.get("pdf")
        pdf_bytes = await pdf.read() if pdf is not None and hasattr(pdf, "read") else None
        with state.lock:
            duplicate = key in client.uploads
            client.attempts.append({"id": key, "status": 409 if duplicate else 201, "fault": fault})
            if duplicate:
                return _error(409, f"Duplicate: document {key} was already uploaded")
            client.uploads[key] = {
                "xml": xml,
                "filename": getattr(document, "filename", None),
                "pdf": pdf_bytes,
                "pdf_filename": getattr(pdf, "filename", None),
                "has_pdf": pdf is not None,
                "at": time.time(),
            }
        return done(fault, JSONResponse({"id": key, "status": "received"}, status_code=201))

    # -- control routes ------------------------------------------------------------------------------

    @app.post("/_fake/clients/{vat}/coda")
    async def seed_coda(vat: str, request: Request) -> Response:
        return JSONResponse({"feed_index": state.add_coda(vat, await request.body())}, status_code=201)

    @app.post("/_fake/clients/{vat}/documents/{model}")
    async def seed_document(vat: str, model: str, request: Request) -> Response:
        """An entry of another document model (soda, expense, purchase_invoice, ...)."""
        return JSONResponse({"feed_index": state.add_document(vat, model, await request.body())}, status_code=201)

    @app.put("/_fake/clients/{vat}")
    async def rename_client(vat: str, request: Request) -> Response:
        """Set client_name, as an accountant may have named the client."""
        with state.lock:
            state.client(vat).name = str((await request.json()).get("client_name", ""))
        return JSONResponse({"client_name": state.client(vat).name})

    @app.get("/_fake/clients/{vat}")
    async def client_state(vat: str) -> Response:
        client = state.clients.get(vat)
        if client is None:
            return _error(404, "Unknown client")
        return JSONResponse(
            {
                "offset": client.offset,
                "entries": [e["feed_index"] for e in client.entries],
                "uploads": sorted(client.uploads),
                "token": state.last_token.get(vat),
            }
        )

    @app.post("/_fake/faults")
    async def faults(request: Request) -> Response:
        body = await request.json()
        if body.get("route") not in ROUTES or body.get("kind") not in FAULT_KINDS:
            return _error(400, f"route in {ROUTES}, kind in {FAULT_KINDS}")
        state.inject(body["route"], body["kind"], int(body.get("count", 1)))
        return JSONResponse({"ok": True})

    return app


def serve_fake(
    host: str = "127.0.0.1", port: int = 8765, software_company: str | None = None, fetch_delay: int = 7200
) -> None:
    import uvicorn

    state = FakeCodaboxState(fetch_delay=fetch_delay)
    if software_company:
        state.software_company = software_company
    uvicorn.run(create_fake_codabox_app(state), host=host, port=port, log_level="warning")
