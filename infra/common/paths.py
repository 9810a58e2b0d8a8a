"""The repository's root, for the tools that build from it (image contexts, the EC2 bundle, the
local runs, the bench and the tests). Standard library only, like ``names`` and ``sizing``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
