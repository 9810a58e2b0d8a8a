"""Processes and probes for everything that runs on this machine: free loopback ports, managed
subprocesses, and the first successful /predict of a fresh server.

The one home of ``free_port``, ``ManagedProcess`` and ``wait_for`` (poll until a first success):
the local stand-ins, the load tests, the bench and the tests all start, stop and wait with these."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from model.artifacts import holdout_path

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class ManagedProcess:
    """A subprocess in its own process group, output to a log file, always stopped on exit."""

    def __init__(
        self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ):
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_seconds: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


@dataclass(frozen=True)
class FirstSuccess:
    """How long a fresh server took to answer /predict, and whether that answer said it was cold."""

    seconds: float
    cold_header: bool


@lru_cache(maxsize=1)
def predict_body() -> bytes:
    """One held-out row as a /predict body: the probe every fresh server must answer."""
    rows = json.loads(holdout_path().read_text())["rows"]
    return json.dumps({"instances": rows[:1]}).encode()


def try_predict(host: str, port: int, timeout: float = 10.0) -> tuple[int, bool]:
    """One POST /predict; returns (status, x-cold-start). Raises OSError when nothing answers."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(
            "POST", "/predict", body=predict_body(), headers={"content-type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("x-cold-start") == "true"
    finally:
        connection.close()


def wait_for(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    interval: float = 0.05,
    started: float | None = None,
    alive: ManagedProcess | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[float, T]:
    """Call ``check`` every ``interval`` until it returns a value (None: not yet). Returns the seconds
    since ``started`` (time.monotonic, default now) and that value; TimeoutError naming ``what``
    after ``timeout``, RuntimeError as soon as ``alive`` has exited."""
    started = time.monotonic() if started is None else started
    while (value := check()) is None:
        if alive is not None and not alive.running():
            raise RuntimeError(f"{alive.argv[0]} exited before answering; see {alive.log_path}")
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        sleep(interval)
    return time.monotonic() - started, value


def wait_for_first_success(
    host: str, port: int, started: float, timeout: float = 120.0, alive: ManagedProcess | None = None
) -> FirstSuccess:
    """Poll POST /predict until it returns 200; time is measured from ``started`` (time.monotonic)."""

    def cold_header() -> bool | None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, cold = try_predict(host, port)
            if status == 200:
                return cold
        return None

    what = f"no successful /predict on {host}:{port}"
    seconds, cold = wait_for(cold_header, what, timeout, started=started, alive=alive)
    return FirstSuccess(seconds, cold)
