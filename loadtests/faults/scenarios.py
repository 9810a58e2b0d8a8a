"""The four fault scenarios against one local way, each under steady Locust load.

ec2 and ecs run as a fleet of two servers behind HAProxy (infra.local.proxy), as an ASG or an
ECS service of two behind the ALB; lambda runs behind the local Function URL.

rolling restart  ecs: start a new container, wait until the proxy has it in service, drain and
                 remove the old one, SIGTERM it (docker stop); one container at a time.
                 ec2: drain one service, SIGTERM it, start it again on its port, wait until it
                 is back in service; then the other. lambda: retire every environment at once.
crash            ec2: SIGKILL one service's processes; restarted after the unit's RestartSec, as
                 ``Restart=on-failure`` does. ecs: SIGKILL a container (docker kill); a
                 replacement starts, as the ECS scheduler would. lambda: SIGKILL a busy
                 environment; the next request gets a new one.
soak             steady load for ``soak_seconds``; RSS and open files of every worker sampled.
slow clients     a few connections trickle headers or bodies straight at one server while the
                 load runs through the proxy; p99 compared with the soak's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.common.sizing import ECS_STOP_TIMEOUT_SECONDS
from infra.local.docker import DOCKER
from infra.local.ec2 import RESTART_SECONDS, STOP_TIMEOUT_SECONDS
from infra.local.function_url.target import FunctionUrlTarget
from infra.local.process import LOOPBACK, try_predict
from infra.local.proxy import LoadBalancer
from infra.local.targets import ContainerTarget, ServerTarget
from loadtests.faults.load import RAMP_SECONDS, BackgroundLoad, LoadResult
from loadtests.faults.resources import ResourceSampler
from loadtests.faults.slow import SlowClients
from serving.config import Settings

TAIL_SECONDS = 3.0  # load keeps running this long after a fault, to see the service recover
MAX_LOAD_SECONDS = 1800.0  # a bound on every background load, whatever happens


@dataclass(frozen=True)
class FaultSettings:
    users: int = 4
    soak_seconds: float = 30.0
    slow_connections: int = 4

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "soak_seconds": self.soak_seconds,
            "slow_connections": self.slow_connections,
        }


def slow_client_limit_seconds() -> float:
    """How long a slow connection may stay open: the server's longest read timeout, plus 10 s."""
    fields = Settings.model_fields
    timeouts = (fields["header_timeout_seconds"].default, fields["body_timeout_seconds"].default)
    return float(max(timeouts)) + 10.0


# ---------------------------------------------------------------- ec2 and ecs: servers behind the proxy
class Fleet:
    """Servers of one way behind the proxy, registered and deregistered like an ASG or ECS service."""

    def __init__(self, way: str, make: Callable[[str], ServerTarget], balancer: LoadBalancer) -> None:
        self.way = way
        self.make = make
        self.balancer = balancer
        self.servers: list[ServerTarget] = []
        self.launched = 0

    def launch(self) -> ServerTarget:
        """A new server, started, registered, and in service once the proxy's checks pass."""
        self.launched += 1
        server = self.make(f"{self.way}-{self.launched}")
        self.servers.append(server)
        server.start()
        self.balancer.register(server.label, server.port)
        self.balancer.wait_until_up(server.label)
        return server

    def retire(self, server: ServerTarget) -> None:
        self.balancer.deregister(server.label)
        server.terminate(grace_seconds(server))
        self.servers.remove(server)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()

    def worker_roots(self) -> list[int]:
        return [pid for server in self.servers if (pid := server.root_pid()) is not None]


def grace_seconds(server: ServerTarget) -> float:
    return ECS_STOP_TIMEOUT_SECONDS if isinstance(server, ContainerTarget) else STOP_TIMEOUT_SECONDS


@contextlib.contextmanager
def fleet_of_two(way: str, make: Callable[[str], ServerTarget], log_dir: Path) -> Iterator[Fleet]:
    with LoadBalancer(log_dir / f"{way}-faults-haproxy.log") as balancer:
        fleet = Fleet(way, make, balancer)
        try:
            fleet.launch()
            fleet.launch()
            yield fleet
        finally:
            fleet.stop()


