"""The three local targets behind one interface: start fresh, force a cold start, stop.

A ``ColdStart`` is what forcing fresh environments cost, measured from the client: for ec2 and
ecs the time from starting the process or container to the first successful /predict; for
lambda the pool is emptied and the cold starts happen in the load test itself (each new
environment's first response carries ``x-cold-start: true``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from infra.common.sizing import ECS_STOP_TIMEOUT_SECONDS
from infra.ec2.bundle import UNIT_FILE, service_command
from infra.local.docker import DOCKER, build_image
from infra.local.rie import rie_path
from loadtests.local.containers import (
    ContainerSpec,
    exposed_port,
    lambda_cpus,
    remove_container,
    start_container,
)
from loadtests.local.function_url import ADMIN_PREFIX
from loadtests.local.process import LOOPBACK, FirstSuccess, ManagedProcess, free_port, wait_for_first_success
from loadtests.local.proxy import LoadBalancer
from loadtests.sizing import deployed_sizing

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV") or REPO_ROOT / ".venv") / "bin"


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

    def start(self) -> ColdStart: ...

    def force_cold(self) -> ColdStart: ...

    def stop(self) -> None: ...

    def details(self) -> dict[str, Any]: ...


# ---------------------------------------------------------------- a server process or container
class _RestartableTarget:
    """Shared by ec2 and ecs: a fresh start is a new process or container, timed to first success.
    ``label`` tells instances of one way apart (log and container names) when several run at once."""

    name = ""
    how = ""
    label = ""

    def __init__(self) -> None:
        self.port = 0
        self.process: ManagedProcess | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def launch(self, port: int) -> ManagedProcess:
        raise NotImplementedError

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
    def __init__(
        self,
        name: str,
        how: str,
        argv: Callable[[int], list[str]],
        env: Callable[[int], dict[str, str]],
        log_dir: Path,
    ):
        super().__init__()
        self.name, self.how, self.argv, self.env, self.log_dir = name, how, argv, env, log_dir

    def launch(self, port: int) -> ManagedProcess:
        log = self.log_dir / f"{self.label or self.name}-{self.starts}.log"
        return ManagedProcess(self.argv(port), log, env=self.env(port), cwd=REPO_ROOT).start()

    def details(self) -> dict[str, Any]:
        return {**super().details(), "command": self.argv(self.port)}


class ContainerTarget(_RestartableTarget):
    def __init__(self, name: str, how: str, spec: Callable[[int, str], ContainerSpec], log_dir: Path):
        super().__init__()
        self.name, self.how, self.spec, self.log_dir = name, how, spec, log_dir
        self.container = ""

    def launch(self, port: int) -> ManagedProcess:
        self.container = f"{self.label or self.name}-{self.starts}"
        spec = self.spec(port, self.container)
        self.container = spec.name
        return start_container(spec, self.log_dir / f"{self.label or self.name}-{self.starts}.log")

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
        return {**super().details(), "docker_run": self.spec(self.port, self.container).run_argv()}


# ---------------------------------------------------------------- the EC2 unit as a host process
def unit_environment(unit_text: str) -> dict[str, str]:
    """The ``Environment=`` assignments of a systemd unit (later ones win, as in systemd)."""
    values: dict[str, str] = {}
    for line in unit_text.splitlines():
        if line.startswith("Environment="):
            for assignment in shlex.split(line.removeprefix("Environment=")):
                key, _, value = assignment.partition("=")
                values[key] = value
    return values


def server_environment(base: dict[str, str], port: int, workers: int) -> dict[str, str]:
    """``base`` with the server bound to 127.0.0.1:port and ``workers`` uvicorn workers."""
    return {**base, "APP_HOST": LOOPBACK, "APP_PORT": str(port), "WEB_CONCURRENCY": str(workers)}


def ec2_target(log_dir: Path, workers: int | None = None, label: str = "ec2") -> HostServiceTarget:
    count = workers or os.cpu_count() or 1  # the unit's ExecStartPre: one worker per vCPU (nproc)
    env = {**os.environ, **unit_environment(UNIT_FILE.read_text())}
    target = HostServiceTarget(
        "ec2",
        "systemd unit's ExecStart as a host process",
        lambda port: service_command(VENV_BIN / "python"),
        lambda port: server_environment(env, port, count),
        log_dir,
    )
    target.label = label
    return target


def unit_seconds(setting: str, default: float) -> float:
    """A time setting of the unit (``RestartSec=2``, ``TimeoutStopSec=20``), in seconds."""
    for line in UNIT_FILE.read_text().splitlines():
        if line.startswith(f"{setting}="):
            return float(line.removeprefix(f"{setting}=").strip().removesuffix("s"))
    return default


def unit_restart_seconds() -> float:
    """How long systemd waits before ``Restart=on-failure`` restarts the service."""
    return unit_seconds("RestartSec", 0.1)  # systemd's default: 100 ms


def unit_stop_seconds() -> float:
    """How long systemd lets the service stop after SIGTERM before it sends SIGKILL."""
    return unit_seconds("TimeoutStopSec", 90.0)  # systemd's default


# ---------------------------------------------------------------- the ECS image, in Docker or on the host
def ecs_container_target(
    image: str,
    run_id: str,
    cpus: float,
    memory_mb: int,
    container_port: int,
    workers: int,
    log_dir: Path,
    label: str = "ecs",
) -> ContainerTarget:
    def spec(port: int, _: str) -> ContainerSpec:
        return ContainerSpec(
            image=image,
            name=f"one-model-{run_id}-{label}",
            run_id=run_id,
            host_port=port,
            container_port=container_port,
            cpus=cpus,
            memory_mb=memory_mb,
            env={"WEB_CONCURRENCY": str(workers)},  # as the ECS task definition sets it
        )

    how = f"ECS image in Docker, --cpus {cpus:g} --memory {memory_mb}m (the Fargate task size)"
    target = ContainerTarget("ecs", how, spec, log_dir)
    target.label = label
    return target


def ecs_host_target(workers: int, log_dir: Path, label: str = "ecs") -> HostServiceTarget:
    """The ECS image's command, ``python -m serving``, with the venv's interpreter."""
    how = "ECS image's command as a host process (no Docker engine: no CPU/memory limits)"
    env = dict(os.environ)
    target = HostServiceTarget(
        "ecs",
        how,
        lambda port: [str(VENV_BIN / "python"), "-m", "serving"],
        lambda port: server_environment(env, port, workers),
        log_dir,
    )
    target.label = label
    return target


# ---------------------------------------------------------------- ec2 and ecs behind the local ALB
ServerTarget = HostServiceTarget | ContainerTarget


class BalancedTarget:
    """An ec2 or ecs target behind HAProxy (loadtests.local.proxy), as the ALB fronts them on AWS.

    The cold start is timed from launching the server to the first successful /predict through
    the proxy, so it includes the health checks that put a new target in service."""

    def __init__(self, server: ServerTarget, log_dir: Path) -> None:
        self.server = server
        self.name = server.name
        self.balancer = LoadBalancer(log_dir / f"{server.name}-haproxy.log")
        self.how = f"{server.how}; behind {self.balancer.description()}"

    @property
    def url(self) -> str:
        return self.balancer.url

    def start(self) -> ColdStart:
        if self.balancer.process is None:
            self.balancer.start()
        started = time.monotonic()
        self.server.start()
        self.balancer.register(self.server_name, self.server.port)
        self.balancer.wait_until_up(self.server_name)
        first = wait_for_first_success(LOOPBACK, self.balancer.port, started)
        return ColdStart.measured(f"{self.how}: start to first successful /predict through the proxy", first)

    @property
    def server_name(self) -> str:
        return f"{self.server.label or self.name}-{self.server.starts}"

    def force_cold(self) -> ColdStart:
        self.balancer.deregister(self.server_name)
        self.server.stop()
        return self.start()

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.balancer.stop()

    def details(self) -> dict[str, Any]:
        # The report splits start to first success into the app's start and this check's delay.
        health_check = {
            "interval_seconds": self.balancer.health.interval_ms / 1000,
            "healthy_threshold": self.balancer.health.rise,
        }
        return {
            **self.server.details(),
            "load_balancer": self.balancer.description(),
            "health_check": health_check,
        }


# ---------------------------------------------------------------- Lambda behind the local Function URL
class FunctionUrlTarget:
    """The local Function URL (``python -m loadtests.local.lambda_rie``) as a managed process."""

    name = "lambda"

    def __init__(self, how: str, options: list[str], log_dir: Path) -> None:
        self.how = how
        self.options = options
        self.log_dir = log_dir
        self.port = 0
        self.process: ManagedProcess | None = None
        self.last_details: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> ColdStart:
        self.port = free_port()
        argv = [sys.executable, "-m", "loadtests.local.lambda_rie", "--port", str(self.port), *self.options]
        argv += ["--log-dir", str(self.log_dir / "lambda-environments")]
        self.process = ManagedProcess(argv, self.log_dir / "function-url.log", cwd=REPO_ROOT).start()
        deadline = time.monotonic() + 60
        while not self._answers():
            if time.monotonic() > deadline or not self.process.running():
                raise RuntimeError(f"the local Function URL did not start; see {self.process.log_path}")
            time.sleep(0.1)
        return self.force_cold()

    def _answers(self) -> bool:
        try:
            self._admin("GET", "environments")
            return True
        except OSError:
            return False

    def _admin(self, method: str, action: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)
        try:
            connection.request(method, f"{ADMIN_PREFIX}/{action}")
            self.last_details = json.loads(connection.getresponse().read())
            return self.last_details
        finally:
            connection.close()

    def force_cold(self) -> ColdStart:
        self._admin("POST", "retire")
        return ColdStart(f"{self.how}: every execution environment retired", None, None)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                self._admin("GET", "environments")
            self.process.stop(grace_seconds=60)
            self.process = None

    def details(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, http.client.HTTPException):
            self._admin("GET", "environments")
        return {"how": self.how, **self.last_details}


# ---------------------------------------------------------------- one way's target, built
def function_url_target(
    use_docker: bool, run_id: str, logs: Path, concurrency: int, idle_timeout: float, auth_type: str
) -> FunctionUrlTarget:
    """The local Function URL; ``auth_type`` AWS_IAM admits only requests the demo's identity signed."""
    sizing = deployed_sizing()
    options = ["--rie", str(rie_path()), "--run-id", run_id, "--memory-mb", str(sizing.lambda_memory_mb)]
    options += ["--timeout-seconds", str(sizing.lambda_timeout_seconds)]
    options += ["--concurrency", str(concurrency), "--idle-timeout", str(idle_timeout)]
    options += ["--auth-type", auth_type]
    how = "handler as a host process under the Lambda RIE (no Docker engine)"
    if use_docker:
        options += ["--image", build_image("lambda")]
        how = (
            f"Lambda image under the Lambda RIE in Docker, --memory {sizing.lambda_memory_mb}m "
            f"--cpus {lambda_cpus(sizing.lambda_memory_mb):.2f} (memory / 1769 MB)"
        )
    how += f", behind a local Function URL (payload format 2.0, auth {auth_type})"
    return FunctionUrlTarget(how, options, logs)


def server_target(
    way: str, use_docker: bool, run_id: str, logs: Path, label: str | None = None
) -> ServerTarget:
    """One ec2 or ecs server (``label`` names it when several run at once), without the proxy."""
    sizing = deployed_sizing()
    label = label or way
    if way == "ec2":
        return ec2_target(logs, label=label)
    if not use_docker:
        return ecs_host_target(sizing.fargate_workers, logs, label=label)
    tag = build_image("ecs")
    return ecs_container_target(
        tag,
        run_id,
        sizing.fargate_vcpus,
        sizing.fargate_memory_mib,
        exposed_port(tag),
        sizing.fargate_workers,
        logs,
        label=label,
    )
