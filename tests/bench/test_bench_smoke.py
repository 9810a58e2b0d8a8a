"""The bench runs end to end at tiny sizes and reports every figure. No timing thresholds:
the numbers of a quick run on a shared CI machine mean little; that they exist means a lot."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.goals import CONTEXT, GOALS
from bench.workloads import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    command = [sys.executable, "-m", "bench", "--profile", "quick", "--no-images", "--out", str(out)]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(Path(out).read_text()), completed.stdout


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_every_figure_is_a_positive_number(quick_run: tuple[dict[str, Any], str]) -> None:
    figures = quick_run[0]["figures"]

    assert set(figures["warm_request_us"]) == {"onnxruntime_run", "asgi_floor", "app", "naive_peer"}
    assert set(figures["http_requests_per_s"]) == {
        "app_health",
        "app_predict",
        "asgi_floor_health",
        "asgi_floor_predict",
        "naive_predict",
    }
    assert set(figures["batch_rows_per_s"]) == {"1", "32", "1000"}
    assert set(figures["cold_start_s"]) == {"floor_onnxruntime", "floor_fastapi", "app", "naive_peer"}
    assert set(figures["peak_rss_bytes"]) == {"app_worker", "naive_peer_worker"}
    assert set(figures["invalid_input_us"]) == {
        "largest_valid",
        "largest_valid_arrays",
        "rows_one_value_short",
        "one_row_of_unknown_keys",
        "strings_in_every_row",
        "empty_rows",
        "one_huge_number",
        "many_tiny_values",
    }
    assert figures["body_limit_bytes"] > 0
    numbers = [
        *figures["invalid_input_us"].values(),
        *figures["warm_request_us"].values(),
        *figures["http_requests_per_s"].values(),
        *(rate for size in figures["batch_rows_per_s"].values() for rate in size.values()),
        *figures["cold_start_s"].values(),
        *figures["peak_rss_bytes"].values(),
    ]
    assert all(_is_positive_number(number) for number in numbers), figures
    assert all(set(size) == {"onnxruntime_run", "app"} for size in figures["batch_rows_per_s"].values())
    assert set(figures["paired_ratios"]) == {
        "warm_app_vs_asgi_floor",
        "cold_app_vs_floor_fastapi",
        "cold_app_vs_naive_peer",
        "batch_1_app_vs_onnxruntime",
        "batch_32_app_vs_onnxruntime",
        "batch_1000_app_vs_onnxruntime",
        "worst_invalid_vs_largest_valid",
        "worst_invalid_vs_largest_valid_arrays",
    }
    assert all(_is_positive_number(ratio) for ratio in figures["paired_ratios"].values())
    assert figures["images"] == {"skipped": "--no-images"}


def test_every_goal_is_judged_and_a_miss_says_by_how_much(quick_run: tuple[dict[str, Any], str]) -> None:
    goals = {goal["name"]: goal for goal in quick_run[0]["goals"]}

    assert list(goals) == [goal.name for goal in GOALS]
    for name, goal in goals.items():
        if name == "lambda_image_added_mb":  # images were skipped on purpose
            assert goal["met"] is None and goal["value"] is None
            continue
        assert _is_positive_number(goal["value"]), goal
        assert isinstance(goal["met"], bool)
        assert (goal["miss_by_fraction"] == 0) is goal["met"]


def test_context_ratios_are_numbers(quick_run: tuple[dict[str, Any], str]) -> None:
    context = quick_run[0]["context"]
    assert set(context) == set(CONTEXT)
    assert all(_is_positive_number(ratio) for ratio in context.values())


def test_the_printed_table_shows_every_goal(quick_run: tuple[dict[str, Any], str]) -> None:
    stdout = quick_run[1]
    for goal in GOALS:
        assert goal.description in stdout
