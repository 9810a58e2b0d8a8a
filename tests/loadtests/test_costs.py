"""What AWS would bill, and where Lambda stops being cheaper: the RIE's REPORT lines collected by
the local Function URL (a real RIE running the real handler), read by the parser that reads
CloudWatch's; log bytes measured from a real RIE environment's output; the list prices with their
sources; the break-even and its sensitivity table, computed and shown in the report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from infra.common import sizing
from infra.local.function_url.environments import HostRieLauncher
from infra.local.function_url.events import function_url_event
from infra.local.function_url.pool import EnvironmentPool
from infra.local.rie import rie_path
from loadtests.analysis import load_samples
from loadtests.aws.billing import parse_report
from loadtests.comparison import report_data
from loadtests.costs import (
    ASSUMPTIONS,
    BILLED_LOCAL,
    CLIENT_MEASURED,
    DEFAULT_PRICES,
    break_even_rps,
    load_prices,
    provisioned_cost_per_million,
    provisioned_monthly,
    snapstart_monthly,
)
from loadtests.log_volume import measure_files
from loadtests.report import markdown, terminal_summary
from loadtests.rie_billing import billed_locally
from tests.loadtests.test_report import RECORDED, matrix_rows, recorded_targets

RIE_LOG = RECORDED / "rie-environment.log"  # one environment, three invokes, as the RIE wrote them
PRICES = load_prices()


# ---------------------------------------------------------------- the RIE's REPORT lines
def test_the_pool_hands_back_each_invoke_s_report_line_from_a_real_rie(holdout: dict, tmp_path: Path) -> None:
    launcher = HostRieLauncher(rie_path(), sizing.LAMBDA_MEMORY_MB, sizing.LAMBDA_TIMEOUT_SECONDS)
    pool = EnvironmentPool(launcher, tmp_path, init_timeout=120)
    body = json.dumps({"instances": holdout["rows"][:1]}).encode()
    event = function_url_event("POST", "/predict", body, headers=[(b"content-type", b"application/json")])
    try:
        for _ in range(3):
            pool.invoke(event)
        written = _wait_for(lambda: len(pool.platform_reports()) == 3)
    finally:
        pool.retire_all()

    assert written, "the RIE wrote fewer REPORT lines than invokes"
    reports = pool.platform_reports()
    assert [r["env_id"] for r in reports] == ["env-001"] * 3  # one environment, reused
    assert reports[0]["t"] < reports[1]["t"] < reports[2]["t"]
    numbers = [parse_report(r["line"]) for r in reports]  # the parser that reads CloudWatch's
    for report in numbers:
        assert report is not None and report["billed_ms"] >= report["duration_ms"] > 0
        assert report["memory_mb"] == sizing.LAMBDA_MEMORY_MB


def _wait_for(condition: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def rie_reports_for(folder: Path, billed_ms: int) -> list[dict[str, Any]]:
    """One RIE REPORT line per recorded request, sent when the request was (the pool's record)."""
    line = (
        "REPORT RequestId: {n}\tDuration: {d:.2f} ms\tBilled Duration: {b} ms\t"
        "Memory Size: 1024 MB\tMax Memory Used: 1024 MB"
    )
    return [
        {"env_id": f"env-{n % 4:03d}", "t": s["t"], "line": line.format(n=n, d=billed_ms - 0.5, b=billed_ms)}
        for n, s in enumerate(load_samples(folder))
    ]


def test_local_billing_keeps_each_scenario_s_window_and_summarizes_like_cloudwatch() -> None:
    steady = rie_reports_for(RECORDED / "lambda" / "steady", 3)
    cold = rie_reports_for(RECORDED / "lambda" / "cold", 40)
    billing = billed_locally(cold + steady, RECORDED / "lambda", ["cold", "steady"])

    assert billing["source"] == "rie"
    assert billing["steady"]["invocations"] == len(steady) and billing["steady"]["billed_ms_mean"] == 3
    assert billing["cold"]["invocations"] == len(cold) and billing["cold"]["billed_ms_mean"] == 40
    assert billing["steady"]["environments"] == 4


def billed_report() -> dict[str, Any]:
    """The recorded run, with the steady window's RIE REPORT lines at 3 ms billed each."""
    targets, settings = recorded_targets()
    reports = rie_reports_for(RECORDED / "lambda" / "steady", 3)
    targets["lambda"]["billing"] = billed_locally(reports, RECORDED / "lambda", ["steady"])
    for way in targets:
        targets[way]["log_volume"] = measure_files([RIE_LOG]) if way == "lambda" else APP_ONLY
    return report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)


