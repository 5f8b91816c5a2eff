"""Ids: prefixed, time-ordered, never repeated — across refills of the read-ahead randomness, and in a forked
child (which must not hand out the parent's read-ahead parts again)."""

from __future__ import annotations

import os
import re

from app.core import ids


def test_ids_are_prefixed_and_distinct_across_refills():
    made = [ids.new_id("evt") for _ in range(3 * ids._BATCH + 7)]
    assert all(re.fullmatch(r"evt_[0-9a-f]{12}[0-9a-f]{16}", i) for i in made)
    assert len(set(made)) == len(made)
    assert len(set(ids.new_ids("tx", 100)) | set(made)) == len(made) + 100


def test_a_forked_child_does_not_repeat_the_parents_read_ahead_parts():
    ids.new_id("x")  # the read-ahead is filled
    ahead = list(ids._random_parts)
    assert ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, " ".join(ids.new_id("x")[-16:] for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_parts = pipe.read().split()
    os.waitpid(pid, 0)
    assert len(child_parts) == 20
    assert not set(child_parts) & set(ahead)
