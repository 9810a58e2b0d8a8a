"""Steady Locust load in the background while a scenario does something to the target.

The load ends when the scenario is done (a stop file the steady shape watches: in-flight requests
finish and every sample is written), or at ``max_seconds`` at the latest. Every request is
recorded (loadtests.users), so the scenario can count what was sent and what failed, and when.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.analysis import latency_summary, load_samples
from loadtests.faults.stop import STOP_FILE_ENV
from loadtests.locust_run import LoadSettings, locust_command, locust_environment

RAMP_SECONDS = 2.0
START_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class LoadResult:
    """What the clients saw: every request's start (epoch s), duration and outcome."""

    samples: list[dict[str, Any]] = field(repr=False)

    @property
    def sent(self) -> int:
        return len(self.samples)

    def failures(self, since: float = 0.0, until: float = float("inf")) -> list[dict[str, Any]]:
        return [r for r in self.samples if not r["ok"] and since <= r["t"] < until]

    def p99_ms(self, since: float = 0.0) -> float | None:
        return latency_summary([r["ms"] for r in self.samples if r["ok"] and r["t"] >= since])["p99"]

    def summary(self) -> dict[str, Any]:
        failed = self.failures()
        statuses: dict[str, int] = {}
        for row in failed:
            key = str(row["status"] or row.get("error", "")[:60])
            statuses[key] = statuses.get(key, 0) + 1
        return {"requests": self.sent, "failed": len(failed), "failed_by_status": statuses}


class BackgroundLoad:
    def __init__(self, url: str, out_dir: Path, users: int, max_seconds: float) -> None:
        self.url = url
        self.out_dir = out_dir
        self.settings = LoadSettings(steady_users=users, ramp_seconds=RAMP_SECONDS, hold_seconds=max_seconds)
        self.stop_file = out_dir / "stop"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.began: float | None = None  # the first answered request (Locust takes a while to start)

    def __enter__(self) -> BackgroundLoad:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "locust.out").open("w") as log:
            self.process = subprocess.Popen(
                locust_command("steady", self.url, self.out_dir, self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**locust_environment(), STOP_FILE_ENV: str(self.stop_file)},
            )
        self.started = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def warm_up(self, seconds: float = 2.0) -> None:
        """Wait until the first request is answered, every user runs, and ``seconds`` more passed."""
        self.hold_until(RAMP_SECONDS + seconds)

    def hold_until(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed since the load began (its first answered request)."""
        while self.began is None or time.monotonic() - self.began < seconds:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"locust stopped early; see {self.out_dir / 'locust.out'}")
            if self.began is None and any(self.out_dir.glob("samples-*.jsonl")):
                self.began = time.monotonic()
            if time.monotonic() - self.started > START_TIMEOUT_SECONDS and self.began is None:
                raise TimeoutError(f"no answer within {START_TIMEOUT_SECONDS:.0f} s; see {self.out_dir}")
            time.sleep(0.1)

    def stop(self) -> LoadResult:
        self.stop_file.touch()
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(90)  # Locust's --stop-timeout is 60 s
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return LoadResult(load_samples(self.out_dir))