def server_rolling_restart(fleet: Fleet, load: BackgroundLoad) -> dict[str, Any]:
    load.warm_up()
    started = time.monotonic()
    for old in list(fleet.servers):
        if isinstance(old, ContainerTarget):  # ECS: the new task first, then the old one goes
            fleet.launch()
            fleet.retire(old)
        else:  # EC2: restart the service in place; the other instance serves meanwhile
            fleet.balancer.deregister(old.label)
            old.terminate(STOP_TIMEOUT_SECONDS)
            old.start(old.port)
            fleet.balancer.register(old.label, old.port)
            fleet.balancer.wait_until_up(old.label)
    seconds = time.monotonic() - started
    time.sleep(TAIL_SECONDS)
    result = load.stop()
    return {**result.summary(), "replaced": len(fleet.servers), "seconds": round(seconds, 1)}


def server_crash(fleet: Fleet, load: BackgroundLoad) -> dict[str, Any]:
    load.warm_up()
    victim = fleet.servers[0]
    started = time.monotonic()
    if isinstance(victim, ContainerTarget):
        kill = [DOCKER, "kill", "--signal", "KILL", victim.container]
        subprocess.run(kill, capture_output=True, check=False, timeout=60)
        killed_at = time.time()
        fleet.balancer.remove(victim.label)  # the ALB's checks fail and ECS deregisters the task
        victim.stop()
        fleet.servers.remove(victim)
        fleet.launch()  # the scheduler's replacement task
        how = "docker kill --signal KILL; a replacement container started"
    else:
        popen = victim.process.process if victim.process is not None else None
        assert popen is not None
        os.killpg(popen.pid, signal.SIGKILL)  # the whole service, as an OOM kill of its cgroup
        popen.wait(30)
        killed_at = time.time()
        time.sleep(RESTART_SECONDS)  # Restart=on-failure, RestartSec=
        victim.start(victim.port)
        fleet.balancer.wait_until_up(victim.label)
        how = f"SIGKILL to the service's processes; restarted after RestartSec={RESTART_SECONDS:g}"
    recovery = time.monotonic() - started
    time.sleep(TAIL_SECONDS)
    return crash_figures(load.stop(), killed_at, recovery, how)


def crash_figures(result: LoadResult, killed_at: float, recovery: float | None, how: str) -> dict[str, Any]:
    """``killed_at``: when the victim was dead (epoch s). A failed request that had started by then
    was in flight on it; one that started later is a request the fault should not have cost."""
    failed = result.failures()
    failed_in_flight = [r for r in failed if r["t"] <= killed_at]
    return {
        **result.summary(),
        "how": how,
        "killed_at": round(killed_at, 3),
        "failed_in_flight": len(failed_in_flight),
        "failed_not_in_flight": len(failed) - len(failed_in_flight),
        "recovery_seconds": None if recovery is None else round(recovery, 2),
    }


# ---------------------------------------------------------------- soak and slow clients (any way)
def soak(url: str, out_dir: Path, settings: FaultSettings, roots: Callable[[], list[int]]) -> dict[str, Any]:
    with BackgroundLoad(url, out_dir, settings.users, MAX_LOAD_SECONDS) as load:
        load.warm_up(max(3.0, settings.soak_seconds / 3))  # start-up allocations are not growth
        measured_from = time.time()
        with ResourceSampler(roots, interval=min(5.0, max(1.0, settings.soak_seconds / 15))) as sampler:
            load.hold_until(RAMP_SECONDS + settings.soak_seconds)
        result = load.stop()
    return {
        **result.summary(),
        "seconds": settings.soak_seconds,
        "p99_ms": result.p99_ms(since=measured_from),
        **sampler.summary(),
    }


def slow_clients(
    url: str, port: int, out_dir: Path, settings: FaultSettings, baseline_p99: float | None
) -> dict[str, Any]:
    limit = slow_client_limit_seconds()
    with BackgroundLoad(url, out_dir, settings.users, MAX_LOAD_SECONDS) as load:
        load.warm_up()
        measured_from = time.time()
        with SlowClients(port, settings.slow_connections, limit) as clients:
            pass
        connections = clients.results
        result = load.stop()
    p99 = result.p99_ms(since=measured_from)
    return {
        **result.summary(),
        "connections": [c.as_dict() for c in connections],
        "closed_by_server": sum(c.closed_by_server for c in connections),
        "longest_open_seconds": max((c.seconds_open for c in connections), default=None),
        "limit_seconds": limit,
        "p99_ms": p99,
        "baseline_p99_ms": baseline_p99,
        "p99_ratio": round(p99 / baseline_p99, 2) if p99 and baseline_p99 else None,
    }


