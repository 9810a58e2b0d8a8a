"""The deployed sizes (instance type, Fargate task, Lambda memory) as the cost table needs them, and
what makes the three ways comparable like for like, or says where they are not (``fairness``):

- compute: throughput per vCPU, with each way's vCPUs stated (a burstable t3.small's 2, a Fargate
  task's 0.5, a Lambda environment's memory / 1769 MB times the environments in use);
- transport: only Lambda's Function URL is HTTPS (TLS handshakes), the ALBs listen on plain HTTP;
- start: an ALB's "start to first success" holds the app's own start to /ready plus the health
  checks that put a new target in service (interval x healthy threshold).

The numbers live in ``infra.common.sizing``, which the stacks use too and which does not import
aws_cdk (that would start a Node.js process for a handful of constants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from infra.common import sizing


@dataclass(frozen=True)
class Sizing:
    architecture: str
    ec2_instance_type: str
    ec2_min_instances: int
    fargate_cpu_units: int
    fargate_memory_mib: int
    fargate_min_tasks: int
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    app_port: int

    @property
    def fargate_vcpus(self) -> float:
        return self.fargate_cpu_units / 1024

    @property
    def fargate_workers(self) -> int:
        """What the image's cpu-count prints under the task's CPU quota: the vCPUs, rounded up."""
        return max(1, math.ceil(self.fargate_vcpus))

    @property
    def lambda_vcpus(self) -> float:
        """CPU is allotted in proportion to memory: 1769 MB buys one vCPU."""
        return self.lambda_memory_mb / sizing.LAMBDA_MB_PER_VCPU


def deployed_sizing(architecture: str | None = None) -> Sizing:
    """The sizes for ``architecture`` (a stack's Architecture output), by default the CDK app's."""
    arch = _architecture(architecture or sizing.DEFAULT_ARCHITECTURE)
    return Sizing(
        architecture=arch,
        ec2_instance_type=sizing.EC2_INSTANCE_TYPE[arch],
        ec2_min_instances=sizing.EC2_MIN_INSTANCES,
        fargate_cpu_units=sizing.FARGATE_CPU_UNITS,
        fargate_memory_mib=sizing.FARGATE_MEMORY_MIB,
        fargate_min_tasks=sizing.FARGATE_MIN_TASKS,
        lambda_memory_mb=sizing.LAMBDA_MEMORY_MB,
        lambda_timeout_seconds=sizing.LAMBDA_TIMEOUT_SECONDS,
        app_port=sizing.APP_PORT,
    )


def _architecture(value: str) -> sizing.Architecture:
    if value == "arm64":
        return "arm64"
    if value == "x86_64":
        return "x86_64"
    raise ValueError(f"architecture={value!r}: expected x86_64 or arm64")


# ---------------------------------------------------------------- like for like, or stated
def compute(
    way: str,
    on_aws: bool,
    target: dict[str, Any],
    size: Sizing,
    prices: dict[str, Any],
    steady_users: int,
    host_cpus: int | None,
) -> dict[str, Any]:
    """The vCPUs the way had in the steady run, how that number was found, and throughput per vCPU."""
    if way == "ec2":
        kind = size.ec2_instance_type
        if on_aws:
            per_instance = prices["ec2"]["vcpus"][kind]
            baseline = prices["ec2"]["baseline_cpu_fraction"][kind]
            vcpus = float(per_instance * size.ec2_min_instances)
            basis = (
                f"{size.ec2_min_instances} x {kind}: {per_instance} burstable vCPUs each (baseline "
                f"{baseline:.0%} per vCPU; above it unlimited mode bills surplus credits)"
            )
        else:
            vcpus = float(host_cpus or 1)
            basis = f"this host's {host_cpus} cores (the unit runs one worker per core; a {kind} has 2 vCPUs)"
    elif way == "ecs":
        vcpus = size.fargate_vcpus * size.fargate_min_tasks
        basis = (
            f"{size.fargate_min_tasks} task x {size.fargate_vcpus:g} vCPU "
            "(the minimum; autoscaling may add tasks)"
        )
    else:
        environments, counted = lambda_environments(on_aws, target, steady_users)
        vcpus = size.lambda_vcpus * environments
        basis = (
            f"{environments} environments ({counted}) x {size.lambda_vcpus:.2f} vCPU "
            f"({size.lambda_memory_mb} MB / {sizing.LAMBDA_MB_PER_VCPU} MB per vCPU)"
        )
    throughput = (target.get("steady") or {}).get("throughput_rps")
    per_vcpu = round(throughput / vcpus, 2) if throughput and vcpus else None
    return {"vcpus": round(vcpus, 3), "basis": basis, "throughput_per_vcpu": per_vcpu}


def lambda_environments(on_aws: bool, target: dict[str, Any], steady_users: int) -> tuple[int, str]:
    """How many execution environments served the steady run, and how that was found."""
    billed = ((target.get("billing") or {}).get("steady") or {}).get("environments")
    if on_aws and billed:
        return int(billed), "log streams in the steady window"
    limit = (target.get("details") or {}).get("concurrency_limit")
    if limit:
        return min(steady_users, int(limit)), "one per concurrent user, up to the concurrency limit"
    return steady_users, "one per concurrent user"


def transport(way: str, on_aws: bool) -> str:
    if not on_aws:
        return "plain HTTP on 127.0.0.1 (no TLS locally, for any way)"
    if way == "lambda":
        return "HTTPS: the Function URL takes TLS only, so each new connection pays a TLS handshake"
    return "plain HTTP to the ALB (port 80 listener): no TLS handshakes"


def start_split(way: str, on_aws: bool, target: dict[str, Any]) -> dict[str, Any] | None:
    """ec2/ecs: start to first success = the app's own start to /ready + the health-check delay
    (interval x healthy threshold: the ALB's on AWS; locally the stand-in proxy's, when the target's
    details name it as ``health_check: {interval_seconds, healthy_threshold}``)."""
    total = (target.get("cold_start") or {}).get("seconds_to_first_success")
    if way == "lambda" or total is None:
        return None
    if on_aws:
        interval, threshold = (
            float(sizing.ALB_HEALTH_CHECK_INTERVAL_SECONDS),
            sizing.ALB_HEALTHY_THRESHOLD_COUNT,
        )
        checker = "the ALB's target-group health check"
        app = (
            "instance launch, boot and the app's start to /ready"
            if way == "ec2"
            else "task placement, image pull and the app's start to /ready"
        )
    else:
        local = (target.get("details") or {}).get("health_check")
        if not local:
            return None  # no load balancer in front: the total is the app's own start to first success
        interval, threshold = float(local["interval_seconds"]), int(local["healthy_threshold"])
        checker, app = "the local load balancer's health check", "the app's start to /ready"
    delay = interval * threshold
    return {
        "total_seconds": round(total, 2),
        "app_start_to_ready_seconds": round(max(total - delay, 0.0), 2),
        "app_start_to_ready_covers": app,
        "health_check_delay_seconds": round(delay, 2),
        "health_check": f"{checker}: {threshold} healthy checks {interval:g} s apart",
    }


def fairness(
    way: str,
    source: str,
    target: dict[str, Any],
    size: Sizing,
    prices: dict[str, Any],
    settings: Any,
    host_cpus: int | None,
) -> dict[str, Any]:
    on_aws = source == "AWS"
    steady_users = int(getattr(settings, "steady_users", 1))
    return {
        "compute": compute(way, on_aws, target, size, prices, steady_users, host_cpus),
        "transport": transport(way, on_aws),
        "start": start_split(way, on_aws, target),
    }
