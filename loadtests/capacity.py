"""The capacity in service while a scenario runs: Lambda environments, ECS tasks, EC2 instances.

A ``CapacityReader`` answers "how many now?"; ``CapacitySampler`` asks it every second in a thread
of the orchestrating process while Locust runs, and writes the answers (epoch seconds, count) to
``capacity.json`` beside the samples, where ``loadtests.step`` reads them. Where the count comes from
afterwards instead (Lambda's ConcurrentExecutions in CloudWatch), ``write_capacity`` writes the file.

Locally: the Function URL's pool (environments started and not yet retired) and HAProxy's stats
(targets UP). On AWS: ``loadtests.aws.capacity``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.balanced_target import BalancedTarget
from infra.local.function_url.target import FunctionUrlTarget
from infra.local.targets import LocalTarget

CAPACITY_FILE = "capacity.json"


@dataclass(frozen=True)
class CapacityReader:
    """What is counted (``unit``, e.g. "ECS tasks"), where from (``source``), and how."""

    unit: str
    source: str
    read: Callable[[], int]
    interval: float = 1.0  # seconds between reads


class CapacitySampler:
    """Reads ``reader`` every ``reader.interval`` s while the block runs (a failed read is skipped:
    the next one will do), then writes what it saw to ``folder/capacity.json``. None: does nothing."""

    def __init__(self, reader: CapacityReader | None, folder: Path) -> None:
        self.reader, self.folder = reader, folder
        self.points: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capacity", daemon=True)

    def __enter__(self) -> CapacitySampler:
        if self.reader is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.reader is None:
            return
        self._stop.set()
        self._thread.join()
        write_capacity(self.folder, self.reader.unit, self.reader.source, self.points)

    def _run(self) -> None:
        assert self.reader is not None
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a busy socket or a slow API: the next read counts
                self.points.append((time.time(), self.reader.read()))
            self._stop.wait(self.reader.interval)


def write_capacity(folder: Path, unit: str, source: str, points: list[tuple[float, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"unit": unit, "source": source, "points": sorted(points)}
    (folder / CAPACITY_FILE).write_text(json.dumps(record))


def load_capacity(folder: Path) -> dict[str, Any] | None:
    path = folder / CAPACITY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


# ---------------------------------------------------------------- on this machine
def haproxy_servers_up(target: BalancedTarget) -> int:
    """Targets the local ALB sends traffic to (status UP in HAProxy's stats)."""
    return sum(1 for row in target.balancer.servers().values() if row["status"] == "UP")


def local_capacity(target: LocalTarget) -> CapacityReader | None:
    """The reader for one local way: HAProxy's servers UP for ec2 and ecs, the Function URL's live
    environments for lambda."""
    if isinstance(target, BalancedTarget):
        unit = "EC2 instances" if target.name == "ec2" else "ECS tasks"
        return CapacityReader(unit, "HAProxy stats: targets UP", lambda: haproxy_servers_up(target))
    if isinstance(target, FunctionUrlTarget):
        source = "the local Function URL's pool: environments alive"
        return CapacityReader("Lambda environments", source, target.environments_alive)
    return None
