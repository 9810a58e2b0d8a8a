"""The app's container image as the ECS and Lambda stacks build it: the repo-root Dockerfile, one target each.

Synth only copies the build context into cdk.out and hashes it; `cdk deploy` builds and pushes the image
with the Dockerfile's own BASE_IMAGE default.
"""

from __future__ import annotations

from typing import Final

from infra.common.paths import REPO_ROOT

BUILD_CONTEXT: Final = str(REPO_ROOT)
# The root .dockerignore admits only what the images ship. It admits the pip config a local build
# (infra/local/docker.py) puts in the context for its own duration; a synth meanwhile must not copy it.
NOT_IN_BUILD_CONTEXT: Final = [".pip-build*"]
