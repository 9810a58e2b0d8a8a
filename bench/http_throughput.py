"""HTTP throughput at fixed concurrency against one uvicorn worker per app, on loopback.

The load generator is a separate process (``bench.loadgen``); targets are interleaved round by
round and each figure is the median of its rounds.
"""

from __future__ import annotations

from typing import Any

from bench.loadgen import drive
from bench.servers import Request, Running, serve, uvicorn_launch
from bench.timing import median, rotated_rounds
from bench.workloads import predict_body

HEALTH = Request("/health")


def measure(
    naive_env: dict[str, str], connections: int, rounds: int, warmup: float, duration: float
) -> dict[str, Any]:
    predict = Request("/predict", predict_body(1))
    with (
        serve("app", uvicorn_launch("serving.app:app", {}), HEALTH) as app,
        serve("asgi_floor", uvicorn_launch("bench.peers.asgi_floor:app", {}), HEALTH) as floor,
        serve("naive_peer", uvicorn_launch("bench.peers.naive:app", naive_env), HEALTH) as naive,
    ):
        targets: dict[str, tuple[Running, Request]] = {
            "app_health": (app, HEALTH),
            "app_predict": (app, predict),
            # The floor's own /predict to /health ratio: what serving the model costs over
            # HTTP at the least, whatever the app does.
            "asgi_floor_health": (floor, HEALTH),
            "asgi_floor_predict": (floor, predict),
            "naive_predict": (naive, predict),
        }
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for name in rotated_rounds(list(targets), rounds):
            server, request = targets[name]
            samples[name].append(drive(server.port, request, connections, warmup, duration)["requests_per_s"])
        rss = {"app": app.peak_rss_bytes(), "naive_peer": naive.peak_rss_bytes()}
    return {
        "connections": connections,
        "requests_per_s": {name: median(values) for name, values in samples.items()},
        "rounds_requests_per_s": samples,
        "peak_rss_bytes": rss,
    }
