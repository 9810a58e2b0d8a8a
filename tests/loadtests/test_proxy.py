"""The local ALB (infra.local.proxy): HAProxy from Debian's packages, for real, in front of the
real server (``python -m serving``) on 127.0.0.1. Its configuration is the ALB's; a target gets
traffic only once its /ready checks pass, and a deregistered one gets none."""

from __future__ import annotations

import http.client
import http.server
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.common.sizing import ALB_IDLE_TIMEOUT_SECONDS
from infra.local.balanced_target import BalancedTarget
from infra.local.commands import VENV_PYTHON, server_command, server_environment
from infra.local.ec2 import ec2_target
from infra.local.process import LOOPBACK, ManagedProcess, free_port
from infra.local.proxy import (
    INSTALL_HINT,
    HealthCheck,
    LoadBalancer,
    haproxy_binary,
    haproxy_config,
    tls_frontend,
)
from infra.local.tls import generate_certificate
from loadtests.analysis import load_samples
from loadtests.capacity import local_capacity
from loadtests.locust_run import LoadSettings, run_locust
from loadtests.tls import CA_BUNDLE_VARIABLE, client_context
from tests.conftest import missing

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def haproxy() -> str:
    found = haproxy_binary()
    if found is None:
        missing(INSTALL_HINT)
    return found


def test_the_configuration_is_the_albs(tmp_path: Path) -> None:
    config = haproxy_config(8080, tmp_path / "admin.sock", HealthCheck())
    idle = f"{ALB_IDLE_TIMEOUT_SECONDS}s"
    for line in (
        f"bind {LOOPBACK}:8080",  # loopback only
        "http-reuse always",  # connections to the targets are pooled and reused
        f"timeout http-keep-alive {idle}",  # the ALB's idle timeout, both sides
        f"timeout client {idle}",
        f"timeout server {idle}",
        "option httpchk GET /ready",
        "http-check expect status 200",
    ):
        assert line in config


def test_haproxy_accepts_the_generated_configuration(haproxy: str, tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(free_port(), tmp_path / "admin.sock", HealthCheck()))
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, **server_environment(port, workers=1)}
    with ManagedProcess(server_command(VENV_PYTHON), tmp_path / "server.log", env=env):
        yield port


def ready_through(balancer: LoadBalancer) -> int:
    connection = http.client.HTTPConnection(LOOPBACK, balancer.port, timeout=10)
    try:
        connection.request("GET", "/ready")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_target_serves_only_between_passing_its_checks_and_its_deregistration(
    haproxy: str, server: int, tmp_path: Path
) -> None:
    with LoadBalancer(tmp_path / "haproxy.log") as balancer:
        balancer.register("app-1", server)
        assert balancer.status("app-1").startswith("DOWN")  # not in service before its checks pass
        balancer.wait_until_up("app-1", timeout=120)
        assert [ready_through(balancer) for _ in range(5)] == [200] * 5

        balancer.deregister("app-1", drain_seconds=5)
        assert balancer.status("app-1") == "ABSENT"
        assert ready_through(balancer) == 503  # no target left: the proxy answers, nobody else
    assert balancer.process is None


# ---------------------------------------------------------------- HTTPS (make demo TLS=1)
def _https_status(url: str) -> int:
    with urllib.request.urlopen(f"{url}/ready", timeout=10, context=client_context()) as response:
        return int(response.status)


@pytest.mark.load
def test_with_a_certificate_the_proxy_terminates_tls_and_clients_trust_that_certificate_only(
    haproxy: str, server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_certificate, other_certificate = (generate_certificate(name, tmp_path) for name in ("run", "other"))
    with LoadBalancer(tmp_path / "haproxy.log", tls=run_certificate) as balancer:
        balancer.register("app-1", server)
        balancer.wait_until_up("app-1")
        assert balancer.tls_url is not None and balancer.tls_url.startswith(f"https://{LOOPBACK}:")
        assert ready_through(balancer) == 200  # the plain listener still answers

        monkeypatch.setenv(CA_BUNDLE_VARIABLE, str(run_certificate.cert))
        assert _https_status(balancer.tls_url) == 200
        # Another certificate, or the system's CAs: the run's self-signed one is refused, never waved through.
        for trusted in (str(other_certificate.cert), ""):
            monkeypatch.setenv(CA_BUNDLE_VARIABLE, trusted)
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                _https_status(balancer.tls_url)

        # Locust verifies too (FastHttpUser's default would not): trusting the other one, every request fails.
        monkeypatch.setenv(CA_BUNDLE_VARIABLE, str(other_certificate.cert))
        settings = LoadSettings(steady_users=1, ramp_seconds=1, hold_seconds=1)
        samples = load_samples(run_locust("steady", balancer.tls_url, tmp_path / "locust", settings))
    assert samples and not any(sample["ok"] for sample in samples)
    assert all("CERTIFICATE_VERIFY_FAILED" in sample["error"] for sample in samples)


def test_the_tls_listener_is_tls_1_2_at_least(tmp_path: Path) -> None:
    certificate = generate_certificate("run", tmp_path)
    config = haproxy_config(8080, tmp_path / "admin.sock", HealthCheck()) + tls_frontend(
        8443, certificate.bundle
    )
    assert f"bind {LOOPBACK}:8443 ssl crt {certificate.bundle} ssl-min-ver TLSv1.2" in config
    assert oct(certificate.key.stat().st_mode & 0o777) == "0o600"


def test_the_step_s_capacity_reader_counts_the_targets_haproxy_has_up(haproxy: str, tmp_path: Path) -> None:
    target = BalancedTarget(ec2_target(tmp_path, workers=1), tmp_path)
    try:
        target.balancer.start()
        reader = local_capacity(target)
        assert reader is not None and reader.unit == "EC2 instances" and "HAProxy" in reader.source
        assert reader.read() == 0  # no target registered yet
        target.start()  # the server, registered, in service once its checks pass
        assert reader.read() == 1
        target.balancer.deregister(target.server_name, drain_seconds=1)
        assert reader.read() == 0
    finally:
        target.stop()


# ---------------------------------------------------------------- a slow /ready under load
class _SlowReady(http.server.BaseHTTPRequestHandler):
    """Answers /ready after 1 s: longer than the 500 ms check interval, well within the ALB's 5 s."""

    def do_GET(self) -> None:
        time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_a_target_whose_ready_answers_slower_than_the_check_interval_stays_in_service(
    haproxy: str, tmp_path: Path
) -> None:
    slow = http.server.ThreadingHTTPServer((LOOPBACK, 0), _SlowReady)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        with LoadBalancer(tmp_path / "haproxy.log") as balancer:
            balancer.register("slow", slow.server_address[1])
            balancer.wait_until_up("slow", timeout=30)
            assert balancer.servers()["slow"]["chkfail"] == "0"  # no slow answer counted as a failure
    finally:
        slow.shutdown()
