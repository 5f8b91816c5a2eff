"""What CodaBox's bank feed and its invoice forwarding share: the client, a company's connection and credentials.

CodaBox does two unrelated things for a company, and each has a module of its own: ``feed.py`` reads its bank
statements in, ``delivery.py`` (with ``ubl.py``) forwards its invoices out. They share only this module and
never import each other; ``service.py`` connects a company and reports on both. Arrows point one way:
service -> feed, delivery -> connection (and client, models); this module imports neither half.
"""

from __future__ import annotations

import httpx
from sqlmodel import Session

from app.codabox.client import CodaboxClient, Credentials
from app.codabox.models import CodaboxConnection
from app.core.config import get_settings
from app.core.crypto import decrypt
from app.core.errors import Conflict

#: Tests point this at the local stand-in's ASGI app; production talks to the network.
transport: httpx.BaseTransport | None = None


def client() -> CodaboxClient:
    settings = get_settings()
    if not settings.codabox_software_company:
        raise Conflict("CodaBox is not configured: set CODARECON_CODABOX_SOFTWARE_COMPANY")
    return CodaboxClient(
        settings.codabox_base_url,
        settings.codabox_software_company,
        timeout=settings.codabox_timeout_seconds,
        transport=transport,
    )


def connection(session: Session, company_id: str) -> CodaboxConnection:
    """The company's connection row, added (not_connected) when it has none yet."""
    found = session.get(CodaboxConnection, company_id)
    if found is None:
        found = CodaboxConnection(company_id=company_id)
        session.add(found)
    return found


def credentials(session: Session, company_id: str) -> Credentials | None:
    """The company's CodaBox credentials while it is connected; None otherwise (a mismatch stops both halves)."""
    conn = session.get(CodaboxConnection, company_id)
    if conn is None or conn.state != "connected" or not conn.username or not conn.password_encrypted:
        return None
    return Credentials(conn.username, decrypt(conn.password_encrypted))
