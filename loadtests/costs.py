"""Idle monthly cost and cost per million requests, from the list-price table (loadtests/prices.json),
for the architecture each way ran on, at the sizes the stacks deploy (``infra.common.sizing``).

Idle: what a way costs per month with no traffic at its minimum size (1 instance, 1 task, 0
Lambda environments): compute, the ALB and public IPv4 addresses. Per million requests:
- Lambda: requests + GB-seconds at the mean *billed* duration of the function's CloudWatch REPORT
  lines when a deployed run read them (what AWS charges), else at the client-measured mean latency;
- EC2 and ECS: their hourly cost divided by the requests an hour holds at the measured throughput
  (i.e. fully used at that rate). A burstable EC2 instance fully used runs above its baseline, so
  unlimited mode's surplus credits are added: (vCPUs - baseline) x the surplus price per vCPU-hour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.common import sizing
from infra.common.sizing import Architecture

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"
BILLED = "mean billed duration (the function's CloudWatch REPORT lines)"
CLIENT_MEASURED = "mean latency measured by the client (no billed durations read)"


def load_prices(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or DEFAULT_PRICES).read_text())


def hourly_cost(way: str, arch: Architecture, prices: dict[str, Any]) -> float:
    """What the way costs per hour at its minimum size while it exists (0 for Lambda)."""
    ipv4 = prices["public_ipv4_per_hour"] * prices["public_ipv4_addresses"][way]
    alb = prices["alb"]["per_hour"] + prices["alb"]["per_lcu_hour"] * prices["alb"]["idle_lcus"]
    if way == "lambda":
        return ipv4
    if way == "ecs":
        fargate = prices["fargate"]
        task = sizing.fargate_vcpus() * fargate["per_vcpu_hour"][arch]
        task += sizing.FARGATE_MEMORY_MIB / 1024 * fargate["per_gb_hour"][arch]
        return task * sizing.FARGATE_MIN_TASKS + alb + ipv4
    if way == "ec2":
        ec2 = prices["ec2"]
        disk = ec2["ebs_gp3_per_gb_month"] * ec2["root_volume_gb"] / prices["hours_per_month"]
        return (
            (ec2["per_instance_hour"][sizing.EC2_INSTANCE_TYPE[arch]] + disk) * sizing.EC2_MIN_INSTANCES
            + alb
            + ipv4
        )
    raise ValueError(f"unknown way {way!r}")


def ec2_surplus_credits_per_hour(arch: Architecture, prices: dict[str, Any]) -> float:
    """Unlimited mode at sustained 100% CPU: every vCPU-hour above the baseline is a surplus credit."""
    ec2, kind = prices["ec2"], sizing.EC2_INSTANCE_TYPE[arch]
    above_baseline = ec2["vcpus"][kind] * (1 - ec2["baseline_cpu_fraction"][kind])
    return float(above_baseline * ec2["unlimited_surplus_per_vcpu_hour"][kind] * sizing.EC2_MIN_INSTANCES)


def idle_monthly_cost(way: str, arch: Architecture, prices: dict[str, Any]) -> float:
    return round(hourly_cost(way, arch, prices) * prices["hours_per_month"], 2)


def lambda_cost_per_million(arch: Architecture, prices: dict[str, Any], mean_ms: float) -> float:
    lam = prices["lambda"]
    gb_seconds = sizing.LAMBDA_MEMORY_MB / 1024 * mean_ms / 1000 * 1_000_000
    return round(lam["per_million_requests"] + gb_seconds * lam["per_gb_second"][arch], 2)


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
) -> dict[str, Any]:
    """The cost cells of one way; ``billing`` is what the function's REPORT lines said (AWS only)."""
    throughput = steady["throughput_rps"] if steady else None
    mean_ms = steady["latency_ms"]["mean"] if steady else None
    basis = CLIENT_MEASURED
    billed_steady = (billing or {}).get("steady") or {}
    if way == "lambda" and billed_steady.get("billed_ms_mean") is not None:
        mean_ms, basis = billed_steady["billed_ms_mean"], BILLED
    rows: dict[str, Any] = {
        "architecture": arch,
        "idle_monthly_usd": idle_monthly_cost(way, arch, prices),
        "per_million_requests_usd": cost_per_million(way, arch, prices, throughput, mean_ms),
    }
    if way == "lambda":
        rows["per_million_basis"] = basis
    if way == "ec2":
        rows["surplus_credits_per_hour_usd"] = round(ec2_surplus_credits_per_hour(arch, prices), 4)
    return rows