def run_server_faults(
    way: str,
    make: Callable[[str], ServerTarget],
    out_dir: Path,
    settings: FaultSettings,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """All four scenarios against ec2 or ecs (two servers behind the proxy)."""
    figures: dict[str, Any] = {}
    with fleet_of_two(way, make, out_dir / "logs") as fleet:
        figures["how"] = f"two servers behind {fleet.balancer.description()}"
        url = fleet.balancer.url
        say(f"[{way}] soak: {settings.soak_seconds:g} s of steady load")
        figures["soak"] = soak(url, out_dir / "soak", settings, fleet.worker_roots)
        say(f"[{way}] slow clients: {settings.slow_connections} connections at one server")
        figures["slow_clients"] = slow_clients(
            url, fleet.servers[0].port, out_dir / "slow", settings, figures["soak"]["p99_ms"]
        )
        say(f"[{way}] rolling restart under load")
        with BackgroundLoad(url, out_dir / "rolling", settings.users, MAX_LOAD_SECONDS) as load:
            figures["rolling_restart"] = server_rolling_restart(fleet, load)
        say(f"[{way}] crash under load")
        with BackgroundLoad(url, out_dir / "crash", settings.users, MAX_LOAD_SECONDS) as load:
            figures["crash"] = server_crash(fleet, load)
    return figures


# ---------------------------------------------------------------- lambda behind the Function URL
def lambda_roots(target: FunctionUrlTarget) -> list[int]:
    """The environments' processes: their containers' main processes, or the host RIE processes."""
    containers = subprocess.run(
        [DOCKER, "ps", "--quiet", "--filter", f"name={target_container_prefix(target)}"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if containers:
        inspected = subprocess.run(
            [DOCKER, "inspect", "--format", "{{.State.Pid}}", *containers],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(pid) for pid in inspected.stdout.split() if pid.isdigit() and int(pid)]
    return [env["pid"] for env in active_environments(target) if env.get("pid")]


def target_container_prefix(target: FunctionUrlTarget) -> str:
    run_id = target.options[target.options.index("--run-id") + 1]
    return f"one-model-{run_id}-lambda-"


def active_environments(target: FunctionUrlTarget) -> list[dict[str, Any]]:
    return [env for env in target.details().get("environments", []) if env.get("retired_reason") is None]


def lambda_crash(target: FunctionUrlTarget, load: BackgroundLoad) -> dict[str, Any]:
    load.warm_up()
    victim = active_environments(target)[0]
    name = f"{target_container_prefix(target)}{victim['env_id']}"
    killed = subprocess.run([DOCKER, "kill", "--signal", "KILL", name], capture_output=True, check=False)
    if killed.returncode != 0:  # no Docker: the environment is a host process group
        os.killpg(victim["pid"], signal.SIGKILL)
    killed_at = time.time()
    time.sleep(TAIL_SECONDS + 2)
    result = load.stop()
    fresh = [
        env["started_at"] + env["first_response_seconds"] - killed_at
        for env in target.details().get("environments", [])
        if env["started_at"] > killed_at and env["first_response_seconds"] is not None
    ]
    recovery = min(fresh) if fresh else None
    how = f"SIGKILL to environment {victim['env_id']} mid-load; the next request gets a new environment"
    return crash_figures(result, killed_at, recovery, how)


def run_lambda_faults(
    target: FunctionUrlTarget, out_dir: Path, settings: FaultSettings, say: Callable[[str], None]
) -> dict[str, Any]:
    figures: dict[str, Any] = {"how": target.how}
    target.start()
    try:
        with ThreadPoolExecutor(settings.users) as pool:  # one warm environment per user first
            list(pool.map(lambda _: try_predict(LOOPBACK, target.port, timeout=120), range(settings.users)))
        say(f"[lambda] soak: {settings.soak_seconds:g} s of steady load")
        figures["soak"] = soak(target.url, out_dir / "soak", settings, lambda: lambda_roots(target))
        figures["slow_clients"] = {
            "not_applicable": "the Function URL in front of Lambda is AWS's; locally it is an emulator"
        }
        say("[lambda] rolling restart: every environment retired under load")
        with BackgroundLoad(target.url, out_dir / "rolling", settings.users, MAX_LOAD_SECONDS) as load:
            load.warm_up()
            before = len(active_environments(target))
            started = time.monotonic()
            target.force_cold()
            seconds = time.monotonic() - started
            time.sleep(TAIL_SECONDS + 2)
            result = load.stop()
        figures["rolling_restart"] = {**result.summary(), "replaced": before, "seconds": round(seconds, 1)}
        say("[lambda] crash under load")
        with BackgroundLoad(target.url, out_dir / "crash", settings.users, MAX_LOAD_SECONDS) as load:
            figures["crash"] = lambda_crash(target, load)
    finally:
        target.stop()
    return figures
