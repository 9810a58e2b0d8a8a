"""A small keep-alive HTTP/1.1 load generator, run as its own process (``python -m bench.loadgen``).

asyncio protocols on uvloop, requests pre-encoded, responses framed by Content-Length: it costs
the client a few microseconds per request, so on a 2-core machine one core drives one uvicorn
worker on the other. Loopback only. Two modes, one JSON line each:

* closed loop (default): ``--connections`` each send the next request as soon as the last is
  answered; prints requests, seconds, requests_per_s, errors.
* open loop (``--rate``): requests are due at a fixed rate whatever the server does, sent on the
  first idle connection; each latency runs from the moment the request was due (so a server that
  falls behind is charged for the queue, not spared it); prints p50_ms, p99_ms, requests, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

from bench.servers import Request
from bench.workloads import child_env
from infra.common.paths import REPO_ROOT

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


def build_request(
    method: str, path: str, port: int, body: bytes, content_type: str = "application/json"
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nuser-agent: bench\r\n"
    if body:
        head += f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
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


class PacedClient(KeepAliveClient):
    """One connection taking due times from a shared queue; records each latency from its due time."""

    def __init__(self, request: bytes, stats: dict[str, int], due: asyncio.Queue[float]) -> None:
        super().__init__(request, stats)
        self.due = due
        self.latencies: list[tuple[float, float]] = []  # (due time, seconds from due to answer)
        self.current = 0.0
        self.idle = asyncio.Event()
        self.idle.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, due: float) -> None:
        self.idle.clear()
        self.current = due
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if (response_length := _complete_response_length(self.buffer)) is not None:
            self.stats["ok" if self.buffer.startswith(b"HTTP/1.1 200") else "errors"] += 1
            self.latencies.append((self.current, time.perf_counter() - self.current))
            self.buffer = self.buffer[response_length:]
            self.idle.set()


async def run_paced(
    request: bytes, port: int, connections: int, rate: float, warmup: float, duration: float
) -> dict[str, float]:
    """Requests due every 1/rate seconds; each goes out on the first idle connection."""
    loop = asyncio.get_running_loop()
    stats = {"ok": 0, "errors": 0}
    due: asyncio.Queue[float] = asyncio.Queue()
    clients: list[PacedClient] = []
    for _ in range(connections):
        _, client = await loop.create_connection(lambda: PacedClient(request, stats, due), "127.0.0.1", port)
        clients.append(client)

    async def dispatch(client: PacedClient) -> None:
        while (when := await due.get()) >= 0:
            client.send(when)
            await client.idle.wait()

    dispatchers = [asyncio.create_task(dispatch(client)) for client in clients]
    started = time.perf_counter()
    total = int(rate * (warmup + duration))
    for index in range(total):
        when = started + index / rate
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        due.put_nowait(when)
    for _ in clients:
        due.put_nowait(-1.0)
    await asyncio.wait_for(asyncio.gather(*dispatchers), timeout=duration + 60)
    measured_from = started + warmup
    latencies = sorted(
        seconds for client in clients for when, seconds in client.latencies if when >= measured_from
    )
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    await asyncio.gather(*(client.closed for client in clients))
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "errors": stats["errors"],
        "offered_per_s": rate,
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
    }


def drive(
    port: int,
    request: Request,
    connections: int,
    warmup: float,
    duration: float,
    rate: float | None = None,
) -> dict[str, float]:
    """Run the load generator in its own process against one server; fail on any non-200."""
    with tempfile.NamedTemporaryFile(prefix="bench-body-") as body:
        body.write(request.body)
        body.flush()
        command = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--method", request.method]
        command += ["--path", request.path, "--connections", str(connections)]
        command += ["--warmup", str(warmup), "--duration", str(duration)]
        command += ["--body-file", body.name] if request.body else []
        command += ["--rate", str(rate)] if rate else []
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=child_env(), capture_output=True, check=True, timeout=duration + 120
        )
    result: dict[str, float] = json.loads(completed.stdout)
    if result["errors"] or not result["requests"]:
        raise RuntimeError(f"port {port} {request.method} {request.path}: {result}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/health")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--rate", type=float, help="open loop: requests due per second (latency mode)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args(argv)
    body = args.body_file.read_bytes() if args.body_file else b""
    request = build_request(args.method, args.path, args.port, body, args.content_type)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop is slower but still correct
        pass
    if args.rate:
        paced = run_paced(request, args.port, args.connections, args.rate, args.warmup, args.duration)
        result = asyncio.run(paced)
    else:
        result = asyncio.run(run(request, args.port, args.connections, args.warmup, args.duration))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
