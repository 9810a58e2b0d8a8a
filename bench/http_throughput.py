"""HTTP throughput at fixed concurrency against one uvicorn worker per app, on loopback.

The load generator is a separate process (``bench.loadgen``); targets are interleaved round by
round and each figure is the median of its rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import Server, uvicorn_server
from bench.timing import median
from bench.workloads import REPO_ROOT, child_env, predict_body


@dataclass(frozen=True)
class Target:
    server: Server
    method: str
    path: str
    body: Path | None = None


def measure(
    naive_env: dict[str, str], connections: int, rounds: int, warmup: float, duration: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        body = Path(scratch) / "predict.json"
        body.write_bytes(predict_body(1))
        with (
            uvicorn_server("serving.app:app", {}) as app,
            uvicorn_server("bench.peers.asgi_floor:app", {}) as floor,
            uvicorn_server("bench.peers.naive:app", naive_env) as naive,
        ):
            targets = {
                "app_health": Target(app, "GET", "/health"),
                "app_predict": Target(app, "POST", "/predict", body),
                # The floor's own /predict to /health ratio: what serving the model costs over
                # HTTP at the least, whatever the app does.
                "asgi_floor_health": Target(floor, "GET", "/health"),
                "asgi_floor_predict": Target(floor, "POST", "/predict", body),
                "naive_predict": Target(naive, "POST", "/predict", body),
            }
            samples: dict[str, list[float]] = {name: [] for name in targets}
            names = list(targets)
            for round_index in range(rounds):
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    samples[name].append(_load(targets[name], connections, warmup, duration))
            rss = {"app": app.peak_rss_bytes(), "naive_peer": naive.peak_rss_bytes()}
    return {
        "connections": connections,
        "requests_per_s": {name: median(values) for name, values in samples.items()},
        "rounds_requests_per_s": samples,
        "peak_rss_bytes": rss,
    }


def _load(target: Target, connections: int, warmup: float, duration: float) -> float:
    command = [sys.executable, "-m", "bench.loadgen", "--port", str(target.server.port)]
    command += ["--method", target.method, "--path", target.path, "--connections", str(connections)]
    command += ["--warmup", str(warmup), "--duration", str(duration)]
    if target.body is not None:
        command += ["--body-file", str(target.body)]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=child_env(), capture_output=True, check=True, timeout=duration + 60
    )
    result = json.loads(completed.stdout)
    if result["errors"] or not result["requests"]:
        raise RuntimeError(f"{target.server.app} {target.path}: {result}")
    return float(result["requests_per_s"])
