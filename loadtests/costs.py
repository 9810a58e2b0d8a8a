"""Idle monthly cost and cost per million requests, from the list-price table (loadtests/prices.json),
for the architecture each way ran on, at the sizes the stacks deploy (``infra.common.sizing``).

Idle: what a way costs per month with no traffic at its minimum size (1 instance, 1 task, 0
Lambda environments): compute, the ALB and public IPv4 addresses. Per million requests:
- Lambda: requests + GB-seconds at the mean *billed* duration of the function's CloudWatch REPORT
  lines when a deployed run read them (what AWS charges), else at the client-measured mean latency;
- EC2 and ECS: their hourly cost divided by the requests an hour holds at the measured throughput
  (i.e. fully used at that rate). A burstable EC2 instance fully used runs above its baseline, so
  unlimited mode's surplus credits are added: (vCPUs - baseline) x the surplus price per vCPU-hour.
- Logs: the bytes each request writes (measured per way: the app's line, plus Lambda's platform
  lines) at CloudWatch Logs' ingestion price, shown beside the figure without them.

The break-even (``break_even_rps``) is the request rate, around the clock, at which Lambda's bill
equals an always-on way's: the always-on way pays its monthly cost whatever the traffic (while one
instance or task has the capacity) plus its log bytes; Lambda pays per request. ``sensitivity``
computes it once per assumption (the report's and the guide's table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from infra.common import sizing
from infra.common.sizing import Architecture

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"
BILLED = "mean billed duration (the function's CloudWatch REPORT lines)"
BILLED_LOCAL = "mean billed duration (the RIE's REPORT lines, local)"
CLIENT_MEASURED = "mean latency measured by the client (no billed durations read)"


def load_prices(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or DEFAULT_PRICES).read_text())


def hourly_cost(way: str, arch: Architecture, prices: dict[str, Any], count: int | None = None) -> float:
    """What the way costs per hour while it exists (0 for Lambda): at its minimum size, or with
    ``count`` instances or tasks (each holds one more public IPv4 address beside the ALB's)."""
    extra = 0 if count is None else count - _min_count(way)
    count = _min_count(way) if count is None else count
    ipv4 = prices["public_ipv4_per_hour"] * (prices["public_ipv4_addresses"][way] + extra)
    alb = prices["alb"]["per_hour"] + prices["alb"]["per_lcu_hour"] * prices["alb"]["idle_lcus"]
    if way == "lambda":
        return ipv4
    if way == "ecs":
        fargate = prices["fargate"]
        task = sizing.FARGATE_VCPUS * fargate["per_vcpu_hour"][arch]
        task += sizing.FARGATE_MEMORY_MIB / 1024 * fargate["per_gb_hour"][arch]
        return task * count + alb + ipv4
    if way == "ec2":
        ec2 = prices["ec2"]
        disk = ec2["ebs_gp3_per_gb_month"] * ec2["root_volume_gb"] / prices["hours_per_month"]
        return (ec2["per_instance_hour"][sizing.EC2_INSTANCE_TYPE[arch]] + disk) * count + alb + ipv4
    raise ValueError(f"unknown way {way!r}")


def _min_count(way: str) -> int:
    return {"ec2": sizing.EC2_MIN_INSTANCES, "ecs": sizing.FARGATE_MIN_TASKS}.get(way, 0)


def ec2_surplus_credits_per_hour(arch: Architecture, prices: dict[str, Any]) -> float:
    """Unlimited mode at sustained 100% CPU: every vCPU-hour above the baseline is a surplus credit."""
    ec2, kind = prices["ec2"], sizing.EC2_INSTANCE_TYPE[arch]
    above_baseline = ec2["vcpus"][kind] * (1 - ec2["baseline_cpu_fraction"][kind])
    return float(above_baseline * ec2["unlimited_surplus_per_vcpu_hour"][kind] * sizing.EC2_MIN_INSTANCES)


def idle_monthly_cost(
    way: str, arch: Architecture, prices: dict[str, Any], count: int | None = None
) -> float:
    return round(hourly_cost(way, arch, prices, count) * prices["hours_per_month"], 2)


def lambda_cost_per_million(arch: Architecture, prices: dict[str, Any], mean_ms: float) -> float:
    return round(_lambda_per_million(arch, prices, mean_ms), 2)


def _lambda_per_million(arch: Architecture, prices: dict[str, Any], mean_ms: float) -> float:
    lam = prices["lambda"]
    gb_seconds = sizing.LAMBDA_MEMORY_MB / 1024 * mean_ms / 1000 * 1_000_000
    return float(lam["per_million_requests"] + gb_seconds * lam["per_gb_second"][arch])


def log_cost_per_million(bytes_per_request: float, prices: dict[str, Any]) -> float:
    """CloudWatch Logs ingestion for a million requests that write ``bytes_per_request`` each."""
    logs = prices["cloudwatch_logs"]
    return bytes_per_request * 1_000_000 / logs["bytes_per_gb"] * logs["ingestion_per_gb"]


def _seconds_per_month(prices: dict[str, Any]) -> float:
    return float(prices["hours_per_month"] * 3600)


def _memory_gb() -> float:
    return sizing.LAMBDA_MEMORY_MB / 1024


def provisioned_monthly(arch: Architecture, prices: dict[str, Any], environments: int) -> float:
    """Provisioned concurrency's fixed part: ``environments`` kept initialized all month."""
    per_gb_second = prices["lambda"]["provisioned_concurrency"]["per_gb_second_provisioned"][arch]
    return _memory_gb() * environments * _seconds_per_month(prices) * per_gb_second


def provisioned_cost_per_million(arch: Architecture, prices: dict[str, Any], billed_ms: float) -> float:
    """Requests served by provisioned environments: the request fee and the lower duration price."""
    lam = prices["lambda"]
    per_gb_second = lam["provisioned_concurrency"]["per_gb_second_duration"][arch]
    return lam["per_million_requests"] + _memory_gb() * billed_ms / 1000 * 1_000_000 * per_gb_second


def snapstart_monthly(
    arch: Architecture, prices: dict[str, Any], versions: int = 1, restores_per_month: int = 0
) -> float:
    """SnapStart's extra: each published version's snapshot cached all month, plus each restore
    (one per execution environment it starts) per GB of the function's memory."""
    snap = prices["lambda"]["snapstart"]
    cache = _memory_gb() * versions * _seconds_per_month(prices) * snap["cache_per_gb_second"][arch]
    return cache + _memory_gb() * restores_per_month * snap["restore_per_gb"][arch]


def break_even_rps(
    always_on_monthly: float,
    always_on_per_million: float,
    lambda_monthly: float,
    lambda_per_million: float,
    prices: dict[str, Any],
) -> float | None:
    """The rate (requests/s, around the clock) where both bills meet: 0 when Lambda never wins,
    None when Lambda is cheaper at every rate (its per-request cost is not above the other's)."""
    per_request_gap = (lambda_per_million - always_on_per_million) / 1_000_000
    if per_request_gap <= 0:
        return None
    fixed_gap = always_on_monthly - lambda_monthly
    return max(fixed_gap, 0.0) / per_request_gap / _seconds_per_month(prices)


def cost_per_million(
    way: str, arch: Architecture, prices: dict[str, Any], throughput_rps: float | None, mean_ms: float | None
) -> float | None:
    """Per million requests; for Lambda ``mean_ms`` is the duration it bills (or the best stand-in)."""
    if way == "lambda":
        return None if mean_ms is None else lambda_cost_per_million(arch, prices, mean_ms)
    if not throughput_rps:
        return None
    hourly = hourly_cost(way, arch, prices)
    if way == "ec2":
        hourly += ec2_surplus_credits_per_hour(arch, prices)
    return round(hourly / (throughput_rps * 3600) * 1_000_000, 2)


def cost_rows(
    way: str,
    arch: Architecture,
    prices: dict[str, Any],
    steady: dict[str, Any] | None,
    billing: dict[str, Any] | None = None,
    log_volume: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The cost cells of one way; ``billing`` is what the function's REPORT lines said (CloudWatch's,
    or locally the RIE's), ``log_volume`` what its requests wrote to the log."""
    throughput = steady["throughput_rps"] if steady else None
    client_ms = mean_ms = steady["latency_ms"]["mean"] if steady else None
    basis = CLIENT_MEASURED
    billed_steady = (billing or {}).get("steady") or {}
    if way == "lambda" and billed_steady.get("billed_ms_mean") is not None:
        mean_ms = billed_steady["billed_ms_mean"]
        basis = BILLED_LOCAL if (billing or {}).get("source") == "rie" else BILLED
    per_million = cost_per_million(way, arch, prices, throughput, mean_ms)
    rows: dict[str, Any] = {
        "architecture": arch,
        "idle_monthly_usd": idle_monthly_cost(way, arch, prices),
        "per_million_requests_usd": per_million,
    }
    if way == "lambda":
        rows["per_million_basis"] = basis
        if basis != CLIENT_MEASURED and client_ms is not None:
            rows["per_million_client_basis_usd"] = lambda_cost_per_million(arch, prices, client_ms)
    log_bytes = bytes_per_request(log_volume)
    if log_bytes is not None:
        rows["log_bytes_per_request"] = round(log_bytes, 1)
        rows["logs_per_million_usd"] = round(log_cost_per_million(log_bytes, prices), 4)
        if per_million is not None:
            with_logs = per_million + log_cost_per_million(log_bytes, prices)
            rows["per_million_with_logs_usd"] = round(with_logs, 2)
    if way == "ec2":
        rows["surplus_credits_per_hour_usd"] = round(ec2_surplus_credits_per_hour(arch, prices), 4)
    return rows


def bytes_per_request(log_volume: dict[str, Any] | None) -> float | None:
    """Log bytes one request writes: the app's line (times the share of requests that log it)
    plus, on Lambda, the platform's START/END/REPORT lines."""
    if not log_volume or log_volume.get("app_line_bytes") is None:
        return None
    app = log_volume["app_line_bytes"] * log_volume.get("sample_rate", 1.0)
    return float(app + (log_volume.get("platform_bytes_per_invoke") or 0.0))


# ---------------------------------------------------------------- the break-even and what moves it
LogsPriced = Literal["measured", "off", "app line off"]
LambdaMode = Literal["on-demand", "provisioned", "snapstart"]
PROVISIONED_ENVIRONMENTS = 1
# Restores follow new execution environments, which the traffic's shape decides, not this run:
# an assumption, stated in the row. At 1 GB a restore costs far less than a month of the cache.
SNAPSTART_RESTORES_PER_MONTH = 1_000


@dataclass(frozen=True)
class Assumption:
    label: str
    arch: Architecture | None = None  # None: the architecture each way ran on
    count: int | None = None  # always-on instances or tasks; None: the stacks' minimum
    basis: Literal["billed", "client"] = "billed"
    logs: LogsPriced = "measured"
    lambda_mode: LambdaMode = "on-demand"


BASELINE = Assumption("as measured: billed duration, 1 instance / 1 task, logs priced")
ASSUMPTIONS = (
    BASELINE,
    replace(BASELINE, label="client-measured latency instead of the billed duration", basis="client"),
    replace(BASELINE, label="logs not priced", logs="off"),
    replace(BASELINE, label="app's request line off (APP_LOG_SAMPLE_RATE=0); platform lines stay",
            logs="app line off"),
    replace(BASELINE, label="arm64 (Graviton) for all three", arch="arm64"),
    replace(BASELINE, label="high availability: 2 instances / 2 tasks across AZs", count=2),
    replace(BASELINE, label=f"Lambda provisioned concurrency, {PROVISIONED_ENVIRONMENTS} environment",
            lambda_mode="provisioned"),
    replace(BASELINE, lambda_mode="snapstart",
            label=f"Lambda SnapStart, 1 version cached, {SNAPSTART_RESTORES_PER_MONTH:,} restores a month"),
    replace(BASELINE, label="production pick: arm64, 2 instances / 2 tasks, logs priced",
            arch="arm64", count=2),
)  # fmt: skip


def _app_line_bytes(targets: dict[str, Any], way: str) -> float:
    """The way's measured app line, else another way's: the same app writes the same line."""
    measured = [(t.get("log_volume") or {}).get("app_line_bytes") for t in targets.values()]
    own = (targets.get(way, {}).get("log_volume") or {}).get("app_line_bytes")
    found = own if own is not None else next((b for b in measured if b is not None), 0.0)
    sample_rate = (targets.get(way, {}).get("log_volume") or {}).get("sample_rate", 1.0)
    return float(found) * sample_rate


def _log_bytes(targets: dict[str, Any], way: str, logs: LogsPriced) -> float:
    if logs == "off":
        return 0.0
    platform = (targets[way].get("log_volume") or {}).get("platform_bytes_per_invoke") or 0.0
    app = 0.0 if logs == "app line off" else _app_line_bytes(targets, way)
    return app + (float(platform) if way == "lambda" else 0.0)


def _lambda_bill(
    assumption: Assumption, arch: Architecture, prices: dict[str, Any], duration_ms: float
) -> tuple[float, float]:
    """Lambda's (fixed $ per month, $ per million requests before logs) under one assumption."""
    if assumption.lambda_mode == "provisioned":
        fixed = provisioned_monthly(arch, prices, PROVISIONED_ENVIRONMENTS)
        return fixed, provisioned_cost_per_million(arch, prices, duration_ms)
    per_million = _lambda_per_million(arch, prices, duration_ms)
    if assumption.lambda_mode == "snapstart":
        return snapstart_monthly(arch, prices, 1, SNAPSTART_RESTORES_PER_MONTH), per_million
    return 0.0, per_million


def sensitivity(targets: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any] | None:
    """The break-even against EC2 and ECS under each assumption, one row each; None without a
    steady Lambda run to price."""
    lam = targets.get("lambda") or {}
    if not lam.get("steady") or not lam.get("costs"):
        return None
    client_ms = lam["steady"]["latency_ms"]["mean"]
    billed_ms = (((lam.get("billing") or {}).get("steady")) or {}).get("billed_ms_mean")
    rows = []
    for assumption in ASSUMPTIONS:
        arch = assumption.arch or lam["costs"]["architecture"]
        duration = billed_ms if assumption.basis == "billed" and billed_ms is not None else client_ms
        fixed, per_million = _lambda_bill(assumption, arch, prices, duration)
        per_million += log_cost_per_million(_log_bytes(targets, "lambda", assumption.logs), prices)
        row: dict[str, Any] = {
            "assumption": assumption.label,
            "lambda_duration_ms": duration,
            "lambda_monthly_fixed_usd": round(fixed, 2),
            "lambda_per_million_usd": round(per_million, 4),
        }
        for way in [w for w in ("ec2", "ecs") if w in targets]:
            monthly = idle_monthly_cost(way, arch, prices, assumption.count)
            logs = log_cost_per_million(_log_bytes(targets, way, assumption.logs), prices)
            rps = break_even_rps(monthly, logs, fixed, per_million, prices)
            row[way] = {
                "monthly_usd": monthly,
                "break_even_rps": None if rps is None else round(rps),
                # Little's law: requests in flight = arrival rate x time each one holds an environment.
                "lambda_environments_busy": None if rps is None else round(rps * duration / 1000, 2),
            }
        rows.append(row)
    basis = BILLED_LOCAL if (lam.get("billing") or {}).get("source") == "rie" else BILLED
    return {"basis": basis if billed_ms is not None else CLIENT_MEASURED, "rows": rows}
