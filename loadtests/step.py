"""From a step run's samples and capacity readings to the figures that decide (see loadtests.shapes).

Per 5 s window, counted from the moment the step began (negative: the baseline): throughput, p50
and p99 of the successful requests, errors, and the capacity in service (the most seen in the
window; the last reading before it when none fell inside). Then the deciding figures:

- **recovery**: seconds from the step until p99 is back under 2x the baseline's p99 and stays there
  for the rest of the step (0: it never left; None: not within the step), a failed request counting
  as slower than any answer;
- **failed during the step**: requests that got no correct answer while the step was held;
- **cost of the step**: what the step's seconds cost at the capacity that served them (``step_cost``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from infra.common import sizing
from infra.common.sizing import Architecture
from loadtests.analysis import _errors, latency_summary, load_phases, load_samples
from loadtests.aws.billing import NOT_INVOKED
from loadtests.capacity import load_capacity
from loadtests.costs import hourly_cost, lambda_cost_per_million

WINDOW_SECONDS = 5.0
RECOVERY_FACTOR = 2.0
FAILED_SHARE_IN_P99 = 0.01  # a p99 can hide at most 1% of the requests
MIN_UNITS = {"ec2": sizing.EC2_MIN_INSTANCES, "ecs": sizing.FARGATE_MIN_TASKS}

Point = tuple[float, int]


def capacity_at(points: list[Point], start: float, end: float) -> int | None:
    """The most capacity seen in [start, end), else the last reading before ``start``."""
    inside = [n for t, n in points if start <= t < end]
    if inside:
        return max(inside)
    before = [n for t, n in points if t < start]
    return before[-1] if before else None


def windows(
    samples: list[dict[str, Any]], points: list[Point], origin: float, step_at: float, end: float
) -> list[dict[str, Any]]:
    """The per-window figures, windows aligned on the step's start; only whole windows inside the
    run (the shape's phases start on Locust's one-second ticks, so the first and last are partial)."""
    first = math.ceil(round((origin - step_at) / WINDOW_SECONDS, 6))
    last = math.floor(round((end - step_at) / WINDOW_SECONDS, 6)) - 1
    buckets: dict[int, list[dict[str, Any]]] = {index: [] for index in range(first, last + 1)}
    for row in samples:
        index = math.floor((row["t"] - step_at) / WINDOW_SECONDS)
        if index in buckets:
            buckets[index].append(row)
    rows = []
    for index, window in buckets.items():
        start = step_at + index * WINDOW_SECONDS
        latency = latency_summary([r["ms"] for r in window if r["ok"]])
        rows.append(
            {
                "t": round(index * WINDOW_SECONDS, 3),
                "requests": len(window),
                "rps": round(len(window) / WINDOW_SECONDS, 2),
                "p50": latency["p50"],
                "p99": latency["p99"],
                "errors": sum(1 for r in window if not r["ok"]),
                "capacity": capacity_at(points, start, start + WINDOW_SECONDS),
            }
        )
    return rows


def back_to_normal(row: dict[str, Any], threshold_ms: float) -> bool:
    """p99 under the threshold, counting a failed request as slower than any answer: so a window
    where more than 1% of the requests failed is not back, whatever its successes' p99."""
    if row["p99"] is None:
        return False
    return bool(row["p99"] < threshold_ms and row["errors"] <= FAILED_SHARE_IN_P99 * row["requests"])


def recovery_seconds(rows: list[dict[str, Any]], step_seconds: float, threshold_ms: float) -> float | None:
    """Seconds from the step's start to the first window after which every whole window of the step
    is ``back_to_normal``: 0 if it never left, None if not within the step."""
    held = [r for r in rows if r["t"] >= 0 and r["t"] + WINDOW_SECONDS <= step_seconds]
    recovered_at: float | None = None
    for row in held:
        if not back_to_normal(row, threshold_ms):
            recovered_at = None
        elif recovered_at is None:
            recovered_at = row["t"]
    return recovered_at


def unit_seconds(points: list[Point], start: float, end: float, default: int) -> float:
    """The integral of the capacity over [start, end): each reading holds until the next."""
    before = [n for t, n in points if t < start]
    level = before[-1] if before else default
    total, at = 0.0, start
    for t, n in points:
        if start <= t < end:
            total += level * (t - at)
            level, at = n, t
    return total + level * (end - at)


