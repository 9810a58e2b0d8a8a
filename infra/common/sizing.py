"""The sizes the three stacks deploy: one place to compare the three ways.

Kept free of aws_cdk (like ``infra.common.names``): the local runs (``infra.local.docker``), the
load tests and the cost table read these numbers, and importing aws_cdk starts a Node.js process.
"""

from __future__ import annotations

from typing import Final, Literal

Architecture = Literal["x86_64", "arm64"]
# x86_64 builds natively on most laptops and CI; arm64 (Graviton) is cheaper per hour
# (loadtests/prices.json) but needs an arm64 machine or QEMU emulation to build the images.
DEFAULT_ARCHITECTURE: Final[Architecture] = "x86_64"

APP_PORT: Final = 8000
READY_PATH: Final = "/ready"

# Timeouts at the boundaries the server must fit inside (serving.config.Settings holds its side):
# its keep-alive outlasts the ALBs' idle timeout, and its graceful shutdown ends
# before either platform kills it (ECS after stopTimeout, systemd after TimeoutStopSec).
ALB_IDLE_TIMEOUT_SECONDS: Final = 60
# The target groups' health check on READY_PATH (both ALB ways): a target takes traffic after
# interval x threshold seconds of answering, which the report adds to the app's own start.
ALB_HEALTH_CHECK_INTERVAL_SECONDS: Final = 10
ALB_HEALTHY_THRESHOLD_COUNT: Final = 2
ECS_STOP_TIMEOUT_SECONDS: Final = 30

# EC2: 2 burstable vCPUs, 2 GiB (enough to pip-install onnxruntime on first boot).
EC2_INSTANCE_TYPE: Final[dict[Architecture, str]] = {"x86_64": "t3.small", "arm64": "t4g.small"}
EC2_MIN_INSTANCES: Final = 1
EC2_MAX_INSTANCES: Final = 3
# How long CloudFormation waits for a new instance's boot signal before it fails (and rolls back)
# the create or update. First boot: apt (awscli, agents), the venv from the bundle's wheels, then
# up to user_data.sh's READY_TIMEOUT_SECONDS for /ready; a failing boot signals at once.
# Also the ELB health-check grace and the default instance warmup: any new instance may boot this long.
EC2_BOOT_SIGNAL_TIMEOUT_MINUTES: Final = 15
# Fargate: 0.5 vCPU / 1 GiB per task, the smallest size with headroom for onnxruntime + uvicorn.
FARGATE_CPU_UNITS: Final = 512
FARGATE_MEMORY_MIB: Final = 1024
FARGATE_VCPUS: Final = FARGATE_CPU_UNITS / 1024  # Fargate counts CPU in units, 1,024 to the vCPU
FARGATE_MIN_TASKS: Final = 1

FARGATE_MAX_TASKS: Final = 4
# Both autoscaled ways track the same CPU target so their scale-out behaviour is comparable.
TARGET_CPU_PERCENT: Final = 60
# Lambda: 1024 MB buys ~0.58 vCPU (lambda_vcpus), close to one Fargate task.
LAMBDA_MEMORY_MB: Final = 1024
LAMBDA_TIMEOUT_SECONDS: Final = 15
LAMBDA_MB_PER_VCPU: Final = 1769


def lambda_vcpus(memory_mb: int = LAMBDA_MEMORY_MB) -> float:
    """Lambda allots CPU in proportion to memory: LAMBDA_MB_PER_VCPU buys one vCPU."""
    return memory_mb / LAMBDA_MB_PER_VCPU
