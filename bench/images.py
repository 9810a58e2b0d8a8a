"""Image sizes, built with the repo's own recipe (``infra.local.docker``) when an engine answers."""

from __future__ import annotations

import subprocess
from typing import Any


def measure() -> dict[str, Any]:
    """Sizes of the ``ecs`` and ``lambda`` targets and what each adds over the base image.

    Returns ``{"skipped": reason}`` when there is no engine or no base image could be had
    (``infra.local.docker.base_image`` pulls the public one or builds a local Debian base).
    """
    from infra.local import docker

    if not docker.docker_available():
        return {"skipped": "no Docker engine answers"}
    base = docker.base_image()
    try:
        base_bytes = docker.image_size_bytes(base)
    except subprocess.CalledProcessError:
        return {"skipped": f"base image {base} is not present locally"}
    result: dict[str, Any] = {"base_image": base, "base_bytes": base_bytes}
    for target in docker.TARGETS:
        size = docker.image_size_bytes(docker.build_image(target))
        result[target] = {"bytes": size, "added_over_base_bytes": size - base_bytes}
    return result
