"""Load-test fixtures.

Locust monkey-patches the standard library with gevent when it is imported, which breaks an
already-running pytest process (ssl is imported by then). The unit tests here only need Locust's
classes, so they skip the patching; every real Locust run is a subprocess without this variable
(see ``loadtests.locust_run.locust_environment``).
"""

from __future__ import annotations

import os

os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"

# The fixture, reused: skips without a Docker engine, fails instead under CI=true.
from tests.infra.conftest import docker_engine

__all__ = ["docker_engine"]
