"""The app+model bundle that the EC2 instances install: a subset of this repo, same layout.

The CDK EC2 stack uploads it as an S3 asset directory (one .zip); ``user_data.sh`` fetches
that zip, creates a venv from ``requirements/serving.txt`` and installs the systemd unit.
tests/infra/test_user_data.py builds the same bundle and runs the same script.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
UNIT_FILE: Final = Path(__file__).with_name("one-model.service")


def _app_sources() -> tuple[str, ...]:
    sources = (REPO_ROOT / "serving").rglob("*.py")  # subpackages too, never __pycache__
    return tuple(sorted(path.relative_to(REPO_ROOT).as_posix() for path in sources))


# Repo-relative paths; the bundle keeps them, so serving/config.py finds model/artifacts as usual.
BUNDLE_FILES: Final[tuple[str, ...]] = (
    *_app_sources(),
    "model/artifacts/model.onnx",
    "model/artifacts/metadata.json",
    "requirements/serving.txt",
    "infra/ec2/one-model.service",
)


def write_bundle(dest: Path) -> Path:
    """Copy BUNDLE_FILES into ``dest`` (created; must not hold a previous bundle) and return it."""
    missing = [name for name in BUNDLE_FILES if not (REPO_ROOT / name).is_file()]
    if missing:
        raise FileNotFoundError(f"bundle files missing: {missing} (model artifacts come from `make model`)")
    for name in BUNDLE_FILES:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / name, target)
    return dest


def service_command(python: Path | str) -> list[str]:
    """The unit's ExecStart as argv, with the venv's interpreter replaced by ``python``.

    ExecStart is ``/opt/one-model/venv/bin/python -m serving``: its settings come from the
    environment (APP_*, WEB_CONCURRENCY), so a host process only needs the same variables.
    """
    line = next(line for line in UNIT_FILE.read_text().splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    return [str(python), *argv[1:]]
