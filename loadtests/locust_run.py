"""Run Locust for real, headless, as a subprocess: one scenario against one host.

The CLI rather than the library API, so the same code path scales out with Locust's
distributed mode: ``processes > 1`` adds ``--processes N`` (one master plus N forked workers
on this machine; for more machines start ``locust --worker --master-host ...`` there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests.protocols import DEFAULT_PROTOCOL
from loadtests.signing import NO_AUTH, Auth

SCENARIOS = ("steady", "cold", "step")
# Written by the locustfile (loadtests.users) beside the samples. This module must not import
# Locust: importing it monkey-patches the standard library with gevent, which an orchestrating
# process (threads, subprocesses, asyncio servers) must never be.
PHASES_FILE = "phases.json"
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class LoadSettings:
    """The knobs of one run; every field maps to a locustfile option of the same name."""

    batch_size: int = 1
    pacing: float = 0.0
    steady_users: int = 8
    ramp_seconds: float = 10.0
    hold_seconds: float = 30.0
    burst_users: int = 4
    burst_seconds: float = 10.0
    processes: int = 1
    protocol: str = DEFAULT_PROTOCOL  # rest or oip (loadtests.protocols)
    # The step (loadtests.shapes.StepPlan): step_users paced users, step_factor times as many for
    # step_seconds, then back down; each user sends one request per step_pacing s at most.
    step_users: int = 2
    step_factor: int = 10
    baseline_seconds: float = 10.0
    step_seconds: float = 30.0
    after_seconds: float = 10.0
    step_pacing: float = 0.1

    def planned_seconds(self, scenario: str) -> float:
        if scenario == "step":
            return self.baseline_seconds + self.step_seconds + self.after_seconds
        return self.ramp_seconds + self.hold_seconds if scenario == "steady" else self.burst_seconds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def locust_command(scenario: str, host: str, out_dir: Path, settings: LoadSettings) -> list[str]:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")
    pacing = settings.step_pacing if scenario == "step" else settings.pacing
    command = [
        sys.executable, "-m", "locust",
        "--locustfile", str(SCENARIO_DIR / f"{scenario}.py"),
        "--headless", "--host", host,
        "--csv", str(out_dir / "locust"), "--html", str(out_dir / "locust.html"),
        "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
        "--stop-timeout", "60",  # let in-flight requests (a slow cold start) finish when the shape ends
        "--samples-dir", str(out_dir),
        "--protocol", settings.protocol,
        "--batch-size", str(settings.batch_size), "--pacing", str(pacing),
        "--steady-users", str(settings.steady_users),
        "--ramp-seconds", str(settings.ramp_seconds), "--hold-seconds", str(settings.hold_seconds),
        "--burst-users", str(settings.burst_users), "--burst-seconds", str(settings.burst_seconds),
        "--step-users", str(settings.step_users), "--step-factor", str(settings.step_factor),
        "--baseline-seconds", str(settings.baseline_seconds), "--step-seconds", str(settings.step_seconds),
        "--after-seconds", str(settings.after_seconds),
    ]  # fmt: skip
    if settings.processes > 1:
        command += ["--processes", str(settings.processes)]
    return command


def locust_environment() -> dict[str, str]:
    """Our environment, minus anything that would stop Locust from patching the stdlib with gevent."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("LOCUST_SKIP_MONKEY_PATCH", "LOCUST_SKIP_URLLIB3_PATCH")
    }


def run_locust(
    scenario: str,
    host: str,
    out_dir: Path,
    settings: LoadSettings,
    progress: Callable[[str], None] | None = None,
    auth: Auth = NO_AUTH,
) -> Path:
    """Run one scenario to completion and return the folder holding its samples and Locust files;
    ``auth`` says whether (and with what) the user signs its requests."""
    out_dir.mkdir(parents=True, exist_ok=True)
    planned = settings.planned_seconds(scenario)
    with (out_dir / "locust.out").open("w") as log:
        process = subprocess.Popen(
            locust_command(scenario, host, out_dir, settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=auth.locust_environment(locust_environment()),
        )
        try:
            _wait(process, planned, out_dir, progress)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"locust exited with {process.returncode}; see {out_dir / 'locust.out'}")
    return out_dir


def _wait(
    process: subprocess.Popen[bytes], planned: float, out_dir: Path, progress: Callable[[str], None] | None
) -> None:
    started = time.monotonic()
    deadline = started + planned + 90
    last_report = started
    while process.poll() is None:
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"locust ran {now - started:.0f}s, planned {planned:.0f}s")
        if progress is not None and now - last_report >= 10:
            last_report = now
            progress(f"{now - started:4.0f}s / ~{planned:.0f}s, {count_samples(out_dir)} requests")
        time.sleep(0.5)


def count_samples(out_dir: Path) -> int:
    total = 0
    for path in out_dir.glob("samples-*.jsonl"):
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total
