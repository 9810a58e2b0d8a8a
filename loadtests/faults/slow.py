"""Slow clients: a few connections that trickle their headers or their body, one byte at a time.

Each is bounded in time (``limit_seconds``) and goes to 127.0.0.1 only. The server is expected to
cut them off (serving.config.Settings: header and body read timeouts, 408 or a close); what each
connection saw is recorded: how long it stayed open, whether the server closed it, its answer.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from infra.local.process import LOOPBACK

KINDS = ("headers", "body")


@dataclass(frozen=True)
class SlowConnection:
    kind: str
    seconds_open: float
    closed_by_server: bool
    answer: str  # the status line the server sent, if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _opening(kind: str, port: int) -> bytes:
    start = f"POST /predict HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\ncontent-type: application/json\r\n"
    if kind == "headers":
        return (start + "x-slow: ").encode()  # the header block never ends
    return (start + "content-length: 100000\r\n\r\n").encode()  # the body never completes


def trickle(kind: str, port: int, interval: float = 0.5, limit_seconds: float = 30.0) -> SlowConnection:
    """One slow connection: a byte every ``interval`` s until the server closes it or time is up."""
    started = time.monotonic()
    answer = b""
    with socket.create_connection((LOOPBACK, port), timeout=interval) as connection:
        try:
            connection.sendall(_opening(kind, port))
            while time.monotonic() - started < limit_seconds:
                try:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return _seen(kind, started, True, answer)
                    answer += chunk
                    continue  # it answered: read on until it closes
                except TimeoutError:
                    pass
                if not answer:
                    connection.sendall(b"a" if kind == "headers" else b" ")
        except (ConnectionResetError, BrokenPipeError):
            return _seen(kind, started, True, answer)
    return _seen(kind, started, False, answer)


def _seen(kind: str, started: float, closed: bool, answer: bytes) -> SlowConnection:
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return SlowConnection(kind, round(time.monotonic() - started, 2), closed, status_line)


class SlowClients:
    """``count`` slow connections (half trickle headers, half a body) in threads, all bounded."""

    def __init__(self, port: int, count: int = 4, limit_seconds: float = 30.0) -> None:
        if not 1 <= count <= 8:
            raise ValueError("between 1 and 8 slow connections")
        self.results: list[SlowConnection] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(KINDS[i % 2], port, limit_seconds), daemon=True)
            for i in range(count)
        ]
        self.limit_seconds = limit_seconds

    def _run(self, kind: str, port: int, limit_seconds: float) -> None:
        try:
            result = trickle(kind, port, limit_seconds=limit_seconds)
        except OSError as error:  # refused outright: the server did not let it in
            result = SlowConnection(kind, 0.0, True, f"refused: {error}")
        with self._lock:
            self.results.append(result)

    def __enter__(self) -> SlowClients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.join()

    def join(self) -> list[SlowConnection]:
        for thread in self._threads:
            thread.join(self.limit_seconds + 10)
        return self.results
