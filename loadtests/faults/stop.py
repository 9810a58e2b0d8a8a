"""Ending a steady Locust run from outside, cleanly: the orchestrator creates a file whose path the
Locust process finds in ``LOADTEST_STOP_FILE``; the steady shape then ends the run as at the end of
its hold (in-flight requests finish, every sample is written). Free of Locust, for both sides."""

from __future__ import annotations

import os
from pathlib import Path

STOP_FILE_ENV = "LOADTEST_STOP_FILE"


def stop_requested() -> bool:
    path = os.environ.get(STOP_FILE_ENV)
    return bool(path) and Path(str(path)).exists()
