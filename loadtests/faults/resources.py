"""Memory and open files of a server's worker processes, read from /proc (Linux).

Container processes are host processes too (in their own PID namespace), so one reader covers
the ec2 host process, the ECS container and the Lambda environments; run as root (CI, the
demo's usual user) to read other users' /proc entries.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROC = Path("/proc")
TEN_MINUTES = 600.0
# A slope over less than this says how a heap fills at start-up, not whether it leaks: a 30 s CI
# soak's later half extrapolated to 10 minutes read as 1 GB. Shorter soaks report no growth figure.
MIN_GROWTH_WINDOW_SECONDS = 120.0


def children(pid: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parens
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for child in children(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def worker_pids(root: int) -> list[int]:
    """The processes that serve requests under ``root``: its Python descendants (uvicorn's
    workers; the runtime under an RIE), or ``root`` itself when it serves alone."""
    python = [
        pid
        for pid in descendants(root)
        if "python" in command_line(pid) and "resource_tracker" not in command_line(pid)
    ]
    return python or [root]


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(PROC / str(pid) / "fd"))
    except OSError:
        return None


@dataclass
class WorkerSeries:
    pid: int
    times: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    open_files: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        # The slope over the later half of the samples: a worker's heap fills up in its first
        # minute or so (caches, allocator arenas) and then stays flat unless something leaks.
        later = len(self.times) // 2
        times, rss = np.asarray(self.times[later:]), np.asarray(self.rss_mb[later:])
        growth = None
        if len(times) >= 2 and times[-1] - times[0] >= MIN_GROWTH_WINDOW_SECONDS:
            growth = round(float(np.polyfit(times, rss, 1)[0]) * TEN_MINUTES, 2)
        return {
            "pid": self.pid,
            "samples": len(self.times),
            "seconds": round(self.times[-1] - self.times[0], 1) if self.times else 0,
            "rss_mb_first": round(self.rss_mb[0], 1) if self.rss_mb else None,
            "rss_mb_last": round(self.rss_mb[-1], 1) if self.rss_mb else None,
            "rss_growth_mb_per_10min": growth,
            "open_files_first": self.open_files[0] if self.open_files else None,
            "open_files_last": self.open_files[-1] if self.open_files else None,
            "open_files_max": max(self.open_files) if self.open_files else None,
            # the samples themselves, to tell steady growth from a one-off step
            "rss_mb_samples": [round(value, 1) for value in self.rss_mb],
            "open_files_samples": self.open_files,
        }


class ResourceSampler:
    """Samples every worker under the given roots every ``interval`` s, in a thread, until stopped."""

    def __init__(self, roots: Callable[[], Iterable[int]], interval: float = 2.0) -> None:
        self.roots = roots
        self.interval = interval
        self.series: dict[int, WorkerSeries] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)

    def __enter__(self) -> ResourceSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)
        self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        for root in list(self.roots()):
            for pid in worker_pids(root):
                rss, files = rss_mb(pid), open_files(pid)
                if rss is not None and files is not None:
                    series = self.series.setdefault(pid, WorkerSeries(pid))
                    series.times.append(now)
                    series.rss_mb.append(rss)
                    series.open_files.append(files)

    def summary(self) -> dict[str, Any]:
        workers = [s.summary() for s in self.series.values() if len(s.times) >= 2]
        growth = [w["rss_growth_mb_per_10min"] for w in workers if w["rss_growth_mb_per_10min"] is not None]
        drift = [w["open_files_last"] - w["open_files_first"] for w in workers]
        return {
            "workers": workers,
            "rss_growth_mb_per_10min_max": max(growth) if growth else None,
            "open_files_change_max": max(drift, key=abs) if drift else None,
        }
