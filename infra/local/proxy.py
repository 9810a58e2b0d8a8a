"""A local stand-in for the ALB in front of ec2 and ecs: HAProxy from Debian's packages.

Configured like the ALB the stacks create (infra/common/sizing.py holds the shared numbers):
- it reuses connections to its targets (``http-reuse always``, as the ALB pools them);
- idle connections close after ALB_IDLE_TIMEOUT_SECONDS on both sides, which the server's
  keep-alive (serving/config.py) outlasts, so the proxy never reuses a connection that the
  server is closing;
- it health-checks ``GET READY_PATH``, and a target gets traffic only once the checks pass;
- it drains a deregistered target: no new requests, in-flight ones finish, then it goes;
- unlike the ALB, it retries a request that a target refused or closed without an answer on
  another target (see ``haproxy_config``): locally a crashed container's port stays open a moment.

Targets come and go at run time through HAProxy's runtime API on a unix socket (``add server``,
``set server ... state drain``, ``del server``), as an ECS service or an ASG registers and
deregisters them with the target group. Listens on 127.0.0.1 only. Given a certificate
(``infra.local.tls``) it also terminates TLS on a second port, in front of the same targets, as the
ALB's HTTPS listener does (TLS 1.2 at least; plain HTTP on to the targets).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.common.sizing import ALB_HEALTHY_THRESHOLD_COUNT, ALB_IDLE_TIMEOUT_SECONDS, READY_PATH
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for
from infra.local.tls import LocalCertificate

BACKEND = "targets"
APT_INSTALL = ("apt-get", "install", "-y", "-qq", "--no-install-recommends")
INSTALL_HINT = "HAProxy is missing: run `sudo apt-get install haproxy` (Debian/Ubuntu), then retry."


@dataclass(frozen=True)
class HealthCheck:
    """The ALB's path and healthy threshold; a shorter interval than its
    ALB_HEALTH_CHECK_INTERVAL_SECONDS, so that a local run is short."""

    path: str = READY_PATH
    interval_ms: int = 500
    rise: int = ALB_HEALTHY_THRESHOLD_COUNT
    fall: int = 2

    def server_options(self) -> str:
        return f"check inter {self.interval_ms} rise {self.rise} fall {self.fall}"


def haproxy_config(port: int, admin_socket: Path, health: HealthCheck) -> str:
    """The whole configuration; targets are added at run time (see ``LoadBalancer.register``)."""
    idle = f"{ALB_IDLE_TIMEOUT_SECONDS}s"
    return f"""\
global
    stats socket {admin_socket} mode 600 level admin
    maxconn 2048
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 5s
    timeout client {idle}
    timeout server {idle}
    timeout http-request {idle}
    timeout http-keep-alive {idle}
    timeout queue 10s
    # A check may take as long as the ALB's (5 s for HTTP targets), not just the 500 ms interval:
    # under load a slow /ready would otherwise take the only target out of service.
    timeout check 5s
    # A request a target refused, or closed without answering, is tried once more on another
    # target: after a crash the docker port proxy still accepts connections for a container that
    # is gone until the health checks notice. POST /predict is a pure function, safe to repeat.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response

frontend alb
    bind {LOOPBACK}:{port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    http-reuse always
    option httpchk GET {health.path}
    http-check expect status 200
"""


def tls_frontend(port: int, bundle: Path) -> str:
    """An HTTPS listener on ``port`` for the same targets: the ALB's HTTPS listener, TLS 1.2 at least."""
    return f"""
frontend alb_tls
    bind {LOOPBACK}:{port} ssl crt {bundle} ssl-min-ver TLSv1.2 alpn http/1.1
    default_backend {BACKEND}
"""


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None
    )