APP_ONLY = {"app_lines": 10, "app_line_bytes": 180.0}


def test_locally_lambda_is_priced_from_billed_durations_with_the_client_figure_beside() -> None:
    data = billed_report()
    costs = data["targets"]["lambda"]["costs"]
    assert data["targets"]["lambda"]["steady"]["latency_ms"]["mean"] == 16.37  # the recorded run's

    # $0.20 per million requests, plus 1 GB x the duration x $0.0000166667 per GB-second, a million times.
    assert costs["per_million_basis"] == BILLED_LOCAL
    assert costs["per_million_requests_usd"] == 0.25  # 3 ms billed: 0.20 + 0.05
    assert costs["per_million_client_basis_usd"] == 0.47  # 16.37 ms: 0.20 + 0.27
    row = matrix_rows(markdown(data))["Cost per 1M requests"]
    assert "$0.25 (at the mean billed duration (the RIE's REPORT lines, local))" in row
    assert "$0.47 at the client-measured mean latency" in row
    summary = terminal_summary(data, Path("report.md"))
    assert "lambda   $0.25 per 1M requests at the mean billed duration" in summary
    assert "at the client-measured mean latency" in summary and "cheaper than ec2 below" in summary


# ---------------------------------------------------------------- log bytes, measured
def test_log_bytes_are_counted_from_what_the_rie_environment_wrote() -> None:
    lines = RIE_LOG.read_bytes().splitlines()
    app = [line for line in lines if line.startswith(b'{"level":"INFO","logger":"serving","msg":"request"')]
    platform = [line for line in lines if line.split(b" ")[0] in (b"START", b"END", b"REPORT")]
    assert len(app) == 3 and len(platform) == 9

    volume = measure_files([RIE_LOG])

    assert sum(len(line) + 1 for line in app) == 540 and sum(len(line) + 1 for line in platform) == 824
    assert volume == {
        "app_lines": 3,
        "app_line_bytes": 180.0,  # 540 bytes over 3 lines, newlines counted
        "invokes": 3,
        "platform_bytes_per_invoke": 274.7,  # START, END and REPORT: 824 bytes over 3 invokes
        "sample_rate": 1.0,
    }


def test_the_cost_table_shows_per_million_with_and_without_logs() -> None:
    data = billed_report()
    lam = data["targets"]["lambda"]

    assert lam["costs"]["log_bytes_per_request"] == 454.7  # the app's 180.0 + the platform's 274.7
    # CloudWatch Logs: $0.50 per GB ingested, 454.7 B a million times is $0.21.
    assert lam["costs"]["per_million_with_logs_usd"] == 0.46  # 0.25 + 0.21
    ec2 = data["targets"]["ec2"]["costs"]
    assert ec2["log_bytes_per_request"] == 180.0  # the app's line only: no platform lines
    row = matrix_rows(markdown(data))["Cost per 1M requests, logs included"]
    assert row.count("B of log per request") == 3


# ---------------------------------------------------------------- prices, modes, break-even
def test_every_price_names_its_source_and_the_date_it_was_read() -> None:
    raw = json.loads(DEFAULT_PRICES.read_text())
    entries = [k for k in raw if not k.startswith("_") and k not in ("region", "as_of", "currency")]
    sources = raw["_sources"]
    for entry in entries:
        assert entry in sources, f"prices.json: {entry!r} has no source under _sources"
    for name, source in sources.items():
        assert source["url"] and source["read"][:4].isdigit(), name
        assert isinstance(source.get("third_party", False), bool), name
    assert sources["lambda.snapstart"]["third_party"] is True  # not read from an AWS page


def test_the_cold_start_modes_are_priced_from_the_table() -> None:
    month = 730 * 3600  # seconds; a 1,024 MB function is 1 GB
    assert provisioned_monthly("x86_64", PRICES, 1) == pytest.approx(0.0000041667 * month)
    assert provisioned_monthly("arm64", PRICES, 2) == pytest.approx(2 * 0.0000033334 * month)
    assert provisioned_cost_per_million("x86_64", PRICES, 3) == pytest.approx(0.20 + 3 * 0.0000097222 * 1000)
    cache = 0.0000015046 * month
    assert snapstart_monthly("x86_64", PRICES) == pytest.approx(cache)
    assert snapstart_monthly("x86_64", PRICES, 2, 1000) == pytest.approx(2 * cache + 1000 * 0.0001397998)


