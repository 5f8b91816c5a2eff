"""Freed heap goes back to the system after a large request (glibc keeps it otherwise): a process that parsed
a large document does not stay at its peak."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import gc
from app.core.gc_tuning import give_memory_back

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

start = rss()
# Blocks above pymalloc's small-object limit come from glibc; a few survivors scattered among them (as the
# objects a request keeps) stop glibc from returning the free space on its own.
rows = [bytearray(1000 + n % 7) for n in range(200_000)]
survivors = rows[::100]
peak = rss()
del rows
gc.collect()
kept = rss()
give_memory_back()
print(start, peak, kept, rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim; /proc")
def test_memory_freed_after_a_large_request_goes_back_to_the_system():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True)
    start, peak, kept, after = map(int, done.stdout.split())
    assert peak - start > 100  # the allocation was large
    assert after - start < (kept - start) / 2, (start, peak, kept, after)  # most of what was kept is returned


def test_a_large_statement_upload_hands_its_memory_back(client, monkeypatch):
    from app.statements import router
    from tests.coda_builders import payment_file
    from tests.helpers import IBAN, VAT, make_company, make_key

    make_company(client, accounts=[IBAN])
    key = make_key(client)
    calls: list[int] = []
    monkeypatch.setattr(router, "give_memory_back", lambda: calls.append(1))
    monkeypatch.setattr(router, "LARGE_UPLOAD_BYTES", 1000)
    small = payment_file(("1.00", None))
    assert len(small) < 1000
    assert client.post(f"/v1/companies/{VAT}/statements", content=small, headers=key).status_code == 201
    assert calls == []
    large = payment_file(*[(f"{n}.00", None) for n in range(1, 20)], sequence=2)
    assert len(large) >= 1000
    assert client.post(f"/v1/companies/{VAT}/statements", content=large, headers=key).status_code == 201
    assert calls == [1]
