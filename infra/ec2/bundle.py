"""The app+model bundle that the EC2 instances install: a subset of this repo, same layout, plus wheels.

The CDK EC2 stack uploads it as an S3 asset directory (one .zip); ``user_data.sh`` fetches that
zip, creates a venv with ``pip install --no-index --require-hashes`` from the bundle's
``wheels/`` (no package index at boot: an instance's start does not measure PyPI, and what it
runs is exactly what ``requirements/serving.txt`` hashes) and installs the systemd unit.

The wheels are for the deployed platform: Debian 13's CPython 3.13 on manylinux x86_64 or
aarch64, following the stack's ``architecture``. ``pip download`` fetches them once into
``.cache/ec2-wheels/`` (keyed by the lock file's content) and later bundles reuse them.
tests/infra/test_user_data.py builds the same bundle and runs the same script.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from infra.common.paths import REPO_ROOT
from infra.common.sizing import Architecture

UNIT_FILE: Final = Path(__file__).with_name("one-model.service")  # the systemd unit the bundle carries
SERVING_LOCK: Final = REPO_ROOT / "requirements" / "serving.txt"
WHEEL_CACHE: Final = REPO_ROOT / ".cache" / "ec2-wheels"
WHEELS_DIR: Final = "wheels"  # in the bundle; user_data.sh installs from <app>/wheels

# The instance's interpreter (Debian 13's python3) and the newest glibc its wheels may need (2.41).
PYTHON_VERSION: Final = "3.13"
DEBIAN_13_GLIBC_MINOR: Final = 41
MACHINE: Final[dict[Architecture, str]] = {"x86_64": "x86_64", "arm64": "aarch64"}


def _app_sources() -> tuple[str, ...]:
    sources = (REPO_ROOT / "serving").rglob("*.py")  # subpackages too, never __pycache__
    return tuple(sorted(path.relative_to(REPO_ROOT).as_posix() for path in sources))


# Repo-relative paths; the bundle keeps them, so serving.config finds the artifacts where
# model/artifacts.py (standard library only, shipped beside them) says they are.
BUNDLE_FILES: Final[tuple[str, ...]] = (
    *_app_sources(),
    "model/__init__.py",
    "model/artifacts.py",
    "model/artifacts/model.onnx",
    "model/artifacts/metadata.json",
    "requirements/serving.txt",
    UNIT_FILE.relative_to(REPO_ROOT).as_posix(),
)


def write_bundle(dest: Path, architecture: Architecture) -> Path:
    """Copy BUNDLE_FILES and the ``architecture``'s wheels into ``dest`` (created; must not hold a
    previous bundle) and return it."""
    missing = [name for name in BUNDLE_FILES if not (REPO_ROOT / name).is_file()]
    if missing:
        raise FileNotFoundError(f"bundle files missing: {missing} (model artifacts come from `make model`)")
    for name in BUNDLE_FILES:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / name, target)
    shutil.copytree(download_wheels(architecture), dest / WHEELS_DIR)
    return dest


def manylinux_platforms(architecture: Architecture) -> list[str]:
    """Every manylinux tag Debian 13 runs, newest first: pip 23 does not expand ``--platform``."""
    machine = MACHINE[architecture]
    newest_first = range(DEBIAN_13_GLIBC_MINOR, 16, -1)
    # manylinux2014 is glibc 2.17's legacy name; on x86_64 pip adds manylinux2010 and manylinux1.
    return [*(f"manylinux_2_{minor}_{machine}" for minor in newest_first), f"manylinux2014_{machine}"]


def download_wheels(architecture: Architecture) -> Path:
    """The wheels of requirements/serving.txt for ``architecture``, downloaded once per lock file."""
    lock_digest = hashlib.sha256(SERVING_LOCK.read_bytes()).hexdigest()[:16]
    folder = WHEEL_CACHE / f"{architecture}-{lock_digest}"
    if folder.is_dir():  # only ever made by the rename below, so complete
        return folder
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    download = Path(tempfile.mkdtemp(dir=WHEEL_CACHE, prefix=f".{folder.name}-"))
    platforms = [item for tag in manylinux_platforms(architecture) for item in ("--platform", tag)]
    # The lock's hashes put pip in hash-checking mode: a wheel that does not match is refused.
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--no-deps", *platforms, "--python-version", PYTHON_VERSION]
    command += ["--implementation", "cp", "--abi", f"cp{PYTHON_VERSION.replace('.', '')}"]
    try:
        subprocess.run([*command, "--dest", str(download), "--requirement", str(SERVING_LOCK)], check=True)
        download.rename(folder)
    except OSError:
        if not folder.is_dir():  # not a concurrent build that renamed its copy first
            raise
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return folder
