"""What makes the three ways comparable like for like, or says where they are not (``fairness``):

- compute: throughput per vCPU, with each way's vCPUs stated (a burstable t3.small's 2, a Fargate
  task's 0.5, a Lambda environment's ``sizing.lambda_vcpus`` times the environments in use);
- transport: what the runs spoke, from the endpoint measured: Lambda's Function URL is always HTTPS,
  an ALB is HTTPS when its stack was given a certificate (else plain HTTP); locally plain HTTP, with
  an extra steady run over HTTPS under `make demo TLS=1`;
- start: an ALB's "start to first success" holds the app's own start to /ready plus the health
  checks that put a new target in service (interval x healthy threshold).

Every size is read from ``infra.common.sizing``, the one home the stacks deploy from (it does not
import aws_cdk, which would start a Node.js process for a handful of constants), and the worker
count from ``serving.config.workers_for``, as the ECS stack computes it. Each way is priced for the
architecture it ran on: a deployed stack's Architecture output, locally this host's.
"""

from __future__ import annotations

import platform
from typing import Any, Final, get_args

from infra.common import sizing
from infra.common.sizing import Architecture
from loadtests.tls import is_https
from serving.config import workers_for

ARCHITECTURES: Final[tuple[Architecture, ...]] = get_args(Architecture)
# platform.machine() on the hosts the local images build for natively.
MACHINE_ARCHITECTURE: Final[dict[str, Architecture]] = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
}


def architecture(value: str) -> Architecture:
    """``value`` (a stack's Architecture output, a report's field) as an Architecture, or ValueError."""
    for known in ARCHITECTURES:
        if value == known:
            return known
    raise ValueError(f"architecture={value!r}: expected one of {ARCHITECTURES}")


def host_architecture(machine: str | None = None) -> Architecture:
    """The architecture a local run used: this host's (``make demo`` builds its images natively)."""
    machine = machine or platform.machine()
    if machine not in MACHINE_ARCHITECTURE:
        raise ValueError(f"this host is {machine}: the stacks deploy {' or '.join(ARCHITECTURES)} only")
    return MACHINE_ARCHITECTURE[machine]


def fargate_workers() -> int:
    """The workers one Fargate task runs: the ECS stack's APP_WORKERS."""
    return workers_for(sizing.FARGATE_VCPUS)


def deployed_sizes() -> dict[str, Any]:
    """Every number ``infra.common.sizing`` holds, keyed in lower case, for report.json."""
    return {name.lower(): value for name, value in vars(sizing).items() if name.isupper()}


# ---------------------------------------------------------------- like for like, or stated
def compute(
    way: str,
    on_aws: bool,
    target: dict[str, Any],
    prices: dict[str, Any],
    steady_users: int,
    host_cpus: int | None,
) -> dict[str, Any]:
    """The vCPUs the way had in the steady run, how that number was found, and throughput per vCPU."""
    if way == "ec2":
        kind = sizing.EC2_INSTANCE_TYPE[architecture(target["architecture"])]
        per_instance = prices["ec2"]["vcpus"][kind]
        if on_aws:
            baseline = prices["ec2"]["baseline_cpu_fraction"][kind]
            vcpus = float(per_instance * sizing.EC2_MIN_INSTANCES)
            basis = (
                f"{sizing.EC2_MIN_INSTANCES} x {kind}: {per_instance} burstable vCPUs each (baseline "
                f"{baseline:.0%} per vCPU; above it unlimited mode bills surplus credits)"
            )
        else:
            vcpus = float(host_cpus or 1)
            basis = (
                f"this host's {host_cpus} cores (the server runs one worker per CPU it may use; "
                f"a {kind} has {per_instance} vCPUs)"
            )
    elif way == "ecs":
        vcpus = sizing.FARGATE_VCPUS * sizing.FARGATE_MIN_TASKS
        basis = (
            f"{sizing.FARGATE_MIN_TASKS} task x {sizing.FARGATE_VCPUS:g} vCPU, {fargate_workers()} "
            "uvicorn worker(s) (the minimum; autoscaling may add tasks)"
        )
    else:
        environments, counted = lambda_environments(on_aws, target, steady_users)
        vcpus = sizing.lambda_vcpus() * environments
        basis = (
            f"{environments} environments ({counted}) x {sizing.lambda_vcpus():.2f} vCPU "
            f"({sizing.LAMBDA_MEMORY_MB} MB / {sizing.LAMBDA_MB_PER_VCPU} MB per vCPU)"
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


def transport(way: str, on_aws: bool, target: dict[str, Any] | None = None) -> str:
    target = target or {}
    if not on_aws:
        if target.get("tls"):
            return "plain HTTP on 127.0.0.1; the steady run repeated over HTTPS (TLS section)"
        return "plain HTTP on 127.0.0.1 (no TLS locally, for any way)"
    if way == "lambda":
        return "HTTPS: the Function URL takes TLS only, so each new connection pays a TLS handshake"
    if is_https(str((target.get("details") or {}).get("endpoint", ""))):
        return "HTTPS to the ALB (443 listener, its certificate): each new connection pays a TLS handshake"
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
    prices: dict[str, Any],
    settings: Any,
    host_cpus: int | None,
) -> dict[str, Any]:
    on_aws = source == "AWS"
    steady_users = int(getattr(settings, "steady_users", 1))
    return {
        "compute": compute(way, on_aws, target, prices, steady_users, host_cpus),
        "transport": transport(way, on_aws, target),
        "start": start_split(way, on_aws, target),
    }
