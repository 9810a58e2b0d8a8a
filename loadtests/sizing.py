"""The deployed sizes (instance type, Fargate task, Lambda memory) as infra/common/shared.py sets them.

Read from the source with ``ast`` instead of imported: importing that module imports aws_cdk,
which starts a Node.js process and takes seconds, for a handful of constants. One place still
holds the numbers; this only reads them.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1] / "infra" / "common" / "shared.py"


def literal_constants(path: Path) -> dict[str, Any]:
    """Top-level ``NAME = <literal>`` / ``NAME: T = <literal>`` assignments of a Python file."""
    values: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values


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


@lru_cache(maxsize=1)
def deployed_sizing(path: Path = SHARED) -> Sizing:
    constants = literal_constants(path)
    architecture = constants["CONTEXT_DEFAULTS"]["architecture"]
    return Sizing(
        architecture=architecture,
        ec2_instance_type=constants["EC2_INSTANCE_TYPE"][architecture],
        ec2_min_instances=constants["EC2_MIN_INSTANCES"],
        fargate_cpu_units=constants["FARGATE_CPU_UNITS"],
        fargate_memory_mib=constants["FARGATE_MEMORY_MIB"],
        fargate_min_tasks=constants["FARGATE_MIN_TASKS"],
        lambda_memory_mb=constants["LAMBDA_MEMORY_MB"],
        lambda_timeout_seconds=constants["LAMBDA_TIMEOUT_SECONDS"],
        app_port=constants["APP_PORT"],
    )
