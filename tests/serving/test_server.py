"""`python -m serving` at its boundaries: keep-alive, read timeouts, the connection limit,
client disconnects and SIGTERM, each against a real uvicorn process on 127.0.0.1 started with
small APP_* values, plus the orderings that keep the server inside its platforms' timeouts."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.common.paths import REPO_ROOT
from infra.common.sizing import ALB_IDLE_TIMEOUT_SECONDS, ECS_STOP_TIMEOUT_SECONDS
from infra.ec2.bundle import UNIT_FILE
from infra.local.process import free_port
from serving import server
from serving.config import METRICS_DIR_VARIABLE, Settings

ROW = b"[14.2,1.7,2.4,15.6,127,2.8,3.06,0.28,2.29,5.64,1.04,3.92,1065]"


# ---------------------------------------------------------------- the orderings, no server needed
# Their one home; test_stacks, test_proxy and test_user_data check that each platform uses the value
# compared here.
def _unit_timeout_stop_seconds() -> int:
    match = re.search(r"^TimeoutStopSec=(\d+)s?$", UNIT_FILE.read_text(), re.MULTILINE)
    assert match, f"no TimeoutStopSec in {UNIT_FILE}"
    return int(match.group(1))


def test_keep_alive_outlasts_the_load_balancers_idle_timeout() -> None:
    # The balancer must be the side that closes an idle connection, never the server: reordered, the
    # ALB (or HAProxy, the local one) would reuse a connection the server is closing, a 502.
    assert Settings().keep_alive_seconds > ALB_IDLE_TIMEOUT_SECONDS


def test_graceful_shutdown_ends_before_either_platform_kills_the_process() -> None:
    grace = Settings().drain_seconds + Settings().graceful_shutdown_seconds
    assert grace < ECS_STOP_TIMEOUT_SECONDS
    assert grace < _unit_timeout_stop_seconds()


def test_the_server_runs_uvicorn_with_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path))  # main() sets it for 2+ workers: keep it here
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: calls.append({"app": app, **options}))

    server.main()

    settings = Settings()
    assert calls == [
        {
            "app": "serving.app:app",
            "host": settings.host,
            "port": settings.port,
            "workers": settings.workers,
            "http": "serving.http_protocol:HeaderTimeoutProtocol",
            "timeout_keep_alive": settings.keep_alive_seconds,
            "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
            "limit_concurrency": settings.limit_concurrency,
            "access_log": False,
        }
    ]


# ---------------------------------------------------------------- a real server
@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    output: Path  # the process's stdout and stderr: the JSON request log and uvicorn's own

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def get(self, path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def log(self) -> str:
        return self.output.read_text()


@contextlib.contextmanager
def live_server(output: Path, **settings: float) -> Iterator[LiveServer]:
    """`python -m serving` on 127.0.0.1 with APP_* from ``settings``; stopped on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    # One worker: the limits under test are per process.
    env |= {"APP_HOST": "127.0.0.1", "APP_PORT": str(port), "APP_LOG_LEVEL": "INFO", "APP_WORKERS": "1"}
    env |= {f"APP_{name.upper()}": str(value) for name, value in settings.items()}
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving"], cwd=REPO_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    live = LiveServer(process, port, output)
    try:
        _wait_until_healthy(live)
        yield live
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(live: LiveServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert live.process.poll() is None, live.log()[-3000:]
        with contextlib.suppress(OSError):
            if live.get("/health")[0] == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"server not healthy after {timeout} s:\n{live.log()[-3000:]}")


# Every timeout at one second: each test below waits a few seconds at most.
SHORT = 1


@pytest.fixture(scope="module")
def short_timeouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    output = tmp_path_factory.mktemp("server") / "output.log"
    with live_server(
        output, keep_alive_seconds=SHORT, header_timeout_seconds=SHORT, body_timeout_seconds=SHORT
    ) as live:
        yield live


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection (EOF or reset); fails after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    with contextlib.suppress(ConnectionResetError):
        assert sock.recv(1024) == b""
    return time.monotonic() - started


