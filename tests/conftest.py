"""Shared fixtures: the trained artifacts every test relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.artifacts import ARTIFACTS_DIR, holdout_path, metadata_path, model_path

if not model_path().exists():
    pytest.exit("model/artifacts is missing: run `make model` (make test does it for you)", returncode=2)


@pytest.fixture(scope="session")
def metadata() -> dict[str, Any]:
    return json.loads(metadata_path().read_text())


@pytest.fixture(scope="session")
def holdout() -> dict[str, Any]:
    return json.loads(holdout_path().read_text())


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return ARTIFACTS_DIR
