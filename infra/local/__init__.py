"""Local stand-ins for the AWS runtimes: Docker image builds and the Lambda Runtime Interface Emulator.

Used by the image tests, the local load tests and the benchmarks, so every one of them builds
and runs exactly what the CDK stacks deploy.
"""

from infra.local.docker import (
    DockerUnavailableError,
    base_image,
    build_image,
    container_limits,
    docker_available,
    ensure_docker,
    image_size_bytes,
)
from infra.local.rie import rie_path

__all__ = [
    "DockerUnavailableError",
    "base_image",
    "build_image",
    "container_limits",
    "docker_available",
    "ensure_docker",
    "image_size_bytes",
    "rie_path",
]
