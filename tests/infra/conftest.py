"""Docker fixtures for the image and user-data tests: an engine, built images, throwaway containers,
and a scan of an image's layers for the build machine's pip config.

Without a reachable engine these tests skip on a laptop, but fail under CI=true (tests.conftest.missing).
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import httpx
import numpy as np
import pytest

from infra.local.docker import (
    CA_BUNDLE,
    DOCKER,
    PIP_BUILD_CA,
    PIP_BUILD_CONF,
    base_image,
    build_image,
    docker_available,
    pip_build_config,
)
from model.artifacts import holdout_path
from tests.conftest import missing


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not docker_available():
        missing(f"no Docker engine answers to `{DOCKER} info`")


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
    for container in started:  # --volumes: the ecs image declares VOLUME /tmp (an anonymous volume per run)
        docker("rm", "--force", "--volumes", container.id, check=False)


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


# ---------------------------------------------------------------- requests the images answer
def holdout_rows() -> list[list[float]]:
    rows: list[list[float]] = json.loads(holdout_path().read_text())["rows"]
    return rows


def predict_body(rows: Any) -> bytes:
    return json.dumps({"instances": rows}).encode()


def expected_labels(rows: list[list[float]]) -> list[str]:
    """What the model predicts in this process: the image must serve the same artifact."""
    from serving.model import load_model

    return load_model().predict(np.asarray(rows, dtype=np.float32)).labels


# ---------------------------------------------------------------- the build machine's pip config
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_BASE_CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"


@dataclass
class LayerScan:
    """What ``scan_layers`` saw: every layer of an image, every file in it, and any build config found."""

    layers: int = 0
    paths: set[str] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)


def build_config_needles() -> dict[str, bytes]:
    """The bytes that must not reach a shipped image: what ``pip_build_config`` puts into a context.

    The CA bundle's certificates that the base image does not carry (a proxy's CA), each config line,
    and the in-context file names. The whole bundle counts too, except as the base image's own bundle
    (identical to it where the build machine adds no certificate of its own).
    """
    base_bundle = docker("run", "--rm", "--entrypoint", "cat", base_image(), f"/{_BASE_CA_BUNDLE}").stdout
    base_certs = set(_PEM.findall(base_bundle.encode()))
    needles: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder, pip_build_config(Path(folder)):
        conf = Path(folder) / PIP_BUILD_CONF
        for line in conf.read_text().splitlines() if conf.is_file() else []:
            if "=" in line:
                needles[f"pip config line {line!r}"] = line.encode()
    if CA_BUNDLE.is_file():
        bundle = CA_BUNDLE.read_bytes()
        needles["the build machine's CA bundle"] = bundle
        for number, cert in enumerate(c for c in _PEM.findall(bundle) if c not in base_certs):
            needles[f"build machine CA certificate #{number}"] = cert
    needles[".pip-build file name"] = b".pip-build"
    return needles


def scan_layers(image: str, needles: dict[str, bytes], timeout: float = 300) -> LayerScan:
    """``docker save`` the image and look through every file of every layer for the needles."""
    names = {PIP_BUILD_CONF, PIP_BUILD_CA, "pip.conf"}
    scan = LayerScan()
    with subprocess.Popen([DOCKER, "save", image], stdout=subprocess.PIPE) as save:
        assert save.stdout is not None
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and member.name.endswith("/layer.tar"):
                    scan.layers += 1
                    _scan_layer(archive.extractfile(member), member.name, names, needles, scan)
        save.wait(timeout=timeout)
    return scan


def _scan_layer(
    layer: IO[bytes] | None, layer_name: str, names: set[str], needles: dict[str, bytes], scan: LayerScan
) -> None:
    with tarfile.open(fileobj=layer, mode="r|") as files:
        for entry in files:
            scan.paths.add(entry.name)
            where = f"{entry.name} (layer {layer_name})"
            if PurePosixPath(entry.name).name in names:
                scan.leaks.append(f"file {where}")
            content = files.extractfile(entry) if entry.isfile() else None
            if content is None:
                continue
            data = content.read()
            for label, needle in needles.items():
                is_base_bundle = entry.name == _BASE_CA_BUNDLE and label == "the build machine's CA bundle"
                if needle in data and not is_base_bundle:
                    scan.leaks.append(f"{label} in {where}")


def history_and_env(image: str) -> str:
    """Every command that made the image's layers, and its environment, as one text."""
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    env = docker("image", "inspect", "--format", "{{json .Config.Env}}", image).stdout
    return history + env
