"""Idle monthly cost and cost per million requests, from the list-price table (loadtests/prices.json).

Idle: what a way costs per month with no traffic at its minimum size (1 instance, 1 task, 0
Lambda environments): compute, the ALB and public IPv4 addresses. Per million requests: for
Lambda, requests + GB-seconds at the measured mean duration; for EC2 and ECS, their hourly cost
divided by the requests an hour holds at the measured throughput (i.e. fully used at that rate).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests.sizing import Sizing

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"


def load_prices(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or DEFAULT_PRICES).read_text())


def hourly_cost(way: str, sizing: Sizing, prices: dict[str, Any]) -> float:
    """What the way costs per hour at its minimum size while it exists (0 for Lambda)."""
    arch = sizing.architecture
    ipv4 = prices["public_ipv4_per_hour"] * prices["public_ipv4_addresses"][way]
    alb = prices["alb"]["per_hour"] + prices["alb"]["per_lcu_hour"] * prices["alb"]["idle_lcus"]
    if way == "lambda":
        return ipv4
    if way == "ecs":
        fargate = prices["fargate"]
        task = sizing.fargate_vcpus * fargate["per_vcpu_hour"][arch]
        task += sizing.fargate_memory_mib / 1024 * fargate["per_gb_hour"][arch]
        return task * sizing.fargate_min_tasks + alb + ipv4
    if way == "ec2":
        ec2 = prices["ec2"]
        disk = ec2["ebs_gp3_per_gb_month"] * ec2["root_volume_gb"] / prices["hours_per_month"]
        return (
            (ec2["per_instance_hour"][sizing.ec2_instance_type] + disk) * sizing.ec2_min_instances
            + alb
            + ipv4
        )
    raise ValueError(f"unknown way {way!r}")


def idle_monthly_cost(way: str, sizing: Sizing, prices: dict[str, Any]) -> float:
    return round(hourly_cost(way, sizing, prices) * prices["hours_per_month"], 2)


def cost_per_million(
    way: str, sizing: Sizing, prices: dict[str, Any], throughput_rps: float | None, mean_ms: float | None
) -> float | None:
    if way == "lambda":
        if mean_ms is None:
            return None
        lam = prices["lambda"]
        gb_seconds = sizing.lambda_memory_mb / 1024 * mean_ms / 1000 * 1_000_000
        return round(lam["per_million_requests"] + gb_seconds * lam["per_gb_second"][sizing.architecture], 2)
    if not throughput_rps:
        return None
    return round(hourly_cost(way, sizing, prices) / (throughput_rps * 3600) * 1_000_000, 2)


def cost_rows(
    way: str, sizing: Sizing, prices: dict[str, Any], steady: dict[str, Any] | None
) -> dict[str, Any]:
    throughput = steady["throughput_rps"] if steady else None
    mean_ms = steady["latency_ms"]["mean"] if steady else None
    return {
        "idle_monthly_usd": idle_monthly_cost(way, sizing, prices),
        "per_million_requests_usd": cost_per_million(way, sizing, prices, throughput, mean_ms),
    }
