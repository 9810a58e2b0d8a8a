"""Build the repo's one Dockerfile with BuildKit, the same way on a laptop, in CI and for the CDK.

Only ``/usr/bin/docker`` (Debian's docker.io) is used: its built-in BuildKit understands
``RUN --mount=type=secret``. The host's CA bundle and a pip config reduced to what works
inside a container are passed as build secrets, so a build behind a TLS-intercepting proxy
works and neither ends up in an image layer.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from infra.common.sizing import FARGATE_CPU_UNITS, FARGATE_MEMORY_MIB

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
IMAGE_NAME = "one-model"
TARGETS = ("ecs", "lambda")
CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
# pip settings that still mean something inside a build container (no local paths).
_PORTABLE_PIP_KEYS = frozenset(
    {"index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries", "proxy"}
)
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


# The ECS Fargate task size, for `docker run`, so local runs get what the ECS stack deploys.
TASK_CPUS = FARGATE_CPU_UNITS / 1024
TASK_MEMORY_MIB = FARGATE_MEMORY_MIB


def container_limits() -> list[str]:
    """``docker run`` flags that give a container the Fargate task's CPU and memory."""
    return ["--cpus", str(TASK_CPUS), "--memory", f"{TASK_MEMORY_MIB}m"]


class DockerUnavailableError(RuntimeError):
    """No Docker engine answers on this machine."""


LOCAL_BASE_SCRIPT = REPO_ROOT / "infra" / "local" / "debian-base-image.sh"


@lru_cache(maxsize=1)
def base_image() -> str:
    """The image the Dockerfile builds FROM.

    ``$BASE_IMAGE`` when set; else the public image, when the engine has it or can pull it; else
    (a machine that reaches package registries but no container registry, like this repo's CI)
    the same Debian bookworm made locally from Debian's packages by ``debian-base-image.sh``.
    """
    if configured := os.environ.get("BASE_IMAGE"):
        return configured
    if _image_present(DEFAULT_BASE_IMAGE) or _pulled(DEFAULT_BASE_IMAGE):
        return DEFAULT_BASE_IMAGE
    print(f"{DEFAULT_BASE_IMAGE} cannot be pulled: building a local Debian bookworm base", file=sys.stderr)
    built = subprocess.run([str(LOCAL_BASE_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True)
    return built.stdout.strip()


def _image_present(tag: str) -> bool:
    return subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def _pulled(tag: str) -> bool:
    try:
        pull = [DOCKER, "pull", "--quiet", tag]
        result = subprocess.run(pull, capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def host_platform() -> str:
    """``linux/amd64`` or ``linux/arm64``: the platform images are built for unless told otherwise."""
    return f"linux/{_ARCHES.get(platform.machine().lower(), platform.machine().lower())}"


def docker_available() -> bool:
    """True when ``docker info`` reaches an engine within a few seconds."""
    try:
        result = subprocess.run([DOCKER, "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def ensure_docker() -> None:
    """Raise ``DockerUnavailableError`` with a hint when no engine answers."""
    if not docker_available():
        raise DockerUnavailableError(
            f"No Docker engine answers to `{DOCKER} info`. Start one (as root: "
            "`dockerd > /tmp/dockerd.log 2>&1 &`, or Docker Desktop) and retry; CI's .ci/run starts it."
        )


def default_tag(target: str) -> str:
    return f"{IMAGE_NAME}:{target}"


def build_image(target: str, tag: str | None = None, platform: str | None = None) -> str:
    """Build one target (``ecs`` or ``lambda``) of the Dockerfile and return its tag.

    Layers are cached by the engine, so a rebuild with unchanged sources takes a second or two.
    Set ``DOCKER_BUILD_NETWORK=host`` where the default bridge network cannot reach the
    package index; it applies to ``RUN`` steps of the build only.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    ensure_docker()
    tag = tag or default_tag(target)
    command = [DOCKER, "build", "--file", str(DOCKERFILE), "--target", target, "--tag", tag]
    command += ["--platform", platform or host_platform()]
    command += ["--build-arg", f"BASE_IMAGE={base_image()}"]
    if network := os.environ.get("DOCKER_BUILD_NETWORK"):
        command += ["--network", network]
    with _build_secrets() as secrets:
        command += secrets
        command.append(str(REPO_ROOT))
        print(f"building image {tag} (target {target}) ...", file=sys.stderr, flush=True)
        build = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}
        )
    if build.returncode != 0:  # the build log only matters when it failed
        sys.stderr.write("\n".join(build.stderr.splitlines()[-60:]) + "\n")
        raise subprocess.CalledProcessError(build.returncode, command)
    return tag


def image_size_bytes(tag: str) -> int:
    """The uncompressed size of a local image, as ``docker image ls`` reports it."""
    result = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip())


@contextmanager
def _build_secrets() -> Iterator[list[str]]:
    """``--secret`` flags for the CA bundle and a sanitized pip.conf, files removed afterwards."""
    flags: list[str] = []
    if CA_BUNDLE.is_file():
        flags += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
    pip_conf = sanitized_pip_config()
    with tempfile.TemporaryDirectory(prefix="pip-secret-") as folder:
        if pip_conf:
            path = Path(folder) / "pip.conf"
            path.write_text(pip_conf)
            flags += ["--secret", f"id=pip_conf,src={path}"]
        yield flags


def sanitized_pip_config() -> str:
    """The host's pip settings minus anything that points at the host's disk (file://, paths).

    Returns "" when nothing portable is left (e.g. plain PyPI), so the build uses pip's defaults.
    """
    try:
        command = [sys.executable, "-m", "pip", "config", "list"]
        listing = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    settings: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, raw = line.partition("=")
        key = name.rsplit(".", 1)[-1]
        if key not in _PORTABLE_PIP_KEYS:
            continue
        values = [v for v in raw.strip().strip("'\"").split() if not _is_local(v)]
        if values:
            settings[key] = " ".join(values)
    if not settings:
        return ""
    return "[global]\n" + "".join(f"{key} = {value}\n" for key, value in sorted(settings.items()))


def _is_local(value: str) -> bool:
    return value.startswith(("file:", "/", "."))
