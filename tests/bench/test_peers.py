"""Each peer installs from a pinned, host-free requirements file compiled from its own
requirements.in, and its installed size is what its venv's site-packages holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.peers.catalog import PEERS
from bench.venvs import site_packages_bytes
from infra.common.paths import REPO_ROOT


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_pins_every_package_from_its_own_input_and_names_no_registry(name: str) -> None:
    requirements = PEERS[name].requirements
    lock = requirements.read_text()
    source = requirements.with_suffix(".in").relative_to(REPO_ROOT)
    packages = [line for line in lock.splitlines() if line and not line.startswith(("#", " "))]

    assert f"uv pip compile --python-version 3.11 {source}" in lock
    assert packages
    assert [line for line in packages if not re.fullmatch(r"[\w.\-\[\],]+==\S+", line)] == []
    assert not re.search(r"https?://|--index-url|--extra-index-url|--find-links", lock)


def test_installed_size_counts_every_file_under_site_packages(tmp_path: Path) -> None:
    site_packages = tmp_path / "lib" / "python3.11" / "site-packages"
    (site_packages / "pkg").mkdir(parents=True)
    (site_packages / "pkg" / "__init__.py").write_bytes(b"x" * 100)
    (site_packages / "pkg-1.0.dist-info").mkdir()
    (site_packages / "pkg-1.0.dist-info" / "RECORD").write_bytes(b"y" * 23)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_bytes(b"not counted" * 1000)

    assert site_packages_bytes(tmp_path / "bin" / "python") == 123
