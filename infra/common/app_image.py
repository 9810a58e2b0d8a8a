"""The app's container image as the ECS and Lambda stacks build it: the repo-root Dockerfile, one target each.

Synth only copies the build context into cdk.out and hashes it; `cdk deploy` builds and pushes the image
with the Dockerfile's own BASE_IMAGE default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from infra.common.paths import REPO_ROOT

BUILD_CONTEXT: Final = str(REPO_ROOT)
# The root .dockerignore admits only what the images ship. It admits the pip config a local build
# (infra/local/docker.py) puts in the context for its own duration; a synth meanwhile must not copy it.
NOT_IN_BUILD_CONTEXT: Final = [".pip-build*"]

DOCKERFILE: Final = REPO_ROOT / "Dockerfile"


@dataclass(frozen=True)
class ImageHealthCheck:
    """The Dockerfile's HEALTHCHECK: its exec-form command and its timings in seconds."""

    command: list[str]
    interval: int
    timeout: int
    start_period: int
    retries: int


def image_health_check(dockerfile: Path = DOCKERFILE) -> ImageHealthCheck:
    """The Dockerfile's HEALTHCHECK, read at synth: ECS ignores an image's own health check, so the
    task definition repeats it, and this keeps the Dockerfile its one home."""
    text = dockerfile.read_text().replace("\\\n", " ")
    (line,) = (line for line in text.splitlines() if line.startswith("HEALTHCHECK "))
    flags, _, command = line.removeprefix("HEALTHCHECK ").partition(" CMD ")
    options = dict(re.findall(r"--([a-z-]+)=(\w+)", flags))
    seconds = {key: int(value.removesuffix("s")) for key, value in options.items()}
    return ImageHealthCheck(
        command=json.loads(command),
        interval=seconds["interval"],
        timeout=seconds["timeout"],
        start_period=seconds["start-period"],
        retries=seconds["retries"],
    )
