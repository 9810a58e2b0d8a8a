"""The bench runs end to end at tiny sizes, the quick profile's peer included (installed into its
own venv and served for real), and reports every figure. No timing thresholds: the numbers of a
quick run on a shared CI machine mean little; that they exist means a lot."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.goals import CONTEXT, GOALS
from bench.run import PROFILES
from infra.common.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.load]
QUICK = PROFILES["quick"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    command = [sys.executable, "-m", "bench", "--profile", "quick", "--no-images", "--out", str(out)]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(Path(out).read_text()), completed.stdout


def _leaves(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{path}/{key}")
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _leaves(value, f"{path}/{index}")
    else:
        yield path, tree


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_every_measured_figure_is_a_positive_number(quick_run: tuple[dict[str, Any], str]) -> None:
    figures = quick_run[0]["figures"]
    measured = {key: value for key, value in figures.items() if key != "images"}
    numbers = [(path, value) for path, value in _leaves(measured) if not isinstance(value, str)]

    assert len(numbers) > 50
    assert [(path, value) for path, value in numbers if not _is_positive_number(value)] == []
    assert figures["images"] == {"skipped": "--no-images"}


def test_each_profile_batch_size_is_measured_against_onnxruntime(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    figures = quick_run[0]["figures"]
    sizes = {str(size) for size in QUICK.batch_sizes}

    assert set(figures["batch_rows_per_s"]) == sizes
    assert all("onnxruntime_run" in targets for targets in figures["batch_rows_per_s"].values())
    assert {f"batch_{size}_app_vs_onnxruntime" for size in sizes} <= set(figures["paired_ratios"])


def test_the_app_and_the_quick_peer_were_served_and_measured(quick_run: tuple[dict[str, Any], str]) -> None:
    peers = quick_run[0]["figures"]["peers"]
    served = {"app", *QUICK.peers.peers}

    assert peers["skipped"] == {}
    assert set(peers["targets"]) == served
    for size in QUICK.peers.batch_sizes:
        assert set(peers["requests_per_s"][str(size)]) == served
    for figure in ("latency_ms", "cold_start_s", "peak_rss_bytes", "installed_bytes"):
        assert set(peers[figure]) == served, figure
    assert all(entry["p50"] <= entry["p99"] for entry in peers["latency_ms"].values())


def test_every_goal_is_judged_and_a_miss_says_by_how_much(quick_run: tuple[dict[str, Any], str]) -> None:
    goals = {goal["name"]: goal for goal in quick_run[0]["goals"]}

    assert list(goals) == [goal.name for goal in GOALS]
    unjudged = [name for name, goal in goals.items() if goal["met"] is None]
    assert unjudged == ["lambda_image_added_mb"]  # images were skipped on purpose
    assert goals["lambda_image_added_mb"]["value"] is None
    for name, goal in goals.items():
        if name in unjudged:
            continue
        assert _is_positive_number(goal["value"]), goal
        assert isinstance(goal["met"], bool)
        assert (goal["miss_by_fraction"] == 0) is goal["met"]


def test_context_ratios_are_numbers(quick_run: tuple[dict[str, Any], str]) -> None:
    context = quick_run[0]["context"]
    assert set(context) == set(CONTEXT)
    assert all(_is_positive_number(ratio) for ratio in context.values())


def test_the_printed_table_shows_every_goal_and_every_server(quick_run: tuple[dict[str, Any], str]) -> None:
    stdout = quick_run[1]
    for goal in GOALS:
        assert goal.description in stdout
    for name in quick_run[0]["figures"]["peers"]["targets"]:
        assert f"\n  {name} " in stdout
