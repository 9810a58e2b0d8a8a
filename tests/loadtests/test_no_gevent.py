"""The orchestrators must never import Locust: its import monkey-patches the standard library with
gevent, and then threads, subprocess waits and signals in `make demo` no longer behave (a hang we hit)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["loadtests.demo", "loadtests.aws.__main__", "infra.local.function_url.__main__"]
)
def test_orchestrators_leave_locust_and_gevent_unimported(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
