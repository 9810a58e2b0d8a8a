"""Shared fixtures: the trained artifacts every test relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from serving.config import ARTIFACTS_DIR

if not (ARTIFACTS_DIR / "model.onnx").exists():
    pytest.exit("model/artifacts is missing: run `make model` (make test does it for you)", returncode=2)


@pytest.fixture(scope="session")
def metadata() -> dict[str, Any]:
    return json.loads((ARTIFACTS_DIR / "metadata.json").read_text())


@pytest.fixture(scope="session")
def holdout() -> dict[str, Any]:
    return json.loads((ARTIFACTS_DIR / "holdout.json").read_text())


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return ARTIFACTS_DIR
