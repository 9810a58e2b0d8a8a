"""The fault scenarios: the Lambda pool's retirement rules, the Faults section of the report, and
ONE real run of every scenario on every way at minimal size (docker, e2e): rolling restarts lose
no request, a crash costs only the requests in flight, the soak has no errors and steady open
files, and the server closes every slow connection."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from infra.common.names import WAYS
from infra.local.containers import run_containers
from infra.local.function_url.pool import EnvironmentPool
from infra.local.process import ManagedProcess
from loadtests.faults.__main__ import main as faults
from loadtests.faults.markdown import faults_section
from loadtests.faults.resources import WorkerSeries

RECORDED = Path(__file__).parent / "recorded" / "faults.json"
USERS = 3


class SleepingEnvironments:
    """Environments as real processes (``sleep``): what the pool starts and stops, minus the RIE."""

    description = "sleep processes"

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess:
        return ManagedProcess(["sleep", "300"], log_path).start()

    def stop(self, env_id: str, process: ManagedProcess) -> None:
        process.stop()


def started_environment(pool: EnvironmentPool) -> Any:
    env, cold = pool._acquire()
    assert cold
    env.process = pool.launcher.start(env.env_id, env.port, env.log_path)
    return env


def test_retiring_every_environment_lets_a_busy_one_finish_its_request(tmp_path: Path) -> None:
    pool = EnvironmentPool(SleepingEnvironments(), tmp_path, invoke_timeout=30)
    busy = started_environment(pool)
    idle = started_environment(pool)
    pool._release(idle)

    retiring = threading.Thread(target=pool.retire_all)
    retiring.start()
    deadline = time.monotonic() + 10
    while (idle.retired_reason is None or idle.process.running()) and time.monotonic() < deadline:
        time.sleep(0.02)

    assert idle.retired_reason == "forced" and not idle.process.running()  # idle: stopped at once
    assert busy.process.running() and busy.retired_reason is None  # busy: still on its request
    fresh, cold = pool._acquire()  # and it takes no new one: a new environment does
    assert cold and fresh is not busy

    pool._release(busy)  # its request ends
    retiring.join(10)
    assert not retiring.is_alive()
    assert busy.retired_reason == "forced" and not busy.process.running()


def test_an_environment_that_died_while_idle_is_never_invoked(tmp_path: Path) -> None:
    pool = EnvironmentPool(SleepingEnvironments(), tmp_path)
    dead = started_environment(pool)
    pool._release(dead)
    dead.process.stop(grace_seconds=0.1)

    env, cold = pool._acquire()
    assert cold and env is not dead
    assert dead.retired_reason == "died"
    pool._release(env)  # else retire_all waits out the invoke timeout for it
    pool.retire_all()


def test_rss_growth_is_the_later_half_slope_so_a_start_up_plateau_is_not_a_leak() -> None:
    minutes = [60.0 * i for i in range(10)]
    plateau = WorkerSeries(1, minutes, [220, 250, 280, 283, 283, 283, 283, 283, 283, 283], [20] * 10)
    leak = WorkerSeries(2, minutes, [100 + 0.5 * i for i in range(10)], [20] * 10)

    assert plateau.summary()["rss_growth_mb_per_10min"] == 0.0
    assert leak.summary()["rss_growth_mb_per_10min"] == pytest.approx(5.0)
    # The 30 s CI soak: its start-up fill is not extrapolated to ten minutes.
    seconds = [3.0 * i for i in range(10)]
    short = WorkerSeries(3, seconds, [220 + 5 * i for i in range(10)], [20] * 10)
    assert short.summary()["rss_growth_mb_per_10min"] is None


def test_the_faults_section_has_every_scenario_for_every_way() -> None:
    data = {"faults": json.loads(RECORDED.read_text())}
    section = "\n".join(faults_section(data))

    assert section.startswith("## Faults")
    header = next(line for line in section.splitlines() if line.startswith("| Scenario"))
    assert header == "| Scenario | " + " | ".join(WAYS) + " |"  # every way, in infra.common.names' order
    for title in ("Rolling restart under load", "Crash under load (SIGKILL)", "Soak", "Slow clients"):
        assert f"| {title} |" in section
    rolling = data["faults"]["ways"]["ec2"]["rolling_restart"]
    assert f"0 failed of {rolling['requests']} sent" in section
    assert "MB/10 min" in section and "closed by the server" in section
    assert faults_section({}) == []  # a run without faults has no section


@pytest.mark.e2e
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(900)
def test_every_way_keeps_serving_through_the_faults(docker_engine: None, tmp_path: Path) -> None:
    report = faults(
        ["--soak-seconds", "30", "--users", str(USERS), "--run-id", "faults-e2e", "--out", str(tmp_path)]
    )

    data = json.loads((report.parent / "report.json").read_text())
    ways = data["faults"]["ways"]
    assert set(ways) == {"ec2", "ecs", "lambda"}
    for way, figures in ways.items():
        rolling = figures["rolling_restart"]
        assert rolling["requests"] > 0 and rolling["replaced"] >= 1, way
        assert rolling["failed"] == 0, (way, rolling)

        crash = figures["crash"]
        assert crash["requests"] > 0, way
        assert crash["failed_not_in_flight"] == 0, (way, crash)  # only in-flight requests may fail
        assert crash["failed_in_flight"] <= USERS, (way, crash)
        assert crash["recovery_seconds"] is not None and crash["recovery_seconds"] > 0, (way, crash)

        soak = figures["soak"]
        assert soak["requests"] > 0 and soak["failed"] == 0, (way, soak)
        # Every worker sampled; a 30 s soak is too short for a growth figure (unit test above).
        assert soak["workers"] and all(w["samples"] >= 2 for w in soak["workers"]), way
        assert abs(soak["open_files_change_max"]) <= 5, (way, soak["workers"])  # stable, with a margin

    for way in ("ec2", "ecs"):  # slow connections go straight at a server
        slow = ways[way]["slow_clients"]
        assert slow["failed"] == 0, (way, slow)
        assert slow["closed_by_server"] == len(slow["connections"]) > 0, (way, slow["connections"])
        assert slow["longest_open_seconds"] < slow["limit_seconds"], (way, slow)
        assert "HAProxy" in ways[way]["how"]
    assert "## Faults" in report.read_text()
    assert not run_containers("faults-e2e")
