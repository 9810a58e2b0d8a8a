"""The EC2 bundle's layout, and the unit's ExecStart run as a plain host process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.ec2.bundle import BUNDLE_FILES, service_command, write_bundle

TRAINING_FILES = ("model/train.py", "model/artifacts/holdout.json")


def test_bundle_holds_the_app_the_model_and_the_runtime_lock(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "bundle")

    files = {path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()}

    assert files == set(BUNDLE_FILES)
    assert {"serving/app.py", "model/artifacts/model.onnx", "requirements/serving.txt"} <= files
    assert not files & set(TRAINING_FILES)
    assert "scikit-learn" not in (bundle / "requirements" / "serving.txt").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_service_command_serves_the_app_outside_systemd() -> None:
    port = free_port()
    env = {**os.environ, "APP_HOST": "127.0.0.1", "APP_PORT": str(port), "WEB_CONCURRENCY": "1"}
    command = service_command(sys.executable)
    assert command == [sys.executable, "-m", "serving"]

    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as server:
        try:
            assert wait_for_ready(f"http://127.0.0.1:{port}/ready", server) == 200
        finally:
            server.terminate()


def wait_for_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"the service command did not answer on {url}")
