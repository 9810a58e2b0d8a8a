"""What every local stand-in offers the demo, and the two kinds of server behind ec2 and ecs.

A ``LocalTarget`` starts fresh, forces a cold start, stops, and says how it ran. Its ``ColdStart``
is what forcing fresh environments cost, measured from the client: for a server the time from
starting the process or container to the first successful /predict; for lambda the pool is
emptied and the cold starts happen in the load test itself (each new environment's first
response carries ``x-cold-start: true``).

``HostServiceTarget`` runs the server as a host process (ec2: the unit's command), and
``ContainerTarget`` as a container (ecs: the image); ``ec2.py`` and ``ecs.py`` build them.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from infra.common.paths import REPO_ROOT
from infra.common.sizing import ECS_STOP_TIMEOUT_SECONDS
from infra.local.commands import VENV_PYTHON, server_command, server_environment
from infra.local.containers import ContainerSpec, remove_container, start_container
from infra.local.docker import DOCKER
from infra.local.process import LOOPBACK, FirstSuccess, ManagedProcess, free_port, wait_for_first_success


@dataclass(frozen=True)
class ColdStart:
    method: str
    seconds_to_first_success: float | None
    first_response_was_cold: bool | None

    @classmethod
    def measured(cls, method: str, first: FirstSuccess) -> ColdStart:
        return cls(method, first.seconds, first.cold_header)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LocalTarget(Protocol):
    name: str
    how: str

    @property
    def url(self) -> str: ...

    @property
    def tls_url(self) -> str | None:  # the same target over HTTPS, when given a certificate
        ...

    def start(self) -> ColdStart: ...

    def force_cold(self) -> ColdStart: ...

    def stop(self) -> None: ...

    def details(self) -> dict[str, Any]: ...


# ---------------------------------------------------------------- a server process or container
class _RestartableTarget:
    """Shared by ec2 and ecs: a fresh start is a new process or container, timed to first success.
    ``label`` tells instances of one way apart (log and container names) when several run at once."""

    def __init__(self, name: str, how: str, label: str, log_dir: Path) -> None:
        self.name, self.how, self.label, self.log_dir = name, how, label, log_dir
        self.port = 0
        self.process: ManagedProcess | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def launch(self, port: int) -> ManagedProcess:
        raise NotImplementedError

    def log_path(self) -> Path:
        return self.log_dir / f"{self.label}-{self.starts}.log"

    def start(self, port: int | None = None) -> ColdStart:
        """Launch on ``port`` (a restart keeps its port, as a systemd unit does) or a free one."""
        self.port = port or free_port()
        self.starts += 1
        started = time.monotonic()
        self.process = self.launch(self.port)
        first = wait_for_first_success(LOOPBACK, self.port, started, alive=self.process)
        return ColdStart.measured(f"{self.how}: start to first successful /predict", first)

    def terminate(self, grace_seconds: float) -> None:
        """SIGTERM, then up to ``grace_seconds`` for in-flight requests before SIGKILL."""
        if self.process is not None:
            self.process.stop(grace_seconds)
            self.process = None

    def root_pid(self) -> int | None:
        """The server's main process on this host (for its workers' RSS and open files)."""
        popen = self.process.process if self.process is not None else None
        return popen.pid if popen is not None and popen.poll() is None else None

    def force_cold(self) -> ColdStart:
        self.stop()
        return self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def details(self) -> dict[str, Any]:
        return {"how": self.how, "starts": self.starts}


class HostServiceTarget(_RestartableTarget):
    """The server's command (``commands.server_command``) as a host process with this checkout's
    venv, from the repo's root; ``workers`` sets APP_WORKERS, else the server counts its CPUs."""

    def __init__(
        self, name: str, how: str, log_dir: Path, label: str = "", workers: int | None = None
    ) -> None:
        super().__init__(name, how, label or name, log_dir)
        self.argv = server_command(VENV_PYTHON)
        self.workers = workers

    def launch(self, port: int) -> ManagedProcess:
        env = {**os.environ, **server_environment(port, self.workers)}
        return ManagedProcess(self.argv, self.log_path(), env=env, cwd=REPO_ROOT).start()

    def details(self) -> dict[str, Any]:
        return {**super().details(), "command": self.argv}


class ContainerTarget(_RestartableTarget):
    """The server as a container: ``spec(port)`` says how to ``docker run`` it."""

    def __init__(
        self, name: str, how: str, spec: Callable[[int], ContainerSpec], log_dir: Path, label: str = ""
    ) -> None:
        super().__init__(name, how, label or name, log_dir)
        self.spec = spec
        self.container = ""

    def launch(self, port: int) -> ManagedProcess:
        spec = self.spec(port)
        self.container = spec.name
        return start_container(spec, self.log_path())

    def stop(self) -> None:
        if self.container:
            remove_container(self.container)
        super().stop()

    def terminate(self, grace_seconds: float = ECS_STOP_TIMEOUT_SECONDS) -> None:
        """``docker stop``: SIGTERM, SIGKILL after ``grace_seconds`` (the task's stopTimeout)."""
        if self.container:
            subprocess.run(
                [DOCKER, "stop", "--time", str(int(grace_seconds)), self.container],
                capture_output=True, check=False, timeout=grace_seconds + 30,
            )  # fmt: skip
        self.stop()

    def root_pid(self) -> int | None:
        inspected = subprocess.run(
            [DOCKER, "inspect", "--format", "{{.State.Pid}}", self.container],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        pid = int(inspected.stdout.strip() or 0) if inspected.returncode == 0 else 0
        return pid or None

    def details(self) -> dict[str, Any]:
        return {**super().details(), "docker_run": self.spec(self.port).run_argv()}


ServerTarget = HostServiceTarget | ContainerTarget
