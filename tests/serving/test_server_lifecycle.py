"""`python -m serving` across its workers and its stop: /metrics summed over 2 real workers, the
per-boot metrics directory, and /ready going 503 while the server drains after SIGTERM."""

from __future__ import annotations

import http.client
import re
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from serving.config import METRICS_DIR_VARIABLE
from serving.server import metrics_directory
from tests.serving.test_server import ROW, LiveServer, live_server, until


def _sample(metrics: str, series: str) -> float:
    """The value of one exact series (name and labels) in a /metrics text, 0 when absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


HEALTH_200 = 'http_requests_total{method="GET",route="/health",status="200"}'


def test_metrics_are_the_sum_over_two_real_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path / "metrics"))  # the server's, not /tmp's
    with live_server(tmp_path / "output.log", workers=2) as live:
        sent = 1  # live_server waited for this one /health to answer 200
        with ThreadPoolExecutor(8) as pool:
            # New connections, 8 at a time, until both workers have served (each counts its first
            # request as a cold start): every batch goes wherever the kernel hands the connections.
            for _ in range(50):
                statuses = list(pool.map(lambda _: live.get("/health")[0], range(16)))
                assert statuses == [200] * 16
                sent += len(statuses)
                if _sample(live.get("/metrics")[1], "process_cold_starts_total") == 2:
                    break

        # A worker counts a request just after answering it: wait for the last ones to be counted.
        until(lambda: True if _sample(live.get("/metrics")[1], HEALTH_200) >= sent else None, seconds=10)
        scrapes = [live.get("/metrics")[1] for _ in range(6)]
        files = sorted(path.name for path in (tmp_path / "metrics").iterdir())

    # Every scrape, whichever worker answered it, counts every worker's requests.
    assert [_sample(text, "process_cold_starts_total") for text in scrapes] == [2] * 6
    assert [_sample(text, HEALTH_200) for text in scrapes] == [sent] * 6
    assert len([name for name in files if name.startswith("counter_")]) == 2  # one file per worker


def test_each_start_empties_the_metrics_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "counter_4242.db").write_bytes(b"a previous boot's counts")
    (tmp_path / "notes.txt").write_text("not prometheus-client's")
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path))

    assert metrics_directory(port=8000) == tmp_path
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_without_a_directory_set_each_port_has_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(METRICS_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first, second = metrics_directory(port=18001), metrics_directory(port=18002)

    assert first != second and first.is_dir() and second.is_dir()
    assert list(first.iterdir()) == []


def _predict(live: LiveServer) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        body = b'{"instances": [' + ROW + b"]}"
        connection.request("POST", "/predict", body, {"content-type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_after_sigterm_ready_is_503_while_requests_are_still_served_then_it_exits(tmp_path: Path) -> None:
    with live_server(tmp_path / "output.log", drain_seconds=3, graceful_shutdown_seconds=2) as live:
        assert live.get("/ready")[0] == 200

        live.process.send_signal(signal.SIGTERM)
        ready = until(lambda: answer if (answer := live.get("/ready"))[0] != 200 else None, seconds=10)

        # Not ready, yet still accepting and serving: a balancer that checks /ready stops routing first.
        assert ready == (503, '{"detail":"draining"}')
        assert _predict(live) == 200
        live.process.wait(timeout=30)

    assert live.process.returncode == -signal.SIGTERM, live.log()[-3000:]
    assert '"msg":"draining"' in live.log()
