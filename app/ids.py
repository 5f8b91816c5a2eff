"""Public identifiers: a short type prefix and a time-ordered random part (sortable, unguessable)."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    # 48-bit millisecond timestamp then 64 random bits, like UUIDv7: index-friendly and keyset-sortable.
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(8).hex()}"