def test_the_break_even_is_the_fixed_gap_over_the_per_request_gap() -> None:
    # $43.20 a month against $0.25 per million: 172.8 M requests a month = 65.75 req/s.
    assert break_even_rps(43.20, 0.0, 0.0, 0.25, PRICES) == pytest.approx(43.20 / 0.25 * 1e6 / (730 * 3600))
    # Logs both pay cancel out; a fixed Lambda cost (provisioned) lowers it.
    same = break_even_rps(43.20, 0, 0, 0.25, PRICES)
    assert break_even_rps(43.20, 0.1, 0.0, 0.35, PRICES) == pytest.approx(same)
    assert same is not None and (break_even_rps(43.20, 0, 10.95, 0.25, PRICES) or 0) < same
    assert break_even_rps(43.20, 0.3, 0.0, 0.25, PRICES) is None  # cheaper per request: Lambda at any rate
    assert break_even_rps(10.0, 0.0, 20.0, 0.25, PRICES) == 0  # dearer fixed and per request: never


def test_the_sensitivity_table_has_one_computed_row_per_assumption() -> None:
    data = billed_report()
    rows = {row["assumption"]: row for row in data["break_even"]["rows"]}
    assert list(rows) == [a.label for a in ASSUMPTIONS]
    base = data["break_even"]["rows"][0]
    # Lambda: $0.25 per million at 3 ms billed + $0.2117 for its 454.7 B of log; the instance's own
    # log line (180 B) costs $0.0838 per million on either side, so the gap is $0.3779 per million.
    assert base["lambda_per_million_usd"] == 0.4617
    # EC2's $43.20 a month / $0.3779 per million = 114.3 M requests a month, 43.5 req/s over 730 h;
    # ECS's $45.40: 45.7 req/s. Busy environments (Little's law): 43.5 req/s x 3 ms = 0.13.
    assert base["ec2"] == {"monthly_usd": 43.2, "break_even_rps": 43, "lambda_environments_busy": 0.13}
    assert base["ecs"] == {"monthly_usd": 45.4, "break_even_rps": 46, "lambda_environments_busy": 0.14}

    def ec2(label_start: str) -> int:
        return next(r["ec2"]["break_even_rps"] for label, r in rows.items() if label.startswith(label_start))

    assert ec2("client-measured") < ec2("as measured")  # a longer duration: Lambda dearer sooner
    assert ec2("logs not priced") > ec2("as measured")  # Lambda writes more log per request
    assert ec2("high availability") > ec2("as measured")  # a second instance, the same ALB
    high_availability = next(r for label, r in rows.items() if label.startswith("high availability"))
    instance = (0.0208 + 0.08 * 8 / 730 + 0.005) * 730  # t3.small, its 8 GB gp3 root, its public IPv4
    assert high_availability["ec2"]["monthly_usd"] == pytest.approx(43.20 + instance, abs=0.01) == 62.67
    assert ec2("Lambda provisioned") < ec2("as measured")  # a fixed cost on Lambda's side
    assert ec2("Lambda SnapStart") < ec2("as measured")
    assert data["break_even"]["basis"] == BILLED_LOCAL


def test_the_report_and_the_summary_show_the_sensitivity_table() -> None:
    data = billed_report()
    text = markdown(data)
    section = text.split("## Break-even: below this rate Lambda is cheaper")[1].split("## ")[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(ASSUMPTIONS)  # the header, then one row per assumption
    base = data["break_even"]["rows"][0]
    assert f"**{base['ec2']['break_even_rps']:,} req/s**" in table[1]
    assert f"**{base['ecs']['break_even_rps']:,} req/s**" in table[1]


def test_without_report_lines_the_break_even_says_it_used_the_client_figure() -> None:
    targets, settings = recorded_targets()
    data = report_data("local", "local emulation", "Local.", settings, targets, DEFAULT_PRICES)
    assert data["break_even"]["basis"] == CLIENT_MEASURED
    assert "No REPORT lines were read" in markdown(data)
