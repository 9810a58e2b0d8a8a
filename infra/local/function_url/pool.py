"""Lambda execution environments for the local Function URL, managed the way Lambda manages them:

- one request at a time per environment; a warm idle one is reused (the most recently used first);
- when every environment is busy a new one starts: a cold start (a new RIE container or process);
- at the concurrency limit the request is throttled (the Function URL answers 429);
- environments idle for longer than ``idle_timeout`` are retired, and ``retire_all`` forces
  fresh ones (what an update of the function's configuration does on AWS): a busy environment
  takes no new request but finishes the one it runs before it stops, as on Lambda.

Each environment records its init: the time from starting it to its first invoke response,
and the ``Init Duration`` of the RIE's REPORT line. ``platform_reports`` hands back every invoke's
REPORT line as the RIE wrote it (Duration, Billed Duration, Max Memory Used), timed, unparsed:
``loadtests`` reads them with the same parser as CloudWatch's. What an environment is (a container or a
host process under the RIE) is the launcher's business (``environments.py``).

Plain blocking code under one lock, with no event loop of its own: the front door (``app.py``) calls
``invoke`` from one worker thread per request in flight, and ``retire_all`` (which waits for busy
environments to finish) from another.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from infra.local.process import LOOPBACK, ManagedProcess, free_port

INVOKE_PATH = "/2015-03-31/functions/function/invocations"  # the RIE's Invoke API
# The RIE logs the runtime's init as "INIT REPORT(durationMs: X)"; its REPORT line's
# "Init Duration" does not cover the handler's import, so it is only the fallback.
REPORT_PREFIX = b"REPORT RequestId:"
_INIT_DURATION = (
    re.compile(rb"INIT REPORT\(durationMs: ([0-9.]+)\)"),
    re.compile(rb"Init Duration: ([0-9.]+) ms"),
)


class Launcher(Protocol):
    """Starts one execution environment (an RIE serving the handler) listening on 127.0.0.1:port."""

    description: str

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess: ...

    def stop(self, env_id: str, process: ManagedProcess) -> None: ...


@dataclass
class ExecutionEnvironment:
    env_id: str
    port: int
    process: ManagedProcess
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    first_response_seconds: float | None = None
    init_duration_ms: float | None = None
    invocations: int = 0
    busy: bool = True
    last_used: float = field(default_factory=time.monotonic)
    retired_reason: str | None = None
    connection: http.client.HTTPConnection | None = None
    invoked_at: list[float] = field(default_factory=list)  # epoch seconds, one per invoke sent

    def summary(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "pid": self.process.process.pid if self.process.process is not None else None,
            "started_at": self.started_wall,
            "first_response_seconds": self.first_response_seconds,
            "init_duration_ms": self.init_duration_ms,
            "invocations": self.invocations,
            "retired_reason": self.retired_reason,
        }


class Throttled(Exception):
    """Every environment is busy and the concurrency limit is reached."""


class EnvironmentPool:
    def __init__(
        self,
        launcher: Launcher,
        log_dir: Path,
        concurrency_limit: int = 10,
        idle_timeout: float = 300.0,
        init_timeout: float = 60.0,
        invoke_timeout: float = 60.0,
    ) -> None:
        self.launcher = launcher
        self.log_dir = log_dir
        self.concurrency_limit = concurrency_limit
        self.idle_timeout = idle_timeout
        self.init_timeout = init_timeout
        self.invoke_timeout = invoke_timeout
        self.active: list[ExecutionEnvironment] = []
        self.retiring: list[ExecutionEnvironment] = []  # no new requests; stop once the current one ends
        self.retired: list[ExecutionEnvironment] = []
        self.throttles = 0
        # requests run in worker threads, and retire_all waits on their releases
        self._lock = threading.Condition()
        self._serial = 0

    # -- the request path (blocking: the front door calls it from a worker thread)
    def invoke(self, event: dict[str, Any]) -> tuple[Any, bool]:
        """Run one event on a free environment; returns (result, whether it was a cold start)."""
        env, cold = self._acquire()
        try:
            if cold:
                self._launch(env)
            return self._post(env, event, cold), cold
        except BaseException:
            self._retire(env, "failed")
            raise
        finally:
            self._release(env)

    def _acquire(self) -> tuple[ExecutionEnvironment, bool]:
        with self._lock:
            # An environment whose process died while idle is gone: Lambda never routes to it.
            for env in [e for e in self.active if not e.busy and not e.process.running()]:
                self.active.remove(env)
                env.retired_reason = "died"
                self.retired.append(env)
            idle = [env for env in self.active if not env.busy]
            if idle:
                env = max(idle, key=lambda e: e.last_used)
                env.busy = True
                return env, False
            if len(self.active) + len(self.retiring) >= self.concurrency_limit:
                self.throttles += 1
                raise Throttled
            self._serial += 1
            env_id = f"env-{self._serial:03d}"
            port = free_port()
            log_path = self.log_dir / f"{env_id}.log"
            env = ExecutionEnvironment(env_id, port, ManagedProcess([], log_path), log_path)
            self.active.append(env)
            return env, True

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            env.busy = False
            env.last_used = time.monotonic()
            self._lock.notify_all()

    def _launch(self, env: ExecutionEnvironment) -> None:
        env.started_at, env.started_wall = time.monotonic(), time.time()
        env.process = self.launcher.start(env.env_id, env.port, env.log_path)
        self._wait_until_listening(env)

    def _wait_until_listening(self, env: ExecutionEnvironment) -> None:
        """Probe with a GET (the RIE answers 404) before the first invoke: Docker's port proxy
        accepts connections before the RIE inside listens, and an invoke sent then can get lost."""
        deadline = time.monotonic() + self.init_timeout
        while time.monotonic() < deadline and env.process.running():
            probe = http.client.HTTPConnection(LOOPBACK, env.port, timeout=1.0)
            try:
                probe.request("GET", "/")
                probe.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.02)
            finally:
                probe.close()
        raise RuntimeError(f"{env.env_id} did not listen on {env.port}; see {env.log_path}")

    def _post(self, env: ExecutionEnvironment, event: dict[str, Any], first: bool) -> Any:
        if env.connection is None:
            env.connection = http.client.HTTPConnection(LOOPBACK, env.port, timeout=self.invoke_timeout)
        headers = {"content-type": "application/json"}
        env.invoked_at.append(time.time())
        env.connection.request("POST", INVOKE_PATH, body=json.dumps(event).encode(), headers=headers)
        payload = env.connection.getresponse().read()
        env.invocations += 1
        if first:
            env.first_response_seconds = time.monotonic() - env.started_at
            env.init_duration_ms = read_init_duration(env.log_path)
        return json.loads(payload) if payload else None

    # -- lifecycle
    def retire_idle(self) -> int:
        now = time.monotonic()
        with self._lock:
            expired = [e for e in self.active if not e.busy and now - e.last_used > self.idle_timeout]
        for env in expired:
            self._retire(env, "idle timeout")
        return len(expired)

    def retire_all(self, reason: str = "forced") -> None:
        """Stop every environment, so the next requests meet fresh ones (cold starts). None takes
        a new request from now on; a busy one finishes its request first (up to the invoke timeout)."""
        with self._lock:
            environments = list(self.active)
            self.active.clear()
            self.retiring += environments
        deadline = time.monotonic() + self.invoke_timeout
        while environments:  # each one as soon as it is idle; at the deadline, whatever is left
            with self._lock:
                done = [env for env in environments if not env.busy]
                if not done and (remaining := deadline - time.monotonic()) > 0:
                    self._lock.wait(remaining)
                    continue
            for env in done or list(environments):
                self._stop(env, reason)
                environments.remove(env)

    def _retire(self, env: ExecutionEnvironment, reason: str) -> None:
        with self._lock:
            if env not in self.active:
                return  # retired already, or retiring (``retire_all`` stops it)
            self.active.remove(env)
        self._stop(env, reason)

    def _stop(self, env: ExecutionEnvironment, reason: str) -> None:
        with self._lock:
            if env in self.retiring:
                self.retiring.remove(env)
            env.retired_reason = reason
            self.retired.append(env)
        if env.connection is not None:
            env.connection.close()
        self.launcher.stop(env.env_id, env.process)

    def environments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [env.summary() for env in [*self.retired, *self.retiring, *self.active]]

    def platform_reports(self) -> list[dict[str, Any]]:
        """Every invoke's REPORT line with its environment and the time it was sent. An environment
        runs one invoke at a time, so its Nth REPORT line belongs to its Nth invoke."""
        with self._lock:
            environments = [*self.retired, *self.retiring, *self.active]
        reports = []
        for env in environments:
            lines = read_report_lines(env.log_path)
            reports += [
                {"env_id": env.env_id, "t": sent, "line": line}
                for sent, line in zip(env.invoked_at, lines, strict=False)
            ]
        return reports


def read_init_duration(log_path: Path, wait_seconds: float = 1.0) -> float | None:
    """The init duration the RIE logs after the first invoke (the line may land a moment later)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with contextlib.suppress(OSError):
            log = log_path.read_bytes()
            for pattern in _INIT_DURATION:
                if match := pattern.search(log):
                    return float(match.group(1))
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def read_report_lines(log_path: Path) -> list[str]:
    """The RIE's REPORT lines in ``log_path``, in order (none when the log is not there)."""
    try:
        log = log_path.read_bytes()
    except OSError:
        return []
    return [
        line[line.index(REPORT_PREFIX) :].decode(errors="replace").rstrip()
        for line in log.splitlines()
        if REPORT_PREFIX in line
    ]
