"""Image sizes, built with the repo's own recipe (``infra.local.docker``) when an engine answers."""

from __future__ import annotations

import subprocess
from typing import Any


def measure() -> dict[str, Any]:
    """Sizes of the ``ecs`` and ``lambda`` targets and what each adds over the base image.

    Returns ``{"skipped": reason}`` when there is no engine or the base image is not local
    (this machine cannot pull: set ``BASE_IMAGE``, e.g. to the tag ``.ci/base-image.sh`` prints).
    """
    from infra.local import docker

    if not docker.docker_available():
        return {"skipped": "no Docker engine answers"}
    base = docker.base_image()
    try:
        base_bytes = docker.image_size_bytes(base)
    except subprocess.CalledProcessError:
        return {"skipped": f"base image {base} is not present locally (set BASE_IMAGE)"}
    result: dict[str, Any] = {"base_image": base, "base_bytes": base_bytes}
    for target in docker.TARGETS:
        size = docker.image_size_bytes(docker.build_image(target))
        result[target] = {"bytes": size, "added_over_base_bytes": size - base_bytes}
    return result
