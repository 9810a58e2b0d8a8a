"""The goals, each a ratio (or a size) from the same run, and how far a missed one is off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MB = 1_000_000


@dataclass(frozen=True)
class Goal:
    name: str
    description: str
    unit: str  # "x" for ratios, "MB" for sizes
    limit: float
    at_most: bool  # True: the value must be <= limit; False: >= limit
    value: Callable[[dict[str, Any]], float | None]

    def check(self, figures: dict[str, Any]) -> dict[str, Any]:
        value = self.value(figures)
        entry: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "limit": self.limit,
            "comparison": "<=" if self.at_most else ">=",
            "value": value,
        }
        if value is None:
            return entry | {"met": None, "miss_by_fraction": None}
        met = value <= self.limit if self.at_most else value >= self.limit
        # How far off, as a fraction of the limit: 0.25 = 25 % over (at most) or short (at least).
        miss = 0.0 if met else abs(value - self.limit) / self.limit
        return entry | {"met": met, "miss_by_fraction": miss}


def _ratio(section: str, numerator: str, denominator: str) -> Callable[[dict[str, Any]], float]:
    return lambda figures: figures[section][numerator] / figures[section][denominator]


def _batch_ratio(path: str) -> Callable[[dict[str, Any]], float]:
    """The largest batch's rows/s through ``path`` ("app": JSON /predict, "app_oip_binary") over
    raw onnxruntime's, per round."""

    def ratio(figures: dict[str, Any]) -> float:
        largest = max(figures["batch_rows_per_s"], key=int)
        return float(figures["paired_ratios"][f"batch_{largest}_{path}_vs_onnxruntime"])

    return ratio


def _lambda_added_mb(figures: dict[str, Any]) -> float | None:
    images = figures["images"]
    return None if "skipped" in images else images["lambda"]["added_over_base_bytes"] / MB


def _vs_best_peer(
    figure: Callable[[dict[str, Any]], dict[str, float]], higher_is_better: bool
) -> Callable[[dict[str, Any]], float | None]:
    """The app's figure over the best peer's (None when no peer ran)."""

    def value(figures: dict[str, Any]) -> float | None:
        values = figure(figures["peers"])
        peers = [value for name, value in values.items() if name != "app"]
        if not peers:
            return None
        return values["app"] / (max(peers) if higher_is_better else min(peers))

    return value


def _requests_per_s(size: str) -> Callable[[dict[str, Any]], dict[str, float]]:
    return lambda peers: peers["requests_per_s"][size]


def _p99(peers: dict[str, Any]) -> dict[str, float]:
    return {name: entry["p99"] for name, entry in peers["latency_ms"].items()}


GOALS = [
    Goal(
        "warm_predict_vs_asgi_floor",
        "warm in-process /predict via Mangum <= 1.5x the ASGI floor",
        "x",
        1.5,
        True,
        lambda figures: figures["paired_ratios"]["warm_app_vs_asgi_floor"],
    ),
    Goal(
        "http_predict_vs_health",
        "HTTP /predict throughput >= 0.8x the same server's /health",
        "x",
        0.8,
        False,
        _ratio("http_requests_per_s", "app_predict", "app_health"),
    ),
    Goal(
        "http_predict_vs_naive",
        "HTTP /predict throughput >= 10x the naive peer's",
        "x",
        10.0,
        False,
        _ratio("http_requests_per_s", "app_predict", "naive_predict"),
    ),
    Goal(
        "cold_start_vs_floor_fastapi",
        "cold start <= 1.2x the floor process importing fastapi, numpy, onnxruntime",
        "x",
        1.2,
        True,
        lambda figures: figures["paired_ratios"]["cold_app_vs_floor_fastapi"],
    ),
    Goal(
        "cold_start_vs_naive",
        "cold start <= 0.35x the naive peer's",
        "x",
        0.35,
        True,
        lambda figures: figures["paired_ratios"]["cold_app_vs_naive_peer"],
    ),
    Goal(
        "batch_1000_vs_onnxruntime",
        "largest batch (1,000 rows), binary OIP infer via Mangum: rows/s >= 0.8x raw onnxruntime",
        "x",
        0.8,
        False,
        _batch_ratio("app_oip_binary"),
    ),
    Goal(
        "worst_invalid_vs_largest_valid",
        "worst invalid /predict request <= 2x the largest valid one (in process, via Mangum)",
        "x",
        2.0,
        True,
        lambda figures: figures["paired_ratios"]["worst_invalid_vs_largest_valid"],
    ),
    Goal(
        "lambda_image_added_mb",
        "the Lambda image adds <= 200 MB over its base",
        "MB",
        200.0,
        True,
        _lambda_added_mb,
    ),
    Goal(
        "app_worker_peak_rss_mb",
        "peak RSS of one app worker <= 150 MB",
        "MB",
        150.0,
        True,
        lambda figures: figures["peak_rss_bytes"]["app_worker"] / MB,
    ),
    # Against the model servers users would pick instead (bench/peers/catalog.py), each one worker.
    Goal(
        "peers_requests_per_s_batch_1",
        "HTTP requests/s per worker at batch 1 >= 1.5x the best peer's",
        "x",
        1.5,
        False,
        _vs_best_peer(_requests_per_s("1"), higher_is_better=True),
    ),
    Goal(
        "peers_requests_per_s_batch_32",
        "HTTP requests/s per worker at batch 32 >= 1.5x the best peer's",
        "x",
        1.5,
        False,
        _vs_best_peer(_requests_per_s("32"), higher_is_better=True),
    ),
    Goal(
        "peers_p99_at_fixed_load",
        "p99 latency at the fixed offered load (batch 1) <= 0.5x the best peer's",
        "x",
        0.5,
        True,
        _vs_best_peer(_p99, higher_is_better=False),
    ),
    Goal(
        "peers_cold_start",
        "cold start, fresh server process to first prediction <= 0.5x the best peer's",
        "x",
        0.5,
        True,
        _vs_best_peer(lambda peers: peers["cold_start_s"], higher_is_better=False),
    ),
    Goal(
        "peers_peak_rss",
        "peak RSS per worker <= the smallest peer's",
        "x",
        1.0,
        True,
        _vs_best_peer(lambda peers: peers["peak_rss_bytes"], higher_is_better=False),
    ),
    Goal(
        "peers_installed_size",
        "installed serving dependencies <= the smallest peer's",
        "x",
        1.0,
        True,
        _vs_best_peer(lambda peers: peers["installed_bytes"], higher_is_better=False),
    ),
]


def check_all(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [goal.check(figures) for goal in GOALS]


# Ratios that are not goals but say what a goal is up against, from the same run.
CONTEXT = {
    # The same largest batch as JSON through /predict: what the binary path saves.
    "batch_largest_json_predict_vs_onnxruntime": _batch_ratio("app"),
    "http_asgi_floor_predict_vs_its_health": _ratio(
        "http_requests_per_s", "asgi_floor_predict", "asgi_floor_health"
    ),
    "http_app_predict_vs_asgi_floor_predict": _ratio(
        "http_requests_per_s", "app_predict", "asgi_floor_predict"
    ),
    # The same worst invalid request against the fast path's largest request (arrays, not objects).
    "worst_invalid_vs_largest_valid_arrays": lambda figures: figures["paired_ratios"][
        "worst_invalid_vs_largest_valid_arrays"
    ],
}


def context(figures: dict[str, Any]) -> dict[str, float]:
    return {name: ratio(figures) for name, ratio in CONTEXT.items()}
