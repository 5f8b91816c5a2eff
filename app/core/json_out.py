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


def canonical_json(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))`` (ASCII, escapes included), byte for byte:
    what invoice content hashes are taken of, so stored hashes keep matching re-sent invoices.

    orjson escapes quotes, backslashes and control characters as the standard library does, but writes DEL and
    every non-ASCII character as is where the standard library writes ``\\uXXXX``: its output is kept when it
    holds neither; anything else goes through the standard library itself (tests/unit/test_json_out.py holds
    the two equal).
    """
    try:
        fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        fast = None
    if fast is not None and fast.isascii() and b"\x7f" not in fast:
        return fast
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
