"""The goals against the peers compare the app with the best peer on each figure, and say by how
much a miss is off; with no peer measured they are not judged."""

from __future__ import annotations

from typing import Any

import pytest

from bench.goals import GOALS

GOAL = {goal.name: goal for goal in GOALS}


def _figures(**peers: Any) -> dict[str, Any]:
    return {"peers": peers}


def test_throughput_is_compared_with_the_fastest_peer() -> None:
    figures = _figures(requests_per_s={"1": {"app": 3000.0, "slow": 500.0, "fast": 1000.0}})

    verdict = GOAL["peers_requests_per_s_batch_1"].check(figures)

    assert verdict["value"] == pytest.approx(3.0)
    assert verdict["met"] is True and verdict["miss_by_fraction"] == 0


def test_p99_is_compared_with_the_quickest_peer_and_a_miss_says_by_how_much() -> None:
    figures = _figures(latency_ms={"app": {"p99": 6.0}, "quick": {"p99": 10.0}, "slow": {"p99": 99.0}})

    verdict = GOAL["peers_p99_at_fixed_load"].check(figures)

    assert verdict["value"] == pytest.approx(0.6)
    assert verdict["met"] is False
    assert verdict["miss_by_fraction"] == pytest.approx(0.2)  # 0.6x against a limit of 0.5x


def test_size_is_compared_with_the_smallest_peer() -> None:
    figures = _figures(installed_bytes={"app": 160.0, "small": 150.0, "big": 400.0})

    verdict = GOAL["peers_installed_size"].check(figures)

    assert verdict["met"] is False
    assert verdict["value"] == pytest.approx(160 / 150)


def test_without_peers_the_goals_are_not_judged() -> None:
    figures = _figures(cold_start_s={"app": 1.0})

    verdict = GOAL["peers_cold_start"].check(figures)

    assert verdict["value"] is None and verdict["met"] is None
