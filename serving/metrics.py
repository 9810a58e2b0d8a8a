"""The Prometheus metrics this app exports at ``/metrics``.

With more than one uvicorn worker, ``serving.server`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start: prometheus-client then keeps each worker's values in files there (its multiprocess
mode), and ``/metrics``, whichever worker answers it, reports the sum over the workers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from serving.config import METRICS_DIR_VARIABLE

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route, method and status.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time in the app per request.",
    ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "model_inference_seconds", "onnxruntime run time per prediction call.", buckets=_LATENCY_BUCKETS
)
BATCH_ROWS = Histogram("model_batch_rows", "Rows per prediction call.", buckets=(1, 2, 8, 32, 128, 512, 1000))
COLD_STARTS = Counter("process_cold_starts_total", "Requests that were the first this process served.")
RESTORES = Counter("process_restores_total", "Requests that were the first after a Lambda SnapStart restore.")


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or in multiprocess mode every worker's,
    summed (a registry per scrape, as prometheus-client's multiprocess documentation does it)."""
    if METRICS_DIR_VARIABLE not in os.environ:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
