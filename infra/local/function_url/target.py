"""The handle on the local Function URL: ``python -m infra.local.function_url`` as a managed process,
driven through its ``/_local/*`` handles. ``infra.local.ways.function_url_target`` builds one; as a
context manager it starts (every environment cold) and stops (every environment removed)."""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
from pathlib import Path
from typing import Any

from infra.common.paths import REPO_ROOT
from infra.local.function_url.app import ADMIN_PREFIX
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for
from infra.local.targets import ColdStart
from infra.local.tls import LocalCertificate


class FunctionUrlTarget:
    name = "lambda"

    def __init__(
        self, how: str, options: list[str], log_dir: Path, tls: LocalCertificate | None = None
    ) -> None:
        self.how = how
        self.options = options
        self.log_dir = log_dir
        self.tls = tls
        self.port = 0
        self.tls_port = 0
        self.process: ManagedProcess | None = None
        self.last_details: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def tls_url(self) -> str | None:
        """The same Function URL over HTTPS (one pool behind both), when given a certificate."""
        return f"https://{LOOPBACK}:{self.tls_port}" if self.tls else None

    def start(self) -> ColdStart:
        self.port = free_port()
        argv = [sys.executable, "-m", "infra.local.function_url", "--port", str(self.port), *self.options]
        argv += ["--log-dir", str(self.log_dir / "lambda-environments")]
        if self.tls:
            self.tls_port = free_port()
            argv += [
                "--tls-port",
                str(self.tls_port),
                "--tls-cert",
                str(self.tls.cert),
                "--tls-key",
                str(self.tls.key),
            ]
        self.process = ManagedProcess(argv, self.log_dir / "function-url.log", cwd=REPO_ROOT).start()
        what = f"the local Function URL's start (see {self.process.log_path})"
        wait_for(lambda: self._answers() or None, what, 60, 0.1, alive=self.process)
        return self.force_cold()

    def force_cold(self) -> ColdStart:
        self._admin("POST", "retire")
        return ColdStart(f"{self.how}: every execution environment retired", None, None)

    def __enter__(self) -> FunctionUrlTarget:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                self._admin("GET", "environments")  # the pool's last state, for details()
            self.process.stop(grace_seconds=60)
            self.process = None

    def details(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, http.client.HTTPException):
            self._admin("GET", "environments")
        return {"how": self.how, **self.last_details}

    def environments_alive(self) -> int:
        """Execution environments started and not retired (initialising, busy or idle)."""
        state = self._admin("GET", "environments")
        return sum(1 for env in state["environments"] if env["retired_reason"] is None)

    def platform_reports(self) -> list[dict[str, Any]]:
        """Each invoke's RIE REPORT line so far (``EnvironmentPool.platform_reports``)."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)
        try:
            connection.request("GET", f"{ADMIN_PREFIX}/reports")
            reports: list[dict[str, Any]] = json.loads(connection.getresponse().read())["reports"]
            return reports
        finally:
            connection.close()

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
