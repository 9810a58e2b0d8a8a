"""The app against the model servers users would pick instead (``bench.peers.catalog``).

Each server runs one worker from its own venv, on 127.0.0.1. All of them are driven by the same
load generator (``bench.loadgen``, its own process), targets interleaved round by round:

* requests/s per worker, closed loop, at each batch size;
* p50 and p99 at one fixed offered load (open loop, batch 1), below every peer's capacity;
* peak RSS per worker (VmHWM of the largest process in the server's tree), read after the load;
* cold start: a fresh server process until its first successful prediction, nothing else running;
* installed size of the serving dependencies (the venv's site-packages).
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench import venvs
from bench.loadgen import drive
from bench.peers.catalog import APP, PEERS, Peer
from bench.servers import Running, serve
from bench.timing import median, rotated_rounds


@dataclass(frozen=True)
class Settings:
    peers: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    connections: int
    rounds: int
    warmup_s: float
    duration_s: float
    offered_per_s: float  # the fixed load for the latency figures (batch 1), at most
    latency_s: float
    cold_rounds: int


def measure(settings: Settings) -> dict[str, Any]:
    targets, skipped = _install([APP, *(PEERS[name] for name in settings.peers)])
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as scratch_dir:
        scratch = Path(scratch_dir)
        warm = _warm(targets, settings, scratch)
        cold = _cold(targets, settings.cold_rounds, scratch)
    return {
        "targets": {
            name: {"what": peer.what, "runtime": peer.runtime, "protocol": peer.protocol}
            for name, (peer, _) in targets.items()
        },
        "skipped": skipped,
        **warm,
        "cold_start_s": {name: median(values) for name, values in cold.items()},
        "installed_bytes": {name: venvs.site_packages_bytes(python) for name, (_, python) in targets.items()},
        "rounds": {"cold_start_s": cold},
    }


def _install(peers: list[Peer]) -> tuple[dict[str, tuple[Peer, Path]], dict[str, str]]:
    """Each target's venv; a peer that cannot be installed here is dropped, and the reason kept."""
    targets: dict[str, tuple[Peer, Path]] = {}
    skipped: dict[str, str] = {}
    for peer in peers:
        try:
            targets[peer.name] = (peer, venvs.ensure(peer.name, peer.requirements))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            if peer is APP:
                raise
            skipped[peer.name] = f"could not be installed: {error}"
    return targets, skipped


def _warm(targets: dict[str, tuple[Peer, Path]], settings: Settings, scratch: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(_serve(peer, python, scratch))
            for name, (peer, python) in targets.items()
        }
        throughput: dict[str, dict[str, list[float]]] = {}
        load = (settings.connections, settings.warmup_s)
        for size in settings.batch_sizes:
            samples: dict[str, list[float]] = {name: [] for name in targets}
            for name in rotated_rounds(list(targets), settings.rounds):
                request = targets[name][0].request(size)
                result = drive(servers[name].port, request, *load, settings.duration_s)
                samples[name].append(result["requests_per_s"])
            throughput[str(size)] = samples
        offered = _offered_load(settings.offered_per_s, throughput["1"])
        latency: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for name in rotated_rounds(list(targets), settings.rounds):
            request = targets[name][0].request(1)
            latency[name].append(drive(servers[name].port, request, *load, settings.latency_s, offered))
        rss = {name: server.peak_rss_bytes() for name, server in servers.items()}
    return {
        "offered_per_s": offered,
        "requests_per_s": {
            size: {name: median(values) for name, values in samples.items()}
            for size, samples in throughput.items()
        },
        "latency_ms": {
            name: {
                quantile: median([sample[f"{quantile}_ms"] for sample in samples])
                for quantile in ("p50", "p99")
            }
            for name, samples in latency.items()
        },
        "peak_rss_bytes": rss,
    }


def _offered_load(ceiling: float, batch_1_rounds: dict[str, list[float]]) -> float:
    """One load for every server: the profile's, unless the slowest server measured less than twice
    that at batch 1 in this run (a busy machine); then half of what it measured. A load above a
    server's capacity only grows its queue, and its p99 with the length of the run."""
    slowest = min(median(rounds) for rounds in batch_1_rounds.values())
    return round(min(ceiling, slowest / 2), 1)


def _cold(targets: dict[str, tuple[Peer, Path]], rounds: int, scratch: Path) -> dict[str, list[float]]:
    for peer, python in targets.values():  # prime the bytecode cache and the OS's page cache; not timed
        with _serve(peer, python, scratch):
            pass
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for name in rotated_rounds(list(targets), rounds):
        peer, python = targets[name]
        started = time.monotonic()
        with _serve(peer, python, scratch, started):
            samples[name].append(time.monotonic() - started)
    return samples


def _serve(
    peer: Peer, python: Path, scratch: Path, started: float | None = None
) -> contextlib.AbstractContextManager[Running]:
    """The peer's server, up once it has answered its first prediction with a 200."""
    return serve(peer.name, partial(peer.launch, python, scratch), peer.request(1), started)
