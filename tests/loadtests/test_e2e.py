"""ONE real end-to-end local comparison at small scale: the images built, the three ways started
(EC2 unit as a host process, ECS image and Lambda image + RIE under Docker; ec2 and ecs behind
HAProxy as their ALB), Locust run for real against 127.0.0.1, the report written. Skips without
Docker on a laptop; fails without it in CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.containers import run_containers
from loadtests.demo import main as demo

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.load,
    pytest.mark.timeout(600),
]

SMALL_RUN = ["--users", "3", "--ramp", "2", "--hold", "6", "--burst-users", "3", "--burst-seconds", "3"]
# The step, small: 1 paced user for 3 s, 3 for 4 s, 1 for 2 s (Locust's start and stop add more).
SMALL_STEP = [
    "--step-users",
    "1",
    "--step-factor",
    "3",
    "--baseline",
    "3",
    "--step-seconds",
    "4",
    "--after",
    "2",
]


def test_make_demo_measures_all_three_ways_and_sees_lambda_cold_starts(
    docker_engine: None, tmp_path: Path
) -> None:
    report = demo([*SMALL_RUN, *SMALL_STEP, "--tls", "--run-id", "e2e", "--out", str(tmp_path)])

    data = json.loads((report.parent / "report.json").read_text())
    assert data["docker"] is True
    assert set(data["targets"]) == {"ec2", "ecs", "lambda"}
    for way, target in data["targets"].items():
        steady = target["steady"]
        assert steady["requests"] > 0 and steady["errors"] == 0, way
        assert steady["latency_ms"]["p50"] > 0 and steady["throughput_rps"] > 0, way
        assert target["cold"]["requests"] > 0, way
    for way in ("ec2", "ecs"):  # behind HAProxy, the local ALB, and the report says so
        assert data["targets"][way]["cold_start"]["seconds_to_first_success"] > 0
        assert "HAProxy" in data["targets"][way]["how"]
        assert "load_balancer" in data["targets"][way]["details"]
        split = data["targets"][way]["fairness"]["start"]  # the app's start + the proxy's checks
        assert split["health_check"].startswith("the local load balancer's health check"), way
        assert split["health_check_delay_seconds"] > 0 and split["app_start_to_ready_seconds"] >= 0, way
    assert "HAProxy" in data["source_note"]
    lambda_ = data["targets"]["lambda"]
    assert lambda_["cold"]["cold_responses"] >= 1
    assert any(env["init_duration_ms"] for env in lambda_["details"]["environments"])
    # The local Function URL admits signed requests only (auth AWS_IAM, as deployed), and every one
    # of Lambda's steady requests was signed, at a measured client-side cost; the ALB ways sign none.
    assert "auth AWS_IAM" in lambda_["how"]
    assert lambda_["steady"]["signing_ms"]["requests"] == lambda_["steady"]["requests"]
    assert data["targets"]["ec2"]["steady"]["signing_ms"] is None
    assert_the_step_was_measured_with_its_capacity(data, report)
    # Priced as AWS bills it: the RIE's REPORT lines, one per steady response, and measured log bytes.
    billed = lambda_["billing"]["steady"]
    assert lambda_["billing"]["source"] == "rie" and billed["invocations"] >= lambda_["steady"]["requests"]
    assert billed["billed_ms_mean"] > 0 and "RIE's REPORT lines" in lambda_["costs"]["per_million_basis"]
    assert lambda_["costs"]["per_million_client_basis_usd"] > 0
    assert lambda_["log_volume"]["platform_bytes_per_invoke"] > 0
    for way in ("ec2", "ecs"):
        assert data["targets"][way]["log_volume"]["app_line_bytes"] > 0, way
    assert data["break_even"]["rows"][0]["ec2"]["break_even_rps"] > 0
    assert "Decision matrix" in report.read_text() and "## Break-even" in report.read_text()
    assert not run_containers("e2e")
    assert_each_way_also_ran_over_tls(data, report)


def assert_each_way_also_ran_over_tls(data: dict, report: Path) -> None:
    """`--tls` (make demo TLS=1): one more short steady run per way over HTTPS, HAProxy terminating TLS
    for ec2 and ecs and the local Function URL serving it, Locust trusting the run's certificate only."""
    for way, target in data["targets"].items():
        tls = target["tls"]["steady"]
        assert tls["requests"] > 0 and tls["errors"] == 0, way
        assert "repeated over HTTPS" in target["fairness"]["transport"], way
    assert data["targets"]["lambda"]["tls"]["steady"]["signing_ms"]["requests"] > 0  # still signed
    text = report.read_text()
    assert "## TLS" in text and text.count("steady again over HTTPS") == 3


def assert_the_step_was_measured_with_its_capacity(data: dict, report: Path) -> None:
    """Every way met the step; ec2 and ecs at HAProxy's fixed one target, lambda at as many
    environments as its local pool started (at least one, at most its concurrency limit)."""
    for way, target in data["targets"].items():
        step = target["step"]
        assert step["baseline"]["requests"] > 0 and step["step"]["requests"] > step["baseline"]["requests"], (
            way
        )
        assert step["windows"] and step["cost"]["usd"] > 0, way
        assert step["capacity"]["points"], way
    for way in ("ec2", "ecs"):
        capacity = data["targets"][way]["step"]["capacity"]
        assert "HAProxy" in capacity["source"] and {n for _, n in capacity["points"]} == {1}, way
    lambda_capacity = data["targets"]["lambda"]["step"]["capacity"]
    assert "Function URL" in lambda_capacity["source"]
    assert 1 <= lambda_capacity["peak_during_step"] <= 10
    assert "## Under a traffic step" in report.read_text() and (report.parent / "step.png").is_file()
