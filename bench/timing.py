"""Small timing helpers shared by the harnesses: interleaved rounds and medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator


def seconds_per_call(call: Callable[[], object], min_seconds: float, min_calls: int = 3) -> float:
    """Call repeatedly for at least ``min_seconds`` (and ``min_calls``); return the mean time per call."""
    calls = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_seconds or calls < min_calls:
        call()
        calls += 1
        elapsed = time.perf_counter() - started
    return elapsed / calls


def interleaved(
    targets: dict[str, Callable[[], object]], rounds: int, min_seconds: float
) -> dict[str, list[float]]:
    """Seconds per call for every target, each round visiting all targets in a rotated order,
    so drift in the machine's load hits every target alike."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for name in rotated_rounds(list(targets), rounds):
        samples[name].append(seconds_per_call(targets[name], min_seconds))
    return samples


def rotated_rounds(names: list[str], rounds: int) -> Iterator[str]:
    """Every name once per round, the starting point rotating from round to round."""
    for round_index in range(rounds):
        shift = round_index % len(names)
        yield from names[shift:] + names[:shift]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of round-by-round ratios: robust to load that drifts between rounds."""
    return median([n / d for n, d in zip(numerators, denominators, strict=True)])
