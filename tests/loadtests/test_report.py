"""The report from a recorded run: tests/loadtests/recorded/ holds a thinned copy of a real
`make demo` run (per-request samples, the shapes' phase marks, and what each target reported), and
recorded/lambda-signed/ one steady run whose requests Locust SigV4-signed. The like-for-like rows
(vCPUs, TLS, start split, architecture, surplus credits, signing cost) are checked from them."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from infra.common import sizing
from infra.common.names import WAYS
from infra.common.paths import REPO_ROOT
from infra.common.sizing import ALB_HEALTH_CHECK_INTERVAL_SECONDS, ALB_HEALTHY_THRESHOLD_COUNT
from loadtests.analysis import summarize_cold, summarize_steady
from loadtests.comparison import report_data
from loadtests.costs import CLIENT_MEASURED, DEFAULT_PRICES, hourly_cost, idle_monthly_cost, load_prices
from loadtests.fairness import architecture, fargate_workers, host_architecture
from loadtests.locust_run import LoadSettings
from loadtests.report import CHARTS, cold_start_cell, markdown, terminal_summary, write_report

RECORDED = Path(__file__).parent / "recorded"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    recorded = json.loads((RECORDED / "targets.json").read_text())
    targets = {}
    for way, target in recorded["targets"].items():
        targets[way] = {
            **target,
            "cold": summarize_cold(RECORDED / way / "cold"),
            "steady": summarize_steady(RECORDED / way / "steady"),
        }
    settings = LoadSettings(**recorded["settings"])
    data = report_data("recorded", "local emulation", "A recorded run.", settings, targets, DEFAULT_PRICES)
    out = tmp_path_factory.mktemp("report")
    return data, write_report(data, out)


def test_steady_numbers_cover_the_hold_only(report: tuple[dict, Path]) -> None:
    data, _ = report
    for way in ("ec2", "ecs", "lambda"):
        steady = data["targets"][way]["steady"]
        phases = json.loads((RECORDED / way / "steady" / "phases.json").read_text())
        samples = [
            json.loads(line) for line in (RECORDED / way / "steady" / "samples-1.jsonl").read_text().split()
        ]
        in_hold = [s for s in samples if phases["hold"] <= s["t"] < phases["end"]]
        assert steady["requests"] == len(in_hold) < len(samples)
        lat = steady["latency_ms"]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert steady["throughput_rps"] > 0


def test_cold_responses_are_split_by_the_header(report: tuple[dict, Path]) -> None:
    data, _ = report
    cold = data["targets"]["lambda"]["cold"]
    samples = [
        json.loads(line) for line in (RECORDED / "lambda" / "cold" / "samples-1.jsonl").read_text().split()
    ]
    assert cold["cold_responses"] == sum(1 for s in samples if s["cold"] and s["ok"]) > 0
    assert cold["cold_latency_ms"]["p50"] > cold["warm_latency_ms"]["p50"]


def test_markdown_fills_the_decision_matrix_for_every_way(report: tuple[dict, Path]) -> None:
    _, path = report
    text = path.read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for name in ("Cost (idle): lesson", "Cost per 1M requests", "Max runtime: lesson", "GPU support: lesson"):
        assert name in rows
    latency = next(line for name, line in rows.items() if name.startswith("Latency p50/p95/p99"))
    assert latency.count(" ms") == 9  # three percentiles for three ways
    assert "n/a" not in rows["Cost (idle): list price / month"]
    assert "$0.00" in rows["Cost (idle): list price / month"]  # Lambda idles for free
    cold = next(line for name, line in rows.items() if name.startswith("Cold start (local"))
    assert "start to first success" in cold and "cold requests p50" in cold
    assert "local emulation" in text and "list prices" in text and "us-east-1" in text


def test_charts_and_json_are_written(report: tuple[dict, Path]) -> None:
    data, path = report
    for name in CHARTS:
        assert (path.parent / name).read_bytes().startswith(PNG_MAGIC)
    assert json.loads((path.parent / "report.json").read_text())["targets"].keys() == data["targets"].keys()


def test_terminal_summary_has_one_line_per_way_and_the_report_path(report: tuple[dict, Path]) -> None:
    data, path = report
    summary = terminal_summary(data, path)
    assert [line.split()[0] for line in summary.splitlines()[2:5]] == list(WAYS)
    assert str(path) in summary


# ---------------------------------------------------------------- like for like, or stated
def recorded_targets() -> tuple[dict[str, Any], LoadSettings]:
    recorded = json.loads((RECORDED / "targets.json").read_text())
    targets = {
        way: {
            **target,
            "cold": summarize_cold(RECORDED / way / "cold"),
            "steady": summarize_steady(RECORDED / way / "steady"),
        }
        for way, target in recorded["targets"].items()
    }
    return targets, LoadSettings(**recorded["settings"])


def matrix_rows(text: str) -> dict[str, str]:
    return {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}


def test_throughput_per_vcpu_states_the_vcpus_each_way_had_locally(report: tuple[dict, Path]) -> None:
    data, path = report
    compute = {way: data["targets"][way]["fairness"]["compute"] for way in ("ec2", "ecs", "lambda")}
    assert compute["ec2"]["vcpus"] == data["host"]["cpus"]  # the local unit gets this host's cores
    assert compute["ecs"]["vcpus"] == 0.5
    lambda_vcpu = 1024 / 1769
    assert compute["lambda"]["vcpus"] == round(6 * lambda_vcpu, 3)  # 6 users, one environment each
    for way, block in compute.items():
        throughput = data["targets"][way]["steady"]["throughput_rps"]
        assert block["throughput_per_vcpu"] == round(throughput / block["vcpus"], 2)
    row = next(
        line for name, line in matrix_rows(path.read_text()).items() if name.startswith("Throughput per vCPU")
    )
    assert row.count("req/s per vCPU") == 3


def test_on_aws_ec2_counts_two_burstable_vcpus_and_its_cost_includes_surplus_credits() -> None:
    targets, settings = recorded_targets()
    data = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)
    ec2 = data["targets"]["ec2"]
    assert ec2["fairness"]["compute"]["vcpus"] == 2 and "burstable" in ec2["fairness"]["compute"]["basis"]
    # Above its 20% baseline on both vCPUs, a t3.small pays $0.05 per vCPU-hour: 2 x 0.8 x 0.05.
    assert ec2["costs"]["surplus_credits_per_hour_usd"] == 0.08
    # The instance ($0.0208), its 8 GB gp3 root ($0.08 per GB-month), the ALB ($0.0225) and 3 public
    # IPv4 addresses ($0.005 each) an hour, plus the surplus: $0.1392 an hour at the recorded 6.43 req/s.
    assert ec2["steady"]["throughput_rps"] == 6.43
    hourly = 0.0208 + 8 * 0.08 / 730 + 0.0225 + 3 * 0.005 + 0.08
    assert ec2["costs"]["per_million_requests_usd"] == round(hourly / (6.43 * 3600) * 1e6, 2) == 6.01
    text = markdown(data)
    assert "incl. unlimited-mode surplus credits, $0.080/h at 100% CPU" in text


def test_each_way_is_priced_for_the_architecture_it_was_deployed_for() -> None:
    targets, settings = recorded_targets()
    targets["ecs"]["architecture"] = "arm64"
    targets["ec2"]["architecture"] = "arm64"
    data = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)
    prices = load_prices()
    assert "t4g.small" in data["targets"]["ec2"]["fairness"]["compute"]["basis"]
    assert data["targets"]["ecs"]["costs"]["idle_monthly_usd"] == idle_monthly_cost("ecs", "arm64", prices)
    assert data["targets"]["ecs"]["costs"]["idle_monthly_usd"] < idle_monthly_cost("ecs", "x86_64", prices)
    assert data["targets"]["ec2"]["costs"]["surplus_credits_per_hour_usd"] == round(2 * 0.8 * 0.04, 4)
    assert data["targets"]["lambda"]["costs"]["architecture"] == "x86_64"
    row = matrix_rows(markdown(data))["Priced for architecture"]
    assert row.count("arm64") == 2 and row.count("x86_64") == 1


def test_tls_is_stated_only_lambda_pays_handshakes_on_aws() -> None:
    targets, settings = recorded_targets()
    aws = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)
    assert aws["targets"]["lambda"]["fairness"]["transport"].startswith("HTTPS")
    assert all(aws["targets"][w]["fairness"]["transport"].startswith("plain HTTP") for w in ("ec2", "ecs"))
    assert (
        "HTTPS (TLS handshakes, one per new connection; Locust keeps connections open): Serverless"
        in markdown(aws)
    )
    local_targets, _ = recorded_targets()
    local = report_data("local", "local emulation", "Local.", settings, local_targets, DEFAULT_PRICES)
    assert all("no TLS locally" in t["fairness"]["transport"] for t in local["targets"].values())


def test_alb_start_to_first_success_is_split_into_the_app_s_start_and_the_health_checks() -> None:
    targets, settings = recorded_targets()
    targets["ecs"]["cold_start"]["seconds_to_first_success"] = 95.0
    data = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)
    split = data["targets"]["ecs"]["fairness"]["start"]
    assert (
        split["health_check_delay_seconds"] == ALB_HEALTH_CHECK_INTERVAL_SECONDS * ALB_HEALTHY_THRESHOLD_COUNT
    )
    assert split["app_start_to_ready_seconds"] == 95.0 - split["health_check_delay_seconds"]
    assert data["targets"]["lambda"]["fairness"]["start"] is None
    cell = matrix_rows(markdown(data))["Cold start (AWS)"]
    assert "95.00 s start to first success (app start to ready 75.00 s + health checks 20 s)" in cell


def test_locally_the_split_uses_the_stand_in_load_balancer_s_health_check_when_named() -> None:
    targets, settings = recorded_targets()
    targets["ec2"]["details"]["health_check"] = {"interval_seconds": 0.5, "healthy_threshold": 2}
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    split = data["targets"]["ec2"]["fairness"]["start"]
    total = targets["ec2"]["cold_start"]["seconds_to_first_success"]
    assert split["health_check_delay_seconds"] == 1.0
    assert split["app_start_to_ready_seconds"] == round(total - 1.0, 2)
    assert data["targets"]["ecs"]["fairness"]["start"] is None  # nothing in front of it was named


def test_the_signing_cost_is_shown_for_the_signed_way_only() -> None:
    """A recorded steady run whose every request the Locust user SigV4-signed (the demo's identity)."""
    targets, settings = recorded_targets()
    targets["lambda"]["steady"] = summarize_steady(RECORDED / "lambda-signed" / "steady")
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    signing = data["targets"]["lambda"]["steady"]["signing_ms"]
    assert signing["requests"] == data["targets"]["lambda"]["steady"]["requests"] > 0
    assert 0 < signing["p50"] <= signing["p95"] <= signing["max"]
    row = matrix_rows(markdown(data))["Client-side SigV4 signing"]
    assert f"{signing['mean']:.3f} ms mean" in row and row.count("none: plain HTTP requests") == 2


def test_locally_lambda_is_priced_at_the_client_s_mean_and_says_so(report: tuple[dict, Path]) -> None:
    data, path = report
    costs = data["targets"]["lambda"]["costs"]
    assert costs["per_million_basis"] == CLIENT_MEASURED
    assert "No REPORT lines were read" in path.read_text()


# ---------------------------------------------------------------- the protocol and the sizes
@pytest.mark.parametrize(
    ("name", "path"), [("rest", "/predict"), ("oip", "/v2/models/wine-classifier/infer")]
)
def test_the_report_says_which_protocol_the_load_spoke(name: str, path: str) -> None:
    targets, recorded = recorded_targets()
    assert recorded.protocol == "rest"  # the recorded `make demo` run spoke /predict
    settings = LoadSettings(**{**recorded.as_dict(), "protocol": name})
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    assert data["settings"]["protocol"] == name and path in data["protocol"]
    load = markdown(data).split("## Load")[1]
    assert f"- protocol: {data['protocol']} (`--protocol {name}`)" in load
    assert f"protocol {name}. Report:" in terminal_summary(data, Path("report.md"))


def test_a_recorded_oip_run_is_summarized_and_reported_as_one() -> None:
    """recorded/oip/: the ecs steady run of a real `make demo PROTOCOL=oip`, thinned."""
    samples = [
        json.loads(line) for line in (RECORDED / "oip" / "steady" / "samples-1.jsonl").read_text().split()
    ]
    assert {s["name"] for s in samples} == {"/v2/models/wine-classifier/infer"}
    targets, recorded = recorded_targets()
    targets["ecs"]["steady"] = summarize_steady(RECORDED / "oip" / "steady")
    settings = LoadSettings(**{**recorded.as_dict(), "protocol": "oip"})
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    steady = data["targets"]["ecs"]["steady"]
    assert 0 < steady["requests"] < len(samples) and steady["errors"] == 0  # the hold only, all answers valid
    assert "Open Inference Protocol" in markdown(data).split("## Load")[1]


def test_fargate_workers_follow_the_task_s_cpu_units_as_the_stack_s_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,048 CPU units with 4 GiB (a real Fargate size, tests/infra/test_stacks.py FARGATE_SIZES):
    2 vCPUs, 2 workers, and priced at 2 vCPUs and 4 GB."""
    prices = load_prices()
    half_vcpu_1_gb = hourly_cost("ecs", "x86_64", prices)
    for name, value in {"FARGATE_CPU_UNITS": 2048, "FARGATE_MEMORY_MIB": 4096, "FARGATE_VCPUS": 2.0}.items():
        monkeypatch.setattr(sizing, name, value)
    assert fargate_workers() == 2
    targets, settings = recorded_targets()
    compute = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)["targets"]["ecs"]
    assert compute["fairness"]["compute"]["vcpus"] == 2.0
    assert "1 task x 2 vCPU, 2 uvicorn worker(s)" in compute["fairness"]["compute"]["basis"]
    fargate = prices["fargate"]
    extra_per_task = 1.5 * fargate["per_vcpu_hour"]["x86_64"] + 3 * fargate["per_gb_hour"]["x86_64"]
    extra = extra_per_task * sizing.FARGATE_MIN_TASKS
    assert hourly_cost("ecs", "x86_64", prices) == pytest.approx(half_vcpu_1_gb + extra)


def test_the_report_records_every_size_the_stacks_deploy_from_their_one_home(
    report: tuple[dict, Path],
) -> None:
    data, _ = report
    constants = {name: value for name, value in vars(sizing).items() if name.isupper()}
    assert data["sizing"] == {name.lower(): value for name, value in constants.items()}
    assert "architecture" not in data["sizing"]  # each target names its own, in its costs
    assert {t["costs"]["architecture"] for t in data["targets"].values()} == {"x86_64"}


@pytest.mark.parametrize(("machine", "expected"), [("x86_64", "x86_64"), ("AMD64".lower(), "x86_64"),
                                                   ("aarch64", "arm64"), ("arm64", "arm64")])  # fmt: skip
def test_a_local_run_is_priced_for_this_host_s_architecture(machine: str, expected: str) -> None:
    assert host_architecture(machine) == expected


def test_a_host_the_stacks_cannot_deploy_to_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="this host is riscv64"):
        host_architecture("riscv64")
    with pytest.raises(ValueError, match="architecture='i386'"):
        architecture("i386")


def test_loadtests_keep_no_copy_of_the_ways_or_the_stacks_sizes() -> None:
    """WAYS lives in infra.common.names and every size in infra.common.sizing: no module under
    loadtests/ spells the ways as a literal or defines a constant of the sizing module's names."""
    sizes = {name for name in vars(sizing) if name.isupper()}
    for path in sorted((REPO_ROOT / "loadtests").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                assert values != set(WAYS), f"{path}:{node.lineno} spells the ways; import WAYS"
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                assert not names & sizes, (
                    f"{path}:{node.lineno} copies {names & sizes} from infra.common.sizing"
                )


def test_aws_alb_stacks_with_a_certificate_are_measured_over_https_and_tls_is_then_like_for_like() -> None:
    targets, settings = recorded_targets()
    for way in ("ec2", "ecs"):  # what discovery puts there: the stack's EndpointUrl output
        targets[way]["details"] = {
            **targets[way].get("details", {}),
            "endpoint": "https://predict.example.com",
        }
    data = report_data("aws", "AWS", "Deployed.", settings, targets, DEFAULT_PRICES)
    # The Function URL is HTTPS already: with the ALBs on HTTPS too, every way pays TLS handshakes.
    assert all(data["targets"][w]["fairness"]["transport"].startswith("HTTPS") for w in WAYS)
    text = markdown(data)
    tls = text[text.index("## TLS") : text.index("## How each way ran")]
    assert tls.count("| HTTPS | ") == 3 and tls.count("not run") == 6


def test_a_local_tls_run_shows_each_way_s_figures_over_https_beside_the_plain_ones() -> None:
    targets, settings = recorded_targets()
    over_tls = {"steady": {**targets["ecs"]["steady"], "throughput_rps": 123.0}}
    targets["ecs"]["tls"] = over_tls
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    assert "repeated over HTTPS" in data["targets"]["ecs"]["fairness"]["transport"]
    assert "no TLS locally" in data["targets"]["ec2"]["fairness"]["transport"]
    text = markdown(data)
    (row,) = (
        line for line in text.splitlines() if line.startswith("| Containers (ECS Fargate) | plain HTTP;")
    )
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "plain HTTP; steady again over HTTPS"
    assert cells[2] == cells[3]  # the same recorded latencies on both sides here
    assert cells[5] == "123" and cells[6].startswith("0 of ")
    summary = terminal_summary(data, Path("report.md")).splitlines()
    line = summary[summary.index("steady again over HTTPS (TLS):") + 1].split()
    assert line[0] == "ecs" and line[-2:] == ["123", "0"]


def test_the_cold_start_cell_shows_snapstart_restores_beside_the_snapshot_s_init() -> None:
    billing = {
        "restores": 2,
        "restore_ms": {"p50": 455.11, "p99": 509.1},
        "init_reports": 1,
        "init_ms": {"p50": 1670.77},
        "cold_starts": 0,
    }
    cell = cold_start_cell({"billing": {"cold": billing}})
    assert (
        cell == "2 restores, Restore Duration p50 455 ms p99 509 ms (snapshot's init 1,671 ms, INIT_REPORT)"
    )
    assert cold_start_cell({"billing": {"cold": {"cold_starts": 0, "restores": 0}}}) == "n/a"


def test_the_cold_start_cell_prefers_the_init_read_from_the_version_s_publication() -> None:
    billing = {"restores": 3, "restore_ms": {"p50": 400.0, "p99": 600.0}, "init_reports": 0, "cold_starts": 0}
    snapshot = {"init_reports": 1, "init_ms": {"p50": 2100.0}}
    cell = cold_start_cell({"billing": {"cold": billing, "snapshot_init": snapshot}})
    assert (
        cell == "3 restores, Restore Duration p50 400 ms p99 600 ms (snapshot's init 2,100 ms, INIT_REPORT)"
    )
