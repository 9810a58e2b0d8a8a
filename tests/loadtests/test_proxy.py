"""The local ALB (infra.local.proxy): HAProxy from Debian's packages, for real, in front of the
real server (``python -m serving``) on 127.0.0.1. Its configuration is the ALB's; a target gets
traffic only once its /ready checks pass, and a deregistered one gets none."""

from __future__ import annotations

import http.client
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.common.sizing import ALB_IDLE_TIMEOUT_SECONDS
from infra.local.alb import BalancedTarget
from infra.local.commands import VENV_PYTHON, server_command, server_environment
from infra.local.ec2 import ec2_target
from infra.local.process import LOOPBACK, ManagedProcess, free_port
from infra.local.proxy import INSTALL_HINT, HealthCheck, LoadBalancer, haproxy_binary, haproxy_config
from loadtests.capacity import local_capacity
from serving.config import Settings

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def haproxy() -> str:
    found = haproxy_binary()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"in CI HAProxy must be installed (.ci/run's APT_PACKAGES): {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
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
    # The server must outlast the proxy's idle timeout, or the proxy reuses a closing connection.
    assert Settings.model_fields["keep_alive_seconds"].default > ALB_IDLE_TIMEOUT_SECONDS


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
