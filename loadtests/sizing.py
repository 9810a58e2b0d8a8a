"""The deployed sizes (instance type, Fargate task, Lambda memory), as the cost table needs them.

The numbers live in ``infra.common.sizing``, which the stacks use too and which does not import
aws_cdk (that would start a Node.js process for a handful of constants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def deployed_sizing() -> Sizing:
    architecture = sizing.DEFAULT_ARCHITECTURE
    return Sizing(
        architecture=architecture,
        ec2_instance_type=sizing.EC2_INSTANCE_TYPE[architecture],
        ec2_min_instances=sizing.EC2_MIN_INSTANCES,
        fargate_cpu_units=sizing.FARGATE_CPU_UNITS,
        fargate_memory_mib=sizing.FARGATE_MEMORY_MIB,
        fargate_min_tasks=sizing.FARGATE_MIN_TASKS,
        lambda_memory_mb=sizing.LAMBDA_MEMORY_MB,
        lambda_timeout_seconds=sizing.LAMBDA_TIMEOUT_SECONDS,
        app_port=sizing.APP_PORT,
    )
