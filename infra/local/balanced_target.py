"""An ec2 or ecs server behind the local ALB (HAProxy, ``proxy.py``), as the ALB fronts them on AWS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from infra.local.process import LOOPBACK, wait_for_first_success
from infra.local.proxy import LoadBalancer
from infra.local.targets import ColdStart, ServerTarget
from infra.local.tls import LocalCertificate


class BalancedTarget:
    """The cold start is timed from launching the server to the first successful /predict through
    the proxy, so it includes the health checks that put a new target in service."""

    def __init__(self, server: ServerTarget, log_dir: Path, tls: LocalCertificate | None = None) -> None:
        self.server = server
        self.name = server.name
        self.balancer = LoadBalancer(log_dir / f"{server.name}-haproxy.log", tls=tls)
        self.how = f"{server.how}; behind {self.balancer.description()}"

    @property
    def url(self) -> str:
        return self.balancer.url

    @property
    def tls_url(self) -> str | None:
        return self.balancer.tls_url

    @property
    def server_name(self) -> str:
        return f"{self.server.label}-{self.server.starts}"

    def start(self) -> ColdStart:
        if self.balancer.process is None:
            self.balancer.start()
        started = time.monotonic()
        self.server.start()
        self.balancer.register(self.server_name, self.server.port)
        self.balancer.wait_until_up(self.server_name)
        first = wait_for_first_success(LOOPBACK, self.balancer.port, started)
        return ColdStart.measured(f"{self.how}: start to first successful /predict through the proxy", first)

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
