"""Public identifiers: a short type prefix and a time-ordered random part (sortable, unguessable)."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids from one read of the system's randomness (a system call per id was a noticeable part of
    registering a thousand invoices)."""
    # 48-bit millisecond timestamp then 64 random bits, like UUIDv7: index-friendly and keyset-sortable.
    stamp = f"{prefix}_{int(time.time() * 1000):012x}"
    random = os.urandom(8 * count).hex()
    return [stamp + random[16 * i : 16 * i + 16] for i in range(count)]
