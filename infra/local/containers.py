"""``docker run`` for the local stand-ins: resource limits like the cloud's, ports on 127.0.0.1 only.

Every container gets the label ``one-model.run=<run id>`` so a run can remove whatever it
started with one ``docker rm -f`` even after a crash.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from infra.local.docker import DOCKER
from infra.local.process import LOOPBACK, ManagedProcess

RUN_LABEL = "one-model.run"


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str
    run_id: str
    host_port: int
    container_port: int
    cpus: float
    memory_mb: int
    entrypoint: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    mounts: tuple[tuple[Path, str], ...] = ()  # (host path, container path), read-only
    # Like the cloud: Lambda's filesystem and the ECS task's root are read-only but for /tmp.
    read_only_root: bool = True

    def run_argv(self) -> list[str]:
        argv = [DOCKER, "run", "--rm", "--name", self.name, "--label", f"{RUN_LABEL}={self.run_id}"]
        argv += ["--publish", f"{LOOPBACK}:{self.host_port}:{self.container_port}"]
        argv += [
            "--cpus",
            f"{self.cpus:.3f}",
            "--memory",
            f"{self.memory_mb}m",
            "--memory-swap",
            f"{self.memory_mb}m",
        ]
        if self.read_only_root:
            argv += ["--read-only", "--tmpfs", "/tmp"]
        for key, value in self.env.items():
            argv += ["--env", f"{key}={value}"]
        for source, target in self.mounts:
            argv += ["--volume", f"{source}:{target}:ro"]
        if self.entrypoint is not None:
            argv += ["--entrypoint", self.entrypoint]
        return [*argv, self.image, *self.args]


def start_container(spec: ContainerSpec, log_path: Path) -> ManagedProcess:
    """``docker run`` attached (not -d): its output is the container's log, in ``log_path``."""
    return ManagedProcess(spec.run_argv(), log_path).start()


def remove_container(name: str) -> None:
    subprocess.run([DOCKER, "rm", "--force", name], capture_output=True, check=False, timeout=60)


def run_containers(run_id: str) -> list[str]:
    """The ids of every container this run started, running or not."""
    listed = subprocess.run(
        [DOCKER, "ps", "--all", "--quiet", "--filter", f"label={RUN_LABEL}={run_id}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return listed.stdout.split()


def remove_run_containers(run_id: str) -> None:
    """The safety net: remove every container this run started, whatever state it is in."""
    try:
        ids = run_containers(run_id)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return  # no engine answers: nothing of ours can be running in it
    if ids:
        subprocess.run([DOCKER, "rm", "--force", *ids], capture_output=True, check=False, timeout=120)