def _phase(samples: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    return [r for r in samples if start <= r["t"] < end]


def _phase_figures(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    return {
        "requests": len(rows),
        "invoked": sum(1 for r in rows if r["status"] not in NOT_INVOKED),
        "throughput_rps": round(len(rows) / max(seconds, 1e-9), 2),
        "latency_ms": latency_summary([r["ms"] for r in rows if r["ok"]]),
        **_errors(rows),
    }


def _capacity_figures(capacity: dict[str, Any], step_at: float, after_at: float) -> dict[str, Any]:
    points: list[Point] = [(float(t), int(n)) for t, n in capacity["points"]]
    in_step = [n for t, n in points if step_at <= t < after_at]
    in_baseline = [n for t, n in points if t < step_at]
    return {
        "unit": capacity["unit"],
        "source": capacity["source"],
        "baseline": max(in_baseline) if in_baseline else None,
        "peak_during_step": max(in_step) if in_step else None,
        "lowest_during_step": min(in_step) if in_step else None,
        "unit_seconds_during_step": round(unit_seconds(points, step_at, after_at, 0), 2) if points else None,
        "points": [[round(t - step_at, 2), n] for t, n in points],  # seconds since the step
    }


def summarize_step(folder: Path) -> dict[str, Any]:
    samples, phases = load_samples(folder), load_phases(folder)
    if not samples:
        raise ValueError(f"no request completed in {folder}: see locust.out there")
    origin = phases.get("baseline", samples[0]["t"])
    step_at = phases.get("step", origin)
    end = phases.get("end", phases.get("stopped", samples[-1]["t"]))
    after_at = phases.get("after", end)
    capacity = load_capacity(folder) or {"unit": None, "source": None, "points": []}
    baseline = _phase_figures(_phase(samples, origin, step_at), step_at - origin)
    held = _phase_figures(_phase(samples, step_at, after_at), after_at - step_at)
    rows = windows(samples, [(float(t), int(n)) for t, n in capacity["points"]], origin, step_at, end)
    threshold = RECOVERY_FACTOR * baseline["latency_ms"]["p99"] if baseline["latency_ms"]["p99"] else None
    return {
        "step_seconds": round(after_at - step_at, 2),
        "baseline_seconds": round(step_at - origin, 2),
        "after_seconds": round(end - after_at, 2),
        "baseline": baseline,
        "step": held,
        "failed_during_step": held["errors"],
        "recovery_threshold_ms": round(threshold, 2) if threshold else None,
        "recovery_seconds": recovery_seconds(rows, after_at - step_at, threshold) if threshold else None,
        "capacity": _capacity_figures(capacity, step_at, after_at),
        "windows": rows,
    }


def step_cost(
    way: str, arch: Architecture, prices: dict[str, Any], step: dict[str, Any], billing: dict[str, Any] | None
) -> dict[str, Any]:
    """What the held step cost. Lambda: the requests that ran the function, at the step run's mean
    billed duration (REPORT lines, on AWS) or the step's client-measured mean latency. EC2/ECS: the
    unit-seconds in service during the step, each unit at the way's hourly cost at its minimum size
    (ALB and IPv4 included, so above the minimum this is an upper bound)."""
    held = step["step"]
    if way == "lambda":
        billed = ((billing or {}).get("step") or {}).get("billed_ms_mean")
        mean_ms = billed if billed is not None else held["latency_ms"]["mean"]
        if mean_ms is None:
            return {"usd": None, "basis": "no request ran the function"}
        usd = lambda_cost_per_million(arch, prices, mean_ms) * held["invoked"] / 1_000_000
        basis = "billed duration (REPORT lines)" if billed is not None else "client-measured mean latency"
        return {
            "usd": round(usd, 6),
            "basis": f"{held['invoked']:,} invocations at the {basis}, {mean_ms:.1f} ms",
        }
    minimum = MIN_UNITS[way]
    unit_secs = step["capacity"]["unit_seconds_during_step"]
    if unit_secs is None:
        unit_secs = minimum * step["step_seconds"]
    usd = hourly_cost(way, arch, prices) / minimum * unit_secs / 3600
    return {"usd": round(usd, 6), "basis": f"{unit_secs:,.0f} unit-seconds at the hourly cost per unit"}


def step_line(step: dict[str, Any]) -> str:
    """One line of the deciding figures, for the terminal."""
    recovery = step["recovery_seconds"]
    recovered = (
        f"back under 2x after {recovery:g} s"
        if recovery is not None
        else f"not back under 2x within the {step['step_seconds']:.0f} s step"
    )
    capacity = step["capacity"]
    return (
        f"step: p99 {step['baseline']['latency_ms']['p99']} ms at baseline, {recovered}; "
        f"{step['failed_during_step']:,} of {step['step']['requests']:,} failed during the step; "
        f"capacity {capacity['baseline']} -> {capacity['peak_during_step']} {capacity['unit'] or ''}".rstrip()
    )