def test_an_idle_keep_alive_connection_is_reused_before_its_timeout_and_closed_after(
    short_timeouts: LiveServer,
) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
    with short_timeouts.connect() as sock:
        sock.sendall(request)
        assert _response(sock)[0] == 200
        time.sleep(SHORT / 3)
        sock.sendall(request)  # the same connection, idle for a third of the keep-alive
        assert _response(sock)[0] == 200

        idle = _closed_within(sock, 5 * SHORT)

    assert idle >= SHORT / 2  # closed by the keep-alive timer, not at once


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    short_timeouts: LiveServer,
) -> None:
    with short_timeouts.connect() as sock:
        assert _closed_within(sock, 5 * SHORT) >= SHORT / 2


def _trickle_until_answered(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
    for _ in range(50):  # one byte every 0.1 s, for 5 s at most
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            return sock.recv(1024)
        sock.sendall(b"a")
    return b""


@pytest.mark.parametrize("earlier_requests", [0, 1], ids=["new connection", "kept-alive connection"])
def test_trickled_headers_get_408_and_the_connection_is_closed(
    short_timeouts: LiveServer, earlier_requests: int
) -> None:
    with short_timeouts.connect() as sock:
        for _ in range(earlier_requests):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            assert _response(sock)[0] == 200

        answer = _trickle_until_answered(sock)

        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in answer
        _closed_within(sock, 5 * SHORT)


def test_a_body_that_does_not_arrive_in_time_gets_408(short_timeouts: LiveServer) -> None:
    with short_timeouts.connect() as sock:
        sock.sendall(_upload_head(1000) + b'{"instances": [')

        status, headers, body = _response(sock)

        assert status == 408
        assert headers["connection"] == "close"
        assert b"request body not received within 1 s" in body
        _closed_within(sock, 5 * SHORT)


def _upload_head(length: int) -> bytes:
    return (
        b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def until(check: Any, seconds: float = 5.0) -> Any:
    """``check()`` every 50 ms until it returns other than None (that), else None after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (result := check()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def test_a_client_that_disconnects_mid_upload_is_a_499_without_traceback_or_5xx(
    short_timeouts: LiveServer,
) -> None:
    with short_timeouts.connect() as sock:
        sock.sendall(_upload_head(1000) + b'{"instances": [' + ROW)
        time.sleep(SHORT / 4)  # the app is waiting for the rest of the body

    def counted_499() -> str | None:
        metrics = short_timeouts.get("/metrics")[1]
        series = 'http_requests_total{method="POST",route="/predict",status="499"} 1.0'
        return metrics if series in metrics else None

    metrics = until(counted_499)
    assert metrics is not None, short_timeouts.get("/metrics")[1]
    assert not re.search(r'^http_request\w*\{[^}]*status="5\d\d"', metrics, re.MULTILINE)
    log = short_timeouts.log()
    assert '"method":"POST","path":"/predict","status":499' in log
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def test_connections_beyond_the_limit_get_503_and_service_returns_when_they_close(tmp_path: Path) -> None:
    limit = 4
    with live_server(tmp_path / "output.log", limit_concurrency=limit, header_timeout_seconds=30) as live:
        held = [live.connect() for _ in range(limit)]
        try:
            time.sleep(0.2)  # the server has accepted them
            assert live.get("/ready") == (503, "Service Unavailable")  # uvicorn's, not the app's
        finally:
            for sock in held:
                sock.close()

        assert until(lambda: 200 if live.get("/ready")[0] == 200 else None) == 200


def test_sigterm_with_an_upload_that_never_finishes_exits_within_the_grace_period(tmp_path: Path) -> None:
    grace = 2
    output = tmp_path / "output.log"
    with live_server(output, graceful_shutdown_seconds=grace, body_timeout_seconds=60) as live:
        with live.connect() as sock:
            sock.sendall(_upload_head(1000) + b'{"instances": [')
            time.sleep(0.3)  # the app is waiting for the rest of the body
            stopping = time.monotonic()
            live.process.send_signal(signal.SIGTERM)

            live.process.wait(timeout=grace + 10)  # well before the body timeout (60 s)

        waited = time.monotonic() - stopping
    assert waited >= grace / 2  # the upload had its grace period
    # uvicorn ends by re-raising the signal it handled: systemd and ECS count that as a clean stop.
    assert live.process.returncode == -signal.SIGTERM, live.log()[-3000:]
    assert "timeout graceful shutdown exceeded" in live.log()
