"""The fault scenarios against each local way in turn: the ``faults`` entry of report.json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local.containers import remove_run_containers
from infra.local.targets import ServerTarget
from infra.local.ways import function_url_target, server_target
from loadtests.comparison import say
from loadtests.faults.scenarios import FaultSettings, run_lambda_faults, run_server_faults

NOTE = (
    "Each way under steady Locust load on 127.0.0.1 while something happens to it. ec2 and ecs: two "
    "servers behind HAProxy (health checks on /ready, connection reuse, 60 s idle timeout, draining); "
    "lambda: the local Function URL over RIE environments. Failed = any non-200 or connection error the "
    "clients saw. RSS growth: per worker, the slope over the later half of the soak's samples, in MB "
    "per 10 min. Slow clients go straight to one server (the proxy would buffer them); their p99 is "
    "compared with the soak's."
)


def server_factory(way: str, use_docker: bool, run_id: str, logs: Path) -> Callable[[str], ServerTarget]:
    return lambda label: server_target(way, use_docker, run_id, logs, label)


def run_faults(
    ways: list[str], use_docker: bool, run_id: str, run_dir: Path, settings: FaultSettings
) -> dict[str, Any]:
    """The scenarios for each way, in turn; the ``faults`` entry of report.json."""
    logs = run_dir / "logs"
    figures: dict[str, Any] = {}
    try:
        for way in ways:
            out = run_dir / "faults" / way
            if way == "lambda":
                # Auth NONE: these scenarios are about environments coming and going, and
                # their probes stay unsigned; the comparison's runs (make demo) sign.
                target = function_url_target(use_docker, run_id, logs, 10, 120.0, auth_type="NONE")
                figures[way] = run_lambda_faults(target, out, settings, say)
            else:
                figures[way] = run_server_faults(
                    way, server_factory(way, use_docker, run_id, logs), out, settings, say
                )
    finally:
        if use_docker:
            remove_run_containers(run_id)
    return {"note": NOTE, "settings": settings.as_dict(), "ways": figures}
