"""Start a server process on 127.0.0.1 and wait for its first 200: the one way the bench runs
every server it measures (the app, its floors and peers, each under its own command)."""

from __future__ import annotations

import contextlib
import http.client
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.workloads import child_env
from infra.common.paths import REPO_ROOT
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for

LOGS_DIR = REPO_ROOT / ".cache" / "bench-logs"  # kept after the run, for a server that failed
# What a server may answer while it is still loading its model; any other status but 200 is a fault.
NOT_YET = (503,)
STARTUP_TIMEOUT_S = 180.0
# One worker, the fast loop and parser (as deployed); the app logs requests itself.
UVICORN_FLAGS = ["--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
UVICORN_FLAGS += ["--log-level", "warning"]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes = b""  # none: a GET

    @property
    def method(self) -> str:
        return "POST" if self.body else "GET"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path = REPO_ROOT


@dataclass(frozen=True)
class Running:
    port: int
    process: ManagedProcess

    def peak_rss_bytes(self) -> int:
        """VmHWM, the most resident memory a process has had, of the largest process in the
        server's tree (one uvicorn worker is the process itself; BentoML serves from a child)."""
        assert self.process.process is not None
        return max(_peak_rss_bytes(pid) for pid in _process_tree(self.process.process.pid))


@contextlib.contextmanager
def serve(
    name: str, launch: Callable[[int], Launch], probe: Request, started: float | None = None
) -> Iterator[Running]:
    """Start ``launch(port)`` and yield once ``probe`` got a 200; ``started`` (time.monotonic)
    is when the caller's clock began, for cold starts. The process group is stopped on exit."""
    started = time.monotonic() if started is None else started
    port = free_port()
    command = launch(port)
    log = LOGS_DIR / f"{name}.log"
    log.unlink(missing_ok=True)  # the last start's log only (the app's holds its request log)
    process = ManagedProcess(command.argv, log, child_env(command.env), command.cwd)
    with process:
        _first_success(probe, port, process, started)
        yield Running(port, process)


def uvicorn_launch(app: str, env: dict[str, str]) -> Callable[[int], Launch]:
    """One uvicorn worker serving ``app`` (an import path) from the repo's venv."""

    def launch(port: int) -> Launch:
        argv = [sys.executable, "-m", "uvicorn", app, "--host", LOOPBACK, "--port", str(port)]
        return Launch([*argv, *UVICORN_FLAGS], env)

    return launch


def _first_success(probe: Request, port: int, process: ManagedProcess, started: float) -> None:
    def answered() -> bool | None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
            try:
                connection.request(probe.method, probe.path, probe.body, {"content-type": "application/json"})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return True
                if response.status not in NOT_YET:
                    raise RuntimeError(f"{process.argv}: {response.status} to {probe.path}")
            finally:
                connection.close()
        return None

    what = f"{process.argv}: no 200 (see {process.log_path})"
    wait_for(answered, what, STARTUP_TIMEOUT_S, interval=0.01, started=started, alive=process)


def _process_tree(root: int) -> list[int]:
    """The root and every descendant."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command, which may hold spaces
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending += children.get(pid, [])
    return tree


def _peak_rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0  # the process ended between listing and reading
