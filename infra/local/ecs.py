"""ecs on this machine: the ECS image as a container with the Fargate task's CPU and memory, or,
without a Docker engine, the image's command as a host process (then with no limits).

The task definition sets APP_WORKERS from the task size (Fargate does not show the container its
CPU quota); so does this, with the same ``workers_for``.
"""

from __future__ import annotations

from pathlib import Path

from infra.common.sizing import APP_PORT, FARGATE_MEMORY_MIB
from infra.local.containers import ContainerSpec
from infra.local.docker import TASK_CPUS
from infra.local.targets import ContainerTarget, HostServiceTarget
from serving.config import workers_for

TASK_WORKERS = workers_for(TASK_CPUS)


def ecs_container_target(image: str, run_id: str, log_dir: Path, label: str = "ecs") -> ContainerTarget:
    """The image under Docker: ``--cpus``/``--memory`` of the task, read-only root, 127.0.0.1 only."""

    def spec(port: int) -> ContainerSpec:
        return ContainerSpec(
            image=image,
            name=f"one-model-{run_id}-{label}",
            run_id=run_id,
            host_port=port,
            container_port=APP_PORT,
            cpus=TASK_CPUS,
            memory_mb=FARGATE_MEMORY_MIB,
            env={"APP_WORKERS": str(TASK_WORKERS)},  # as the ECS task definition sets it
        )

    how = f"ECS image in Docker, --cpus {TASK_CPUS:g} --memory {FARGATE_MEMORY_MIB}m (the Fargate task size)"
    return ContainerTarget("ecs", how, spec, log_dir, label)


def ecs_host_target(log_dir: Path, label: str = "ecs") -> HostServiceTarget:
    """The image's command, ``python -m serving``, with the venv's interpreter."""
    how = "ECS image's command as a host process (no Docker engine: no CPU/memory limits)"
    return HostServiceTarget("ecs", how, log_dir, label, TASK_WORKERS)
