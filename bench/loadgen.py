"""A small keep-alive HTTP/1.1 load generator, run as its own process (``python -m bench.loadgen``).

asyncio protocols on uvloop, requests pre-encoded, responses framed by Content-Length: it costs
the client a few microseconds per request, so on a 2-core machine one core drives one uvicorn
worker on the other. Loopback only. Prints one JSON line: requests, seconds, requests_per_s, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import cast

_HEADER_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"


class KeepAliveClient(asyncio.Protocol):
    """One connection sending the same request back to back, one in flight at a time."""

    def __init__(self, request: bytes, stats: dict[str, int]) -> None:
        self.request = request
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.running = True
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (response_length := _complete_response_length(self.buffer)) is not None:
            self.stats["ok" if self.buffer.startswith(b"HTTP/1.1 200") else "errors"] += 1
            self.buffer = self.buffer[response_length:]
            if self.running and self.transport is not None:
                self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def _complete_response_length(buffer: bytes) -> int | None:
    header_end = buffer.find(_HEADER_END)
    if header_end < 0:
        return None
    headers = buffer[:header_end].lower()
    at = headers.find(_LENGTH)
    body_length = int(headers[at + len(_LENGTH) : headers.find(b"\r\n", at + 2)].strip()) if at >= 0 else 0
    total = header_end + len(_HEADER_END) + body_length
    return total if len(buffer) >= total else None


def build_request(method: str, path: str, port: int, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nuser-agent: bench\r\n"
    if body:
        head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def run(
    request: bytes, port: int, connections: int, warmup: float, duration: float
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    stats = {"ok": 0, "errors": 0}
    clients = []
    for _ in range(connections):
        _, client = await loop.create_connection(lambda: KeepAliveClient(request, stats), "127.0.0.1", port)
        clients.append(client)
    await asyncio.sleep(warmup)
    ok_before, errors_before, started = stats["ok"], stats["errors"], time.perf_counter()
    await asyncio.sleep(duration)
    ok, errors, seconds = (
        stats["ok"] - ok_before,
        stats["errors"] - errors_before,
        time.perf_counter() - started,
    )
    for client in clients:
        client.running = False
        if client.transport is not None:
            client.transport.close()
    await asyncio.gather(*(client.closed for client in clients))
    return {"requests": ok, "errors": errors, "seconds": seconds, "requests_per_s": ok / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/health")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args(argv)
    body = args.body_file.read_bytes() if args.body_file else b""
    request = build_request(args.method, args.path, args.port, body)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop is slower but still correct
        pass
    result = asyncio.run(run(request, args.port, args.connections, args.warmup, args.duration))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
