"""Load-test fixtures.

Locust monkey-patches the standard library with gevent when it is imported, which breaks an
already-running pytest process (ssl is imported by then). The unit tests here only need Locust's
classes, so they skip the patching; every real Locust run is a subprocess without this variable
(see ``loadtests.locust_run.locust_environment``).
"""

from __future__ import annotations

import os

import pytest

os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"

from loadtests import locust_run

# The fixture, reused: skips without a Docker engine, fails instead under CI=true.
from tests.infra.conftest import docker_engine

__all__ = ["docker_engine"]

AWS_TEST_REGION = "us-east-1"


@pytest.fixture(autouse=True)
def locust_only_in_load_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that starts Locust must carry the load marker, or `make test-fast` would run it."""
    if request.node.get_closest_marker("load") is None:

        def refuse(*_: object, **__: object) -> list[str]:
            pytest.fail("this test starts Locust: mark it @pytest.mark.load")

        monkeypatch.setattr(locust_run, "locust_command", refuse)


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and a region that reach nothing real: moto or a Stubber answers (modules that talk
    to AWS use it for every test, through ``pytestmark``)."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_TEST_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
