"""One virtual environment per peer (and one for the app's serving set), installed on first use.

The peers' pins conflict with each other and with the repo's, so each gets its own venv under
``.cache/bench-peers/<name>``, made with uv from its pinned ``requirements.txt``. A venv is rebuilt
when its requirements file changes (the marker file names the file's hash).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from infra.common.paths import REPO_ROOT

VENVS_DIR = REPO_ROOT / ".cache" / "bench-peers"
UV = Path(sys.executable).with_name("uv")  # the repo's pinned uv (make setup installs it)


def ensure(name: str, requirements: Path) -> Path:
    """The venv's python, after installing ``requirements`` into it unless that is already done."""
    venv = VENVS_DIR / name
    python = venv / "bin" / "python"
    marker = venv / f".installed-{hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]}"
    if marker.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    # The same interpreter as the repo's venv: the peers are compared on one Python.
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    install = [str(UV), "pip", "install", "-q", "--python", str(python), "-r", str(requirements)]
    subprocess.run(install, check=True, timeout=900)
    marker.touch()
    return python


def site_packages_bytes(python: Path) -> int:
    """Installed size of a venv's dependencies: every file under its site-packages."""
    (site_packages,) = (python.parent.parent / "lib").glob("python*/site-packages")
    return sum(path.stat().st_size for path in site_packages.rglob("*") if path.is_file())
