"""Settings, read once from the environment (prefix ``APP_``) by pydantic-settings.

Also the one home of the worker count (``workers_for``, ``available_cpus``): the server, the
ECS stack (APP_WORKERS from the task size) and the local runners all call these.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.artifacts import metadata_path, model_path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
# prometheus-client's switch to its multiprocess mode: serving.server sets it for 2+ workers, before
# they import prometheus-client; serving.metrics then sums their files at /metrics.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def workers_for(cpus: float) -> int:
    """One uvicorn worker per vCPU, a fraction rounded up: 1.5 vCPUs (1,536 CPU units) run 2."""
    return max(1, math.ceil(cpus))


def available_cpus(cgroup_root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> float:
    """The CPUs this process may use: its cgroup quota (``docker run --cpus``, systemd's
    CPUQuota=; cgroup v2's cpu.max, else v1's CFS quota) if one is set, never more than the CPUs
    it may be scheduled on.

    The quota caps a process without hiding any CPU (a 1-vCPU container on a 2-CPU host sees
    2), so the affinity count alone would over-count. Fargate does not expose the task's quota
    to the container: the ECS stack sets APP_WORKERS instead.
    """
    schedulable = float(len(os.sched_getaffinity(0)))
    quota = _cgroup_cpu_quota(cgroup_root, proc_self_cgroup)
    if quota is None:
        quota = _cgroup_v1_cpu_quota(cgroup_root)
    return schedulable if quota is None else min(quota, schedulable)


def _cgroup_cpu_quota(cgroup_root: Path, proc_self_cgroup: Path) -> float | None:
    """The tightest ``cpu.max`` quota (quota / period) from this process's cgroup up to the root,
    or None when none is set (``max``) or there is no cgroup v2 here."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        return None
    # cgroup v2's line is "0::/path/of/the/cgroup" (in a container's own namespace, "0::/").
    own = next((line[len("0::") :] for line in lines if line.startswith("0::")), None)
    if own is None:
        return None
    directory = cgroup_root / own.strip().lstrip("/")
    quotas: list[float] = []
    for level in (directory, *directory.parents):
        try:
            limit, period = (level / "cpu.max").read_text().split()
        except (OSError, ValueError):
            limit = "max"
        if limit != "max":
            quotas.append(int(limit) / int(period))
        if level == cgroup_root:
            break
    return min(quotas, default=None)


def _cgroup_v1_cpu_quota(cgroup_root: Path) -> float | None:
    """cgroup v1 (hosts still on it, like Debian's docker.io on this repo's CI): Docker mounts the
    container's own cgroup at ``cpu/``, whose CFS quota is -1 when unlimited."""
    try:
        limit = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return limit / period if limit > 0 else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", frozen=True)

    model_path: Path = Field(model_path(), description="The ONNX model file.")
    metadata_path: Path = Field(metadata_path(), description="The model card beside it.")
    max_batch_size: int = Field(1000, ge=1, description="Most instances accepted in one /predict call.")
    max_body_bytes: int | None = Field(
        None,
        ge=1024,
        description="Larger request bodies get 413. Unset: the largest valid request's size plus "
        "headroom, from max_batch_size and the model's features (serving.schemas.body_limit).",
    )
    log_level: str = Field("INFO", description="Python logging level for the one-line-per-request log.")
    # CloudWatch Logs bills ingestion per GB: at a few hundred bytes a request, the line can cost
    # more per million requests than Lambda's request fee. Sampling keeps the metrics exact.
    log_sample_rate: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Share of requests that write the per-request log line (1 = every one, 0 = none); "
        "server errors (5xx) are always logged.",
    )
    # One request runs at a time per process, and parallelism comes from processes (uvicorn
    # workers, Fargate tasks, Lambda environments). One intra-op thread per process avoids
    # oversubscribing the vCPUs, and a model this small would pay more in thread hand-offs than it gains.
    intra_op_threads: int = Field(1, ge=0, description="onnxruntime intra-op threads (0 = one per core).")
    inter_op_threads: int = Field(1, ge=0, description="onnxruntime inter-op threads.")

    # ---- the HTTP server (`python -m serving`: EC2's unit and the ECS image; Lambda has none)
    host: str = Field("127.0.0.1", description="Address uvicorn binds; the image and the unit set 0.0.0.0.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port uvicorn listens on.")
    workers: int = Field(
        default_factory=lambda: workers_for(available_cpus()),
        ge=1,
        description="uvicorn worker processes. Unset: one per CPU this process may use (workers_for).",
    )
    # Must outlast the load balancer's idle timeout (infra/common/sizing.py ALB_IDLE_TIMEOUT_SECONDS):
    # the balancer, not the server, then closes an idle connection, so it never reuses one
    # that the server is closing at that instant (a 502). tests/serving/test_server.py keeps the order.
    keep_alive_seconds: int = Field(75, ge=1, description="Idle keep-alive connections close after this.")
    graceful_shutdown_seconds: int = Field(
        10, ge=1, description="On SIGTERM, in-flight requests get this long before the process exits."
    )
    # On AWS both balanced ways deregister a target before they send SIGTERM (ECS and the ASG wait out
    # the deregistration delay first), so no drain is needed there; it is for a balancer that learns
    # only from health checks. Drain and graceful shutdown together must end before the platform kills.
    drain_seconds: float = Field(
        0.0,
        ge=0,
        description="On SIGTERM, /ready answers 503 for this long while requests are still served, "
        "then the graceful shutdown starts (0: at once).",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="A request whose headers are not complete by then is cut off."
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A request whose body is not complete by then gets 408."
    )
    limit_concurrency: int = Field(
        512, ge=1, description="Connections per worker beyond this get 503 instead of a reset."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
