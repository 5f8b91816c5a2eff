"""A tiny keep-alive HTTP/1.1 load generator on asyncio streams (lighter than a full client, so the
server, not the client, is what gets measured). Loopback only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str, port: int, make_path: Callable[[int], str], headers: str, deadline: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            path = make_path(i)
            i += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
            await writer.drain()
            status = await _read_response(reader)
            counts[0] += 1
            if status != 200:
                counts[1] += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, make_path: Callable[[int], str], headers: dict[str, str], concurrency: int, seconds: float
) -> LoadResult:
    header_text = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    counts = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_worker(host, port, make_path, header_text, deadline, counts) for _ in range(concurrency)))
    return LoadResult(requests=counts[0], errors=counts[1], seconds=time.perf_counter() - start)


def run_load(
    host: str,
    port: int,
    make_path: Callable[[int], str],
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 32,
    seconds: float = 5.0,
) -> LoadResult:
    return asyncio.run(_run(host, port, make_path, headers or {}, concurrency, seconds))
