"""Build the repo's one Dockerfile, the same way on a laptop, in CI and for the CDK.

Only ``/usr/bin/docker`` (Debian's docker.io) is used, with BuildKit by default or the classic
builder (``buildkit=False``, what ``cdk deploy`` and ``sam build`` use): the Dockerfile is plain
syntax that both accept. The host's pip settings that still mean something inside a container,
and the CA bundle pip trusts (for a TLS-intercepting proxy), reach pip as two files that
``pip_build_config`` writes into the build context for the length of one build and removes
after. Only the Dockerfile's builder stage copies them; the shipped stages never do.

The public base image has one home, the Dockerfile's ``ARG BASE_IMAGE`` default (the CDK builds
with it); a build here passes ``--build-arg BASE_IMAGE`` only when it must use another one, such as
the local Debian trixie where no container registry is reachable. Images for another architecture
(``platform="linux/arm64"`` on x86_64) build under QEMU, FROM that architecture's base.
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from infra.common.paths import REPO_ROOT
from infra.common.sizing import FARGATE_MEMORY_MIB, FARGATE_VCPUS

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
# The local repository name the images are tagged with (`one-model:ecs`, `one-model:lambda`);
# $IMAGE_NAME gives two checkouts on one engine tags of their own.
IMAGE_NAME = os.environ.get("IMAGE_NAME", "one-model")
TARGETS = ("ecs", "lambda")
CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
# The build-time pip files, at the context root: the Dockerfile's builder stage copies `.pip-build*`
# into /tmp/build/ and points PIP_CONFIG_FILE at the config there.
PIP_BUILD_CONF = ".pip-build.conf"
PIP_BUILD_CA = ".pip-build-ca.crt"
_CONTAINER_BUILD_DIR = "/tmp/build"
_BUILD_LOCK = REPO_ROOT / ".cache" / "pip-build.lock"
# pip settings that still mean something inside a build container (no local paths).
_PORTABLE_PIP_KEYS = frozenset(
    {"index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries", "proxy"}
)
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


# The ECS Fargate task size, for `docker run`, so local runs get what the ECS stack deploys.
TASK_CPUS = FARGATE_VCPUS
TASK_MEMORY_MIB = FARGATE_MEMORY_MIB


def container_limits() -> list[str]:
    """``docker run`` flags that give a container the Fargate task's CPU and memory."""
    return ["--cpus", str(TASK_CPUS), "--memory", f"{TASK_MEMORY_MIB}m"]


class DockerUnavailableError(RuntimeError):
    """No Docker engine answers on this machine."""


LOCAL_BASE_SCRIPT = REPO_ROOT / "infra" / "local" / "debian-base-image.sh"


def default_base_image() -> str:
    """The public image the Dockerfile names in ``ARG BASE_IMAGE=...``: its one home."""
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.removeprefix("ARG BASE_IMAGE=").strip()
    raise RuntimeError(f"{DOCKERFILE} has no `ARG BASE_IMAGE=<image>` default")


@lru_cache(maxsize=4)
def base_image(platform: str | None = None) -> str:
    """The image the Dockerfile builds FROM, for this machine's platform unless told another.

    ``$BASE_IMAGE`` when set; else the Dockerfile's default, when the engine has it or can pull
    it; else (a machine that reaches package registries but no container registry, like this
    repo's CI) the same Debian trixie made locally from Debian's packages by
    ``debian-base-image.sh``. For another platform: the public default (multi-arch; the build pulls
    that platform's image) where this machine uses it, else the local trixie built for that platform.
    """
    if platform is not None and platform != host_platform():
        if base_image() == default_base_image():
            return default_base_image()
        return local_base_image(platform)
    if configured := os.environ.get("BASE_IMAGE"):
        return configured
    default = default_base_image()
    if _image_present(default) or _pulled(default):
        return default
    print(f"{default} cannot be pulled: building a local Debian trixie base", file=sys.stderr)
    return local_base_image()


def local_base_image(platform: str | None = None) -> str:
    """``debian-base-image.sh``'s tag for ``platform`` (``linux/arm64``...), built on first use."""
    arch = [_ARCHES[platform.removeprefix("linux/")]] if platform else []
    built = subprocess.run([str(LOCAL_BASE_SCRIPT), *arch], check=True, stdout=subprocess.PIPE, text=True)
    return built.stdout.strip()


def base_image_args(platform: str | None = None) -> list[str]:
    """``--build-arg BASE_IMAGE=...`` when the build must not use the Dockerfile's default."""
    image = base_image(platform)
    return [] if image == default_base_image() else ["--build-arg", f"BASE_IMAGE={image}"]


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


def default_tag(target: str, platform: str | None = None) -> str:
    """``one-model:ecs`` for this machine's platform; ``one-model:ecs-arm64`` for another."""
    if platform is None or platform == host_platform():
        return f"{IMAGE_NAME}:{target}"
    return f"{IMAGE_NAME}:{target}-{platform.removeprefix('linux/')}"


def build_image(
    target: str, tag: str | None = None, platform: str | None = None, buildkit: bool = True
) -> str:
    """Build one target (``ecs`` or ``lambda``) of the Dockerfile and return its tag.

    Layers are cached by the engine, so a rebuild with unchanged sources takes a second or two.
    ``buildkit=False`` builds with the classic builder, as ``cdk deploy`` does.
    Set ``DOCKER_BUILD_NETWORK=host`` where the default bridge network cannot reach the
    package index; it applies to ``RUN`` steps of the build only.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    ensure_docker()
    tag = tag or default_tag(target, platform)
    command = [DOCKER, "build", "--file", str(DOCKERFILE), "--target", target, "--tag", tag]
    platform = platform or host_platform()
    command += ["--platform", platform, *base_image_args(platform)]
    if network := os.environ.get("DOCKER_BUILD_NETWORK"):
        command += ["--network", network]
    command.append(str(REPO_ROOT))
    with pip_build_config(REPO_ROOT):
        print(f"building image {tag} (target {target}) ...", file=sys.stderr, flush=True)
        env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
        build = subprocess.run(command, capture_output=True, text=True, env=env)
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
def pip_build_config(context: Path) -> Iterator[None]:
    """Put this machine's pip config (and the CA bundle it trusts) into a build context, for one build.

    Builds take turns (a lock file), so one build's clean-up never removes the files from under
    another's. The files are removed afterwards, even when the build fails.
    """
    _BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    written = [context / PIP_BUILD_CONF, context / PIP_BUILD_CA]
    with _BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            settings = sanitized_pip_settings()
            if CA_BUNDLE.is_file():
                shutil.copyfile(CA_BUNDLE, written[1])
                settings["cert"] = f"{_CONTAINER_BUILD_DIR}/{PIP_BUILD_CA}"
            if settings:
                written[0].write_text(
                    "[global]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(settings.items()))
                )
            yield
        finally:
            for path in written:
                path.unlink(missing_ok=True)


def sanitized_pip_settings() -> dict[str, str]:
    """The host's pip settings minus anything that points at the host's disk (file://, paths).

    Empty when nothing portable is left (e.g. plain PyPI), so the build uses pip's defaults.
    """
    try:
        command = [sys.executable, "-m", "pip", "config", "list"]
        listing = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    settings: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, raw = line.partition("=")
        key = name.rsplit(".", 1)[-1]
        if key not in _PORTABLE_PIP_KEYS:
            continue
        values = [v for v in raw.strip().strip("'\"").split() if not _is_local(v)]
        if values:
            settings[key] = " ".join(values)
    return settings


def _is_local(value: str) -> bool:
    return value.startswith(("file:", "/", "."))
