"""Run one uvicorn worker per app on 127.0.0.1, the way ``make serve`` and the EC2/ECS units do."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.workloads import REPO_ROOT, child_env

# One worker, the fast loop and parser (as deployed); the app logs requests itself.
UVICORN_FLAGS = ["--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
UVICORN_FLAGS += ["--log-level", "warning"]


@dataclass(frozen=True)
class Server:
    app: str
    port: int
    process: subprocess.Popen[bytes]

    def peak_rss_bytes(self) -> int:
        """VmHWM: the most resident memory the worker has had, read before it stops."""
        return _status_kilobytes(self.process.pid, "VmHWM") * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def uvicorn_server(app: str, env: dict[str, str], startup_timeout: float = 60.0) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += UVICORN_FLAGS
    # stdout is the app's request log: discarded, but still written, as in production.
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=child_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_until_healthy(process, port, startup_timeout)
        yield Server(app, port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {stderr[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"server on port {port} not healthy after {timeout} s")


def _status_kilobytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)
