"""The traffic step: its Locust shape tick by tick, the capacity sampler, the per-window figures and
the deciding ones (recovery, failures, cost) from a written run, and its section and chart in the
report. The readers of real capacity are exercised elsewhere: HAProxy's in test_proxy, the local
Function URL pool's in the end-to-end demo, AWS's against botocore's Stubber in test_aws_capacity."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from loadtests.capacity import CAPACITY_FILE, CapacityReader, CapacitySampler, load_capacity
from loadtests.comparison import report_data
from loadtests.costs import DEFAULT_PRICES, load_prices
from loadtests.demo import parse_args as demo_args
from loadtests.locust_run import PHASES_FILE, LoadSettings, locust_command
from loadtests.report import STEP_CHART, markdown, write_report
from loadtests.shapes import StepPlan, StepShape
from loadtests.step import step_cost, summarize_step, unit_seconds
from tests.loadtests.test_report import PNG_MAGIC, recorded_targets
from tests.loadtests.test_shapes import ticks

ORIGIN = 1_000.0  # the baseline begins; the step at +10 s, back down at +20 s, the end at +30 s
PRICES = load_prices(DEFAULT_PRICES)


# ---------------------------------------------------------------- the shape
def test_the_step_holds_a_baseline_then_factor_times_the_users_then_comes_back_down() -> None:
    shape = StepShape()
    shape.plan = StepPlan(users=3, factor=10, baseline_seconds=10, step_seconds=20, after_seconds=5)
    assert ticks(shape, [0, 9.9]) == [(3, 30.0)] * 2
    assert ticks(shape, [10, 29.9]) == [(30, 30.0)] * 2  # all 30 at once: a step, not a ramp
    assert ticks(shape, [30, 34.9]) == [(3, 30.0)] * 2
    assert ticks(shape, [35]) == [None]
    assert list(shape.phase_marks) == ["baseline", "step", "after", "end"]


def test_the_step_plan_comes_from_the_locust_options_and_the_run_is_paced() -> None:
    options = SimpleNamespace(
        step_users=2, step_factor=5, baseline_seconds=1, step_seconds=2, after_seconds=3
    )
    shape = StepShape()
    shape.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=options))  # type: ignore[assignment]
    assert shape.current_plan() == StepPlan(2, 5, 1, 2, 3)

    settings = LoadSettings(pacing=0.0, step_pacing=0.25, baseline_seconds=1, step_seconds=2, after_seconds=3)
    command = locust_command("step", "http://127.0.0.1:1", Path("/tmp/out"), settings)
    assert command[command.index("--pacing") + 1] == "0.25"  # 10x the users is 10x the offered load
    assert command[command.index("--locustfile") + 1].endswith("step.py")
    assert settings.planned_seconds("step") == 6


# ---------------------------------------------------------------- the capacity sampler
def test_the_sampler_reads_while_the_block_runs_skips_a_failed_read_and_writes_the_file(
    tmp_path: Path,
) -> None:
    calls = iter(range(1_000))

    def read() -> int:
        call = next(calls)
        if call == 1:
            raise OSError("the stats socket was busy")
        return call

    reader = CapacityReader("ECS tasks", "a test", read, interval=0.01)
    with CapacitySampler(reader, tmp_path):
        time.sleep(0.2)
    written = load_capacity(tmp_path)
    assert written is not None and written["unit"] == "ECS tasks" and written["source"] == "a test"
    counts = [n for _, n in written["points"]]
    assert counts[0] == 0 and 1 not in counts and counts[1:3] == [2, 3]


def test_without_a_reader_the_sampler_writes_nothing(tmp_path: Path) -> None:
    with CapacitySampler(None, tmp_path):
        pass
    assert not (tmp_path / CAPACITY_FILE).exists()


# ---------------------------------------------------------------- the figures
def sample(t: float, ms: float, status: int = 200) -> dict[str, Any]:
    return {"t": t, "ms": ms, "ok": status == 200, "status": status, "cold": False, "name": "/predict"}


def write_run(folder: Path, step_ms: tuple[float, float], capacity: list[tuple[float, int]]) -> Path:
    """10 req/s at 10 ms for 10 s; the step: 100 req/s at step_ms[0] for 5 s, then step_ms[1] for
    5 s, with 3 requests throttled (429) at its start; then 10 req/s at 10 ms again for 10 s."""
    rows = [sample(ORIGIN + i / 10, 10) for i in range(100)]
    rows += [sample(ORIGIN + 10 + i / 100, step_ms[0]) for i in range(500)]
    rows += [sample(ORIGIN + 15 + i / 100, step_ms[1]) for i in range(500)]
    rows += [sample(ORIGIN + 10.001 + i / 1000, 1, status=429) for i in range(3)]
    rows += [sample(ORIGIN + 20 + i / 10, 10) for i in range(100)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "samples-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    phases = {"baseline": ORIGIN, "step": ORIGIN + 10, "after": ORIGIN + 20, "end": ORIGIN + 30}
    (folder / PHASES_FILE).write_text(json.dumps(phases))
    record = {"unit": "ECS tasks", "source": "a test", "points": [[ORIGIN + t, n] for t, n in capacity]}
    (folder / CAPACITY_FILE).write_text(json.dumps(record))
    return folder


SCALED = [(0.0, 1), (12.0, 3), (25.0, 1)]  # one task, three from 2 s into the step, one after it


def test_per_window_figures_are_aligned_on_the_step(tmp_path: Path) -> None:
    step = summarize_step(write_run(tmp_path, (100, 15), SCALED))
    windows = {w["t"]: w for w in step["windows"]}
    assert list(windows) == [-10, -5, 0, 5, 10, 15]
    assert windows[-10]["rps"] == 10 and windows[-10]["p99"] == 10
    assert windows[0]["requests"] == 503 and windows[0]["errors"] == 3 and windows[0]["p99"] == 100
    assert windows[5]["p50"] == 15 and windows[5]["errors"] == 0
    # the most seen inside a window, else the last reading before it
    assert [w["capacity"] for w in step["windows"]] == [1, 1, 3, 3, 3, 1]


def test_the_deciding_figures(tmp_path: Path) -> None:
    step = summarize_step(write_run(tmp_path, (100, 15), SCALED))
    assert step["baseline"]["latency_ms"]["p99"] == 10 and step["recovery_threshold_ms"] == 20
    assert step["recovery_seconds"] == 5  # the first 5 s window above 2x, the second under it
    assert step["failed_during_step"] == 3 and step["step"]["requests"] == 1_003
    assert step["step"]["invoked"] == 1_000  # a 429 never ran the function
    capacity = step["capacity"]
    assert (
        capacity["baseline"] == 1
        and capacity["peak_during_step"] == 3
        and capacity["lowest_during_step"] == 3
    )
    assert capacity["unit_seconds_during_step"] == pytest.approx(2 * 1 + 8 * 3)


@pytest.mark.parametrize(("step_ms", "recovery"), [((15, 15), 0), ((15, 100), None), ((100, 100), None)])
def test_recovery_must_hold_to_the_end_of_the_step(
    tmp_path: Path, step_ms: tuple[float, float], recovery: float | None
) -> None:
    assert summarize_step(write_run(tmp_path, step_ms, SCALED))["recovery_seconds"] == recovery


def test_a_window_where_over_1_percent_failed_is_not_back_whatever_its_p99(tmp_path: Path) -> None:
    folder = write_run(tmp_path, (100, 15), SCALED)
    throttled = [sample(ORIGIN + 16 + i / 100, 1, status=429) for i in range(11)]  # 11 of 511: 2%
    with (folder / "samples-1.jsonl").open("a") as samples:
        samples.writelines(json.dumps(r) + "\n" for r in throttled)
    step = summarize_step(folder)
    assert step["windows"][3]["p99"] == 15 and step["windows"][3]["errors"] == 11
    assert step["recovery_seconds"] is None and step["failed_during_step"] == 14


def test_only_whole_windows_are_shown(tmp_path: Path) -> None:
    folder = write_run(tmp_path, (100, 15), SCALED)
    phases = json.loads((folder / PHASES_FILE).read_text())  # the shape's ticks land a bit late
    (folder / PHASES_FILE).write_text(json.dumps({**phases, "step": ORIGIN + 10.3, "end": ORIGIN + 29.9}))
    assert [w["t"] for w in summarize_step(folder)["windows"]] == [-10, -5, 0, 5, 10]


def test_unit_seconds_hold_each_reading_until_the_next() -> None:
    points = [(0.0, 2), (5.0, 4), (8.0, 1)]
    assert unit_seconds(points, 2.0, 10.0, default=0) == 3 * 2 + 3 * 4 + 2 * 1
    assert unit_seconds([], 0.0, 10.0, default=1) == 10


def test_the_cost_of_the_step(tmp_path: Path) -> None:
    step = summarize_step(write_run(tmp_path, (100, 15), SCALED))
    ecs = step_cost("ecs", "x86_64", PRICES, step, None)
    # A 0.5 vCPU, 1 GB task ($0.04048 per vCPU-hour, $0.004445 per GB-hour), the ALB ($0.0225 an
    # hour) and 3 public IPv4 addresses ($0.005 each an hour): $0.062185 an hour, for 26 task-seconds.
    assert ecs["usd"] == pytest.approx((0.5 * 0.04048 + 0.004445 + 0.0225 + 3 * 0.005) * 26 / 3600, abs=1e-6)

    # 1,000 invocations of 1 GB at the price per million, to the cent: $0.20 plus a million times
    # the duration at $0.0000166667 per GB-second, $1.16 at 57.5 ms and $0.35 at 9 ms.
    measured = step_cost("lambda", "x86_64", PRICES, step, None)
    assert step["step"]["latency_ms"]["mean"] == 57.5
    assert measured["usd"] == pytest.approx(1_000 * 1.16 / 1e6, abs=1e-9)
    assert "client-measured" in measured["basis"]
    billed = step_cost("lambda", "x86_64", PRICES, step, {"step": {"billed_ms_mean": 9.0}})
    assert billed["usd"] == pytest.approx(1_000 * 0.35 / 1e6, abs=1e-9)
    assert "billed" in billed["basis"]


# ---------------------------------------------------------------- the report
def step_report(tmp_path: Path, source: str) -> tuple[dict[str, Any], Path]:
    targets, settings = recorded_targets()
    for way in ("ec2", "lambda"):
        targets[way]["step"] = summarize_step(write_run(tmp_path / way, (100, 15), SCALED))
    data = report_data("step", source, "A recorded run.", settings, targets, DEFAULT_PRICES)
    return data, write_report(data, tmp_path / "report")


def test_the_report_has_the_step_section_and_chart(tmp_path: Path) -> None:
    data, path = step_report(tmp_path, "local emulation")
    text = path.read_text()
    section = text[text.index("## Under a traffic step") :]
    rows = [
        line
        for line in section.splitlines()
        if line.startswith("| VM (EC2)") or line.startswith("| Serverless")
    ]
    assert len(rows) == 2 and all("5 s" in row and "3 of 1,003" in row and "1 -> 3" in row for row in rows)
    assert "Containers (ECS" not in section  # no step run, no row
    assert f"![{STEP_CHART}]({STEP_CHART})" in section
    assert (path.parent / STEP_CHART).read_bytes().startswith(PNG_MAGIC)
    assert data["targets"]["ec2"]["step"]["cost"]["usd"] > 0


def step_row(data: dict[str, Any], way_label: str) -> str:
    """The way's row of the report's step table (other sections have rows per way too)."""
    section = markdown(data).split("## Under a traffic step", 1)[1].split("\n## ", 1)[0]
    return next(line for line in section.splitlines() if line.startswith(f"| {way_label}"))


def test_capacity_that_fell_during_the_step_is_shown(tmp_path: Path) -> None:
    targets, settings = recorded_targets()
    dipped = [(0.0, 1), (16.0, 0), (17.0, 1)]  # a target failed its health checks under the load
    targets["ecs"]["step"] = summarize_step(write_run(tmp_path / "ecs", (100, 15), dipped))
    data = report_data("step", "local emulation", "A recorded run.", settings, targets, DEFAULT_PRICES)
    row = step_row(data, "Containers (ECS")
    assert "1 -> 1 ECS tasks (0 at the lowest)" in row


def test_a_step_shorter_than_a_window_has_no_recovery_to_judge(tmp_path: Path) -> None:
    targets, settings = recorded_targets()
    folder = write_run(tmp_path / "ec2", (100, 15), SCALED)
    phases = json.loads((folder / PHASES_FILE).read_text())
    (folder / PHASES_FILE).write_text(json.dumps({**phases, "after": ORIGIN + 14}))  # a 4 s step
    targets["ec2"]["step"] = summarize_step(folder)
    data = report_data("step", "local emulation", "A recorded run.", settings, targets, DEFAULT_PRICES)
    assert data["targets"]["ec2"]["step"]["recovery_seconds"] is None
    assert "n/a" in step_row(data, "VM (EC2)")


def test_on_aws_the_section_names_the_capacity_sources(tmp_path: Path) -> None:
    data, _ = step_report(tmp_path, "AWS")
    assert "ConcurrentExecutions" in markdown(data) and "fixed capacity" not in markdown(data)


# ---------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--step-factor", "0", "must be above 0"),
        ("--step-users", "-2", "must be above 0"),
        ("--step-seconds", "0", "must be above 0"),
        ("--step-pacing", "-0.1", "must be above 0"),
        ("--baseline", "ten", "invalid float value"),
    ],
)
def test_a_step_that_would_measure_nothing_is_refused_in_one_line(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        demo_args([option, value])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"python -m loadtests.demo: error: argument {option}: ") and says in error
