"""The AWS Lambda Runtime Interface Emulator, taken from the aws-sam-cli wheel on PyPI.

SAM CLI ships ``aws-lambda-rie-<arch>`` inside its wheel; downloading that one wheel (no
dependencies) is the only way to get it from a package registry. It is extracted once into
``.cache/`` and reused.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.common.paths import REPO_ROOT

SAM_CLI_VERSION = "1.170.0"
CACHE_DIR = REPO_ROOT / ".cache" / "rie"
_RIE_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def rie_arch(machine: str | None = None) -> str:
    """``x86_64`` or ``arm64``: the suffix of the RIE binary for this (or the given) machine."""
    machine = (machine or platform.machine()).lower()
    if machine not in _RIE_ARCH:
        raise RuntimeError(f"no aws-lambda-rie build for {machine}")
    return _RIE_ARCH[machine]


def rie_path(arch: str | None = None) -> Path:
    """Path to an executable ``aws-lambda-rie`` binary, downloading and extracting it on first use."""
    arch = arch or rie_arch()
    binary = CACHE_DIR / SAM_CLI_VERSION / f"aws-lambda-rie-{arch}"
    if not binary.is_file():
        _extract(_download_wheel(), f"samcli/local/rapid/aws-lambda-rie-{arch}", binary)
    binary.chmod(0o755)
    return binary


def _download_wheel() -> Path:
    wheels = CACHE_DIR / "wheels"
    wheel = wheels / f"aws_sam_cli-{SAM_CLI_VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(wheels),
                f"aws-sam-cli=={SAM_CLI_VERSION}",
            ],
            check=True,
        )
    return wheel


def _extract(wheel: Path, member: str, binary: Path) -> None:
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
        partial.write_bytes(source.read())
    partial.replace(binary)  # atomic: a concurrent caller never sees half a binary
