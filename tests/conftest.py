"""Shared by every test: the trained artifacts, the markers a test takes from its fixtures (what
`make test-fast` leaves out), and the rule for a missing tool: skip here, fail in CI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

from model.artifacts import ARTIFACTS_DIR, holdout_path, metadata_path, model_path

if not model_path().exists():
    pytest.exit("model/artifacts is missing: run `make model` (make test does it for you)", returncode=2)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str) -> NoReturn:
    """Skip a test whose tool or engine is missing on this machine; under CI=true fail it instead:
    .ci/run installs every one, so a missing one there is a broken CI, not a reason to skip."""
    if IN_CI:
        pytest.fail(f"{what}: in CI it must be there (.ci/run installs or starts it)")
    pytest.skip(what)


# A test that uses one of these fixtures needs what it starts; its marker keeps it out of `make test-fast`.
MARKER_OF_FIXTURE = {"docker_engine": "docker", "systemd_image": "systemd", "sam_env": "sam"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def metadata() -> dict[str, Any]:
    return json.loads(metadata_path().read_text())


@pytest.fixture(scope="session")
def holdout() -> dict[str, Any]:
    return json.loads(holdout_path().read_text())


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return ARTIFACTS_DIR