def ensure_haproxy(say: Callable[[str], None] = print) -> str:
    """HAProxy's path; installs the Debian package when missing and we may (root with apt-get)."""
    found = haproxy_binary()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        say("HAProxy is missing: apt-get install haproxy")
        for command in (["apt-get", "update", "-qq"], [*APT_INSTALL, "haproxy"]):
            subprocess.run(command, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
        found = haproxy_binary()
    if found is None:
        raise RuntimeError(INSTALL_HINT)
    return found


class LoadBalancer:
    """HAProxy as a managed process, with its targets registered and drained through the runtime API."""

    def __init__(
        self, log_path: Path, health: HealthCheck | None = None, tls: LocalCertificate | None = None
    ) -> None:
        self.log_path = log_path
        self.health = health or HealthCheck()
        self.tls = tls
        self.port = 0
        self.tls_port = 0
        self.process: ManagedProcess | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="one-model-haproxy-"))
        self.admin_socket = self._dir / "admin.sock"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def tls_url(self) -> str | None:
        """The HTTPS listener's URL, when started with a certificate."""
        return f"https://{LOOPBACK}:{self.tls_port}" if self.tls else None

    def description(self) -> str:
        return (
            f"HAProxy on {LOOPBACK} as the ALB: health checks GET {self.health.path}, connection reuse "
            f"to the targets, {ALB_IDLE_TIMEOUT_SECONDS} s idle timeout, draining on deregistration, "
            "a refused or unanswered request tried once more on another target"
        )

    def start(self) -> LoadBalancer:
        binary = ensure_haproxy()
        self.port = free_port()
        config = self._dir / "haproxy.cfg"
        text = haproxy_config(self.port, self.admin_socket, self.health)
        if self.tls:
            self.tls_port = free_port()
            text += tls_frontend(self.tls_port, self.tls.bundle)
        config.write_text(text)
        check = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy rejected its configuration: {check.stdout}{check.stderr}")
        self.process = ManagedProcess([binary, "-db", "-f", str(config)], self.log_path).start()
        what = f"haproxy's start (see {self.log_path})"
        wait_for(lambda: self._answers() or None, what, 15, alive=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LoadBalancer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- the runtime API (one command per connection)
    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            client.connect(str(self.admin_socket))
            client.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := client.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def _answers(self) -> bool:
        try:
            self.command("show info")
            return True
        except OSError:
            return False

    def _checked(self, line: str) -> None:
        answer = self.command(line).strip()
        if answer and not answer.startswith(("New server registered", "Server deleted")):
            raise RuntimeError(f"haproxy: {line!r} -> {answer}")

    # ---- targets
    def register(self, name: str, port: int) -> None:
        """Add a target; it gets traffic once ``rise`` health checks in a row pass."""
        server = f"{BACKEND}/{name}"
        # Added in maintenance with weight 0; marked down as it is enabled, so no request
        # reaches it before ``rise`` checks in a row pass; then its weight goes back to 1.
        self._checked(f"add server {server} {LOOPBACK}:{port} weight 0 {self.health.server_options()}")
        self._checked(f"enable health {server}")
        self._checked(f"enable server {server}")
        self._checked(f"set server {server} health down")
        self._checked(f"set weight {server} 1")

    def servers(self) -> dict[str, dict[str, str]]:
        """``show stat`` for the targets: status (UP, DOWN, DRAIN, MAINT...), scur (current sessions)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row
            for row in rows
            if row.get("pxname") == BACKEND and row["svname"] not in ("BACKEND", "FRONTEND")
        }

    def status(self, name: str) -> str:
        row = self.servers().get(name)
        return row["status"] if row else "ABSENT"

    def wait_until_up(self, name: str, timeout: float = 120.0) -> float:
        """Seconds until the proxy's health checks put ``name`` in service."""
        return wait_for(lambda: self.status(name) == "UP" or None, f"{name} UP behind the proxy", timeout)[0]

    def deregister(self, name: str, drain_seconds: float = 10.0) -> float:
        """Drain ``name`` (no new requests; in-flight ones finish), then remove it. Returns the
        seconds spent draining (bounded by ``drain_seconds``, the deregistration delay)."""
        server = f"{BACKEND}/{name}"
        started = time.monotonic()
        self._checked(f"set server {server} state drain")
        while time.monotonic() - started < drain_seconds:
            row = self.servers().get(name)
            if row is None or int(row.get("scur") or 0) == 0:
                break
            time.sleep(0.05)
        drained = time.monotonic() - started
        self._checked(f"set server {server} state maint")
        self._checked(f"shutdown sessions server {server}")
        self.remove(name)
        return drained

    def remove(self, name: str, timeout: float = 10.0) -> None:
        """Delete a target in maintenance (its idle connections may take a moment to go)."""
        server = f"{BACKEND}/{name}"
        deadline = time.monotonic() + timeout
        while name in self.servers():
            self.command(f"set server {server} state maint")
            if self.command(f"del server {server}").strip().startswith("Server deleted"):
                return
            if time.monotonic() > deadline:
                return  # left in maintenance: it gets no traffic, and goes with the proxy
            time.sleep(0.1)
