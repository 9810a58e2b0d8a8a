"""Docker fixtures for the image and user-data tests: an engine, built images, throwaway containers.

Without a reachable engine these tests skip on a laptop, but fail under CI=true: CI's .ci/run
starts dockerd, so a missing engine there is a broken CI, not a reason to skip.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from infra.local.docker import DOCKER, build_image, docker_available

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if docker_available():
        return
    reason = f"no Docker engine answers to `{DOCKER} info`"
    if IN_CI:
        pytest.fail(f"{reason}: in CI the container tests must run (.ci/run starts dockerd)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ecs_image(docker_engine: None) -> str:
    return build_image("ecs")


@pytest.fixture(scope="session")
def lambda_image(docker_engine: None) -> str:
    return build_image("lambda")


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class Container:
    id: str

    def url(self, container_port: int, path: str = "") -> str:
        """``http://127.0.0.1:<published port><path>``: containers are published on loopback only."""
        host_port = docker("port", self.id, f"{container_port}/tcp").stdout.splitlines()[0].rsplit(":", 1)[1]
        return f"http://127.0.0.1:{host_port}{path}"

    def logs(self) -> str:
        result = docker("logs", self.id, check=False)
        return result.stdout + result.stderr

    def exec(
        self, *command: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        flags = [item for key, value in (env or {}).items() for item in ("--env", f"{key}={value}")]
        return docker("exec", *flags, self.id, *command, check=False, timeout=timeout)


StartContainer = Callable[..., Container]


@pytest.fixture(scope="module")
def start_container(docker_engine: None) -> Iterator[StartContainer]:
    """Factory: ``start_container(*docker_run_args) -> Container``; removed when the module ends."""
    started: list[Container] = []

    def start(*run_args: str) -> Container:
        container = Container(docker("run", "--detach", *run_args).stdout.strip())
        started.append(container)
        return container

    yield start
    for container in started:
        docker("rm", "--force", container.id, check=False)


def wait_until_ok(url: str, container: Container, timeout: float = 120) -> httpx.Response:
    """GET ``url`` until it answers 200; on time-out fail with the container's logs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 within {timeout:.0f} s; logs:\n{container.logs()[-4000:]}")
        time.sleep(0.5)
