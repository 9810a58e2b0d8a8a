"""The two LoadTestShapes, tick by tick, and the locustfiles that pair each with the user class."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from locust.util.load_locustfile import load_locustfile

from loadtests.faults.stop import STOP_FILE_ENV
from loadtests.locust_run import SCENARIO_DIR
from loadtests.shapes import ColdPlan, ColdShape, SteadyPlan, SteadyShape, StepShape


class FakeStats:
    def __init__(self) -> None:
        self.resets = 0

    def reset_all(self) -> None:
        self.resets += 1


def ticks(shape: Any, times: list[float]) -> list[Any]:
    results = []
    for now in times:
        shape.get_run_time = lambda now=now: now
        results.append(shape.tick())
    return results


def test_steady_ramps_holds_then_stops_and_resets_stats_once_when_the_hold_begins() -> None:
    shape = SteadyShape()
    shape.plan = SteadyPlan(users=8, ramp_seconds=10, hold_seconds=20)
    stats = FakeStats()
    shape.runner = SimpleNamespace(stats=stats)  # type: ignore[assignment]

    assert ticks(shape, [0, 5, 9.9]) == [(8, 0.8)] * 3
    assert stats.resets == 0
    assert ticks(shape, [10, 15, 29.9]) == [(8, 0.8)] * 3
    assert stats.resets == 1
    assert ticks(shape, [30]) == [None]
    assert list(shape.phase_marks) == ["ramp", "hold", "end"]
    assert shape.phase_marks["ramp"] <= shape.phase_marks["hold"] <= shape.phase_marks["end"]


def test_cold_starts_every_user_at_once_then_stops() -> None:
    shape = ColdShape()
    shape.plan = ColdPlan(users=5, seconds=6)
    assert ticks(shape, [0, 3, 5.9, 6]) == [(5, 5.0), (5, 5.0), (5, 5.0), None]
    assert set(shape.phase_marks) == {"burst", "end"}


def test_plans_come_from_the_locust_options() -> None:
    options = SimpleNamespace(
        steady_users=3, ramp_seconds=2.0, hold_seconds=4.0, burst_users=7, burst_seconds=1.5
    )
    runner: Any = SimpleNamespace(environment=SimpleNamespace(parsed_options=options), stats=FakeStats())
    steady, cold = SteadyShape(), ColdShape()
    steady.runner = cold.runner = runner
    assert steady.current_plan() == SteadyPlan(3, 2.0, 4.0)
    assert cold.current_plan() == ColdPlan(7, 1.5)


@pytest.mark.parametrize(
    ("scenario", "shape"), [("steady", SteadyShape), ("cold", ColdShape), ("step", StepShape)]
)
def test_each_scenario_locustfile_has_the_user_and_exactly_its_shape(scenario: str, shape: type) -> None:
    users, shapes = load_locustfile(str(Path(SCENARIO_DIR) / f"{scenario}.py"))
    assert list(users) == ["PredictUser"]
    assert [type(s) for s in shapes] == [shape]


def test_steady_ends_early_and_cleanly_once_the_stop_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop_file = tmp_path / "stop"
    monkeypatch.setenv(STOP_FILE_ENV, str(stop_file))
    shape = SteadyShape()
    shape.plan = SteadyPlan(users=2, ramp_seconds=1, hold_seconds=600)
    shape.runner = SimpleNamespace(stats=FakeStats())  # type: ignore[assignment]

    assert ticks(shape, [0, 5]) == [(2, 2.0)] * 2
    stop_file.touch()
    assert ticks(shape, [6]) == [None]
    assert "end" in shape.phase_marks
