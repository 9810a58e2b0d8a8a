"""The EC2 bundle's layout and wheels, and the unit's command run as a plain host process."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from infra.common.paths import REPO_ROOT
from infra.common.sizing import Architecture
from infra.ec2 import bundle as bundle_module
from infra.ec2.bundle import BUNDLE_FILES, DEBIAN_13_GLIBC_MINOR, MACHINE, write_bundle
from infra.local.commands import server_command, server_environment
from infra.local.process import free_port

TRAINING_FILES = ("model/train.py", "model/artifacts/holdout.json")
ARCHITECTURES: tuple[Architecture, ...] = ("x86_64", "arm64")


def locked_hashes() -> dict[str, tuple[str, set[str]]]:
    """requirements/serving.txt as {name: (version, sha256 hashes)}."""
    lock = (REPO_ROOT / "requirements" / "serving.txt").read_text()
    entries = re.findall(r"^([\w.-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:\w+)+)", lock, re.MULTILINE)
    return {
        canonicalize_name(name): (version, set(re.findall(r"sha256:(\w+)", hashes)))
        for name, version, hashes in entries
    }


def debian_13_tags(architecture: Architecture) -> set[Tag]:
    """The wheel tags Debian 13's CPython 3.13 accepts on ``architecture`` (glibc 2.41), as pip
    computes them on the instance: manylinux_2_5 .. manylinux_2_41 and their legacy names."""
    machine = MACHINE[architecture]
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(DEBIAN_13_GLIBC_MINOR, 4, -1)]
    platforms += [f"manylinux{legacy}_{machine}" for legacy in ("2014", "2010", "1")]
    cpython = cpython_tags(python_version=(3, 13), abis=["cp313"], platforms=platforms)
    return {*cpython, *compatible_tags(python_version=(3, 13), interpreter="cp313", platforms=platforms)}


def test_bundle_holds_the_app_the_model_and_the_runtime_lock(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "bundle", "x86_64")

    files = {path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()}
    app_files = {name for name in files if not name.startswith("wheels/")}

    assert app_files == set(BUNDLE_FILES)
    assert {"serving/app.py", "model/artifacts/model.onnx", "requirements/serving.txt"} <= files
    # serving.config finds the artifacts through model/artifacts.py, which needs only the stdlib.
    assert {"model/__init__.py", "model/artifacts.py"} <= files
    assert not files & set(TRAINING_FILES)
    assert "scikit-learn" not in (bundle / "requirements" / "serving.txt").read_text()


def test_serving_lock_pins_every_package_with_hashes_and_names_no_registry() -> None:
    lock = (REPO_ROOT / "requirements" / "serving.txt").read_text()
    pinned = re.findall(r"^[\w.-]+==", lock, re.MULTILINE)

    assert pinned and len(locked_hashes()) == len(pinned)  # pip --require-hashes needs one for each
    assert all(hashes for _, hashes in locked_hashes().values())
    assert not re.search(r"https?://|--index-url|--extra-index-url|--find-links", lock)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_bundle_carries_one_locked_wheel_per_package_for_the_deployed_platform(
    tmp_path: Path, architecture: Architecture
) -> None:
    wheels = sorted((write_bundle(tmp_path / "bundle", architecture) / "wheels").glob("*"))
    locked = locked_hashes()

    found: dict[str, str] = {}
    for wheel in wheels:
        name, version, _, tags = parse_wheel_filename(wheel.name)
        _, hashes = locked[canonicalize_name(name)]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() in hashes, wheel.name
        assert tags & debian_13_tags(architecture), wheel.name
        found[canonicalize_name(name)] = str(version)

    assert found == {name: version for name, (version, _) in locked.items()}
    assert len(wheels) == len(found)  # one file per package, nothing else


def test_wheels_are_downloaded_once_per_lock_and_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    first = bundle_module.download_wheels("x86_64")

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran again for a lock whose wheels are cached")

    monkeypatch.setattr(bundle_module.subprocess, "run", no_download)

    assert bundle_module.download_wheels("x86_64") == first
    assert bundle_module.download_wheels("x86_64").is_relative_to(REPO_ROOT / ".cache")


def test_service_command_serves_the_app_outside_systemd() -> None:
    port = free_port()
    env = {**os.environ, **server_environment(port, workers=1)}
    command = server_command(sys.executable)
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
