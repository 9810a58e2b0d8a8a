"""From recorded samples (one JSON line per request) to the numbers the report shows.

Percentiles are computed from every recorded request, not from Locust's bucketed histogram.
The steady numbers cover the hold only (the shape's ``hold`` mark onwards); the cold numbers
split responses by the app's ``x-cold-start`` header. Requests the client SigV4-signed carry
``sign_ms``, the client-side time spent signing them (not part of ``ms``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from loadtests.locust_run import PHASES_FILE


def load_samples(folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("samples-*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda row: row["t"])


def load_phases(folder: Path) -> dict[str, float]:
    path = folder / PHASES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def latency_summary(milliseconds: list[float]) -> dict[str, float | None]:
    if not milliseconds:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    values = np.asarray(milliseconds, dtype=float)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "mean": round(float(values.mean()), 2),
        "max": round(float(values.max()), 2),
    }


def time_series(
    samples: list[dict[str, Any]], origin: float, bucket_seconds: float = 1.0
) -> list[dict[str, Any]]:
    """Requests per second and latency percentiles per time bucket, by request start time."""
    buckets: dict[int, list[dict[str, Any]]] = {}
    for row in samples:
        buckets.setdefault(math.floor((row["t"] - origin) / bucket_seconds), []).append(row)
    series = []
    for index in sorted(buckets):
        rows = buckets[index]
        ok = [r["ms"] for r in rows if r["ok"]]
        series.append(
            {
                "t": round(index * bucket_seconds, 3),
                "rps": round(len(rows) / bucket_seconds, 2),
                "errors": sum(1 for r in rows if not r["ok"]),
                "p50": latency_summary(ok)["p50"],
                "p95": latency_summary(ok)["p95"],
            }
        )
    return series


def signing_summary(samples: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The client-side signing cost per request, or None when no request was signed."""
    signed = np.asarray([r["sign_ms"] for r in samples if "sign_ms" in r], dtype=float)
    if not signed.size:
        return None
    p50, p95, p99 = np.percentile(signed, [50, 95, 99])
    summary = {"p50": p50, "p95": p95, "p99": p99, "mean": signed.mean(), "max": signed.max()}
    return {
        "requests": int(signed.size),
        **{key: round(float(value), 4) for key, value in summary.items()},
        "total_ms": round(float(signed.sum()), 2),
    }


def _errors(samples: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [r for r in samples if not r["ok"]]
    by_status: dict[str, int] = {}
    for row in failed:
        by_status[str(row["status"])] = by_status.get(str(row["status"]), 0) + 1
    return {
        "errors": len(failed),
        "error_rate": round(len(failed) / len(samples), 5) if samples else None,
        "errors_by_status": by_status,
    }


def summarize_steady(folder: Path) -> dict[str, Any]:
    samples, phases = load_samples(folder), load_phases(folder)
    if not samples:
        raise ValueError(f"no request completed in {folder}: see locust.out there")
    origin = phases.get("ramp", samples[0]["t"])
    hold_start = phases.get("hold", origin)
    hold_end = phases.get("end", phases.get("stopped", samples[-1]["t"]))
    hold = [r for r in samples if hold_start <= r["t"] < hold_end]
    seconds = max(hold_end - hold_start, 1e-9)
    return {
        "requests": len(hold),
        "hold_seconds": round(seconds, 2),
        "throughput_rps": round(len(hold) / seconds, 2),
        **_errors(hold),
        "latency_ms": latency_summary([r["ms"] for r in hold if r["ok"]]),
        "cold_responses": sum(1 for r in samples if r["cold"]),
        "signing_ms": signing_summary(hold),
        "hold_starts_at": round(hold_start - origin, 2),
        "series": time_series(samples, origin),
    }


def summarize_cold(folder: Path) -> dict[str, Any]:
    samples = load_samples(folder)
    if not samples:
        raise ValueError(f"no request completed in {folder}: see locust.out there")
    cold = [r for r in samples if r["cold"] and r["ok"]]
    warm = [r for r in samples if not r["cold"] and r["ok"]]
    return {
        "requests": len(samples),
        **_errors(samples),
        "cold_responses": len(cold),
        "cold_latency_ms": latency_summary([r["ms"] for r in cold]),
        "cold_latencies_ms": [round(r["ms"], 2) for r in cold],
        "warm_latency_ms": latency_summary([r["ms"] for r in warm]),
        "first_response_ms": round(samples[0]["ms"], 2),
        "signing_ms": signing_summary(samples),
    }
