"""Webhooks of the stand-in: every event is recorded, signed (a ``Signature`` JWT, app.ponto.signature) and, when
a target is set, sent once, in order, from one background thread, without retries.

`WebhookMixin` holds the methods; the fields it works on (``webhook_url``, ``webhook_transport``,
``webhook_timeout``, ``signing_key``, ``signing_kid``, ``application_id``, ``clock``, ``webhooks``, ``lock`` and
``_outbox``/``_worker``/``_flight``/``_in_flight``) are `FakePontoState`'s (app.ponto.fake.state)."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

import httpx

from app.ponto.fake.values import iso
from app.ponto.signature import sign_webhook


class WebhookMixin:
    """The webhook methods of `FakePontoState`."""

    def set_webhook_target(self, url: str | None) -> None:
        with self.lock:
            self.webhook_url = url or None

    def signed_webhook(
        self, type: str, attributes: dict[str, Any] | None = None, relationships: dict[str, Any] | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body as Ponto sends it, and its headers (Content-Type, Signature). Relationships map a name
        to an id (type = the name) or to a {"type", "id"} or {"data": ...} object."""
        related: dict[str, Any] = {}
        for name, value in (relationships or {}).items():
            if isinstance(value, dict):
                related[name] = value if "data" in value else {"data": value}
            else:
                related[name] = {"data": {"type": name, "id": str(value)}}
        now = self.clock()
        payload = {
            "data": {
                "type": type,
                "id": str(uuid.uuid4()),
                "attributes": {"createdAt": iso(now), **(attributes or {})},
                "relationships": related,
            }
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = sign_webhook(
            body, self.signing_key, kid=self.signing_kid, audience=self.application_id, iat=int(now.timestamp())
        )
        return body, {"Content-Type": "application/json", "Signature": signature}

    def _emit(self, type: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> None:
        """Record an event (lock held) and, if a target is set, queue its delivery."""
        body, headers = self.signed_webhook(type, attributes, relationships)
        entry = {"type": type, "status": None, "body": json.loads(body), "url": self.webhook_url, "error": None}
        self.webhooks.append(entry)
        if self.webhook_url is None:
            return
        with self._flight:
            self._in_flight += 1
        self._outbox.put((entry, self.webhook_url, body, headers))
        with self._flight:
            if self._worker is None:  # one sender at a time keeps the events in order
                self._worker = threading.Thread(target=self._deliver, name="fake-ponto-webhooks", daemon=True)
                self._worker.start()

    def _deliver(self) -> None:
        """Send queued webhooks one by one; the thread ends after a second without work."""
        while True:
            try:
                entry, url, body, headers = self._outbox.get(timeout=1.0)
            except queue.Empty:
                with self._flight:
                    if self._outbox.empty():  # _emit puts before it looks at _worker: nothing is stranded
                        self._worker = None
                        return
                continue
            status, error = None, None
            try:
                with httpx.Client(transport=self.webhook_transport, timeout=self.webhook_timeout) as client:
                    status = client.post(url, content=body, headers=headers).status_code
            except Exception as exc:  # a target that is down never stops the stand-in
                error = f"{type(exc).__name__}: {exc}"
            with self.lock:
                entry["status"], entry["error"] = status, error
            with self._flight:
                self._in_flight -= 1
                self._flight.notify_all()

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False if some are still in flight after ``timeout``."""
        with self._flight:
            return self._flight.wait_for(lambda: self._in_flight == 0, timeout=timeout)
