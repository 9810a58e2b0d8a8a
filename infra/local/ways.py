"""One way's local stand-in, by name: what ``make demo`` and ``make faults`` start.

ec2 and ecs come as bare servers; the demo puts each behind the local ALB
(``balanced_target.BalancedTarget``), and the fault scenarios run two behind one. lambda comes
behind its local Function URL.
"""

from __future__ import annotations

from pathlib import Path

from infra.common.names import FunctionUrlAuth
from infra.common.sizing import LAMBDA_MB_PER_VCPU, LAMBDA_MEMORY_MB, LAMBDA_TIMEOUT_SECONDS, lambda_vcpus
from infra.local.docker import build_image
from infra.local.ec2 import ec2_target
from infra.local.ecs import ecs_container_target, ecs_host_target
from infra.local.function_url.target import FunctionUrlTarget
from infra.local.rie import rie_path
from infra.local.targets import ServerTarget
from infra.local.tls import LocalCertificate


def server_target(
    way: str, use_docker: bool, run_id: str, logs: Path, label: str | None = None
) -> ServerTarget:
    """One ec2 or ecs server (``label`` names it when several run at once), without the proxy."""
    label = label or way
    if way == "ec2":
        return ec2_target(logs, label=label)
    if way != "ecs":
        raise ValueError(f"{way!r} is not a server way: ec2 or ecs")
    if not use_docker:
        return ecs_host_target(logs, label=label)
    return ecs_container_target(build_image("ecs"), run_id, logs, label=label)


def function_url_target(
    use_docker: bool,
    run_id: str,
    logs: Path,
    concurrency: int,
    idle_timeout: float,
    auth_type: FunctionUrlAuth,
    tls: LocalCertificate | None = None,
) -> FunctionUrlTarget:
    """The local Function URL; ``auth_type`` AWS_IAM admits only requests the demo's identity signed;
    ``tls``: HTTPS too, on a second port."""
    options = ["--rie", str(rie_path()), "--run-id", run_id, "--memory-mb", str(LAMBDA_MEMORY_MB)]
    options += ["--timeout-seconds", str(LAMBDA_TIMEOUT_SECONDS)]
    options += ["--concurrency", str(concurrency), "--idle-timeout", str(idle_timeout)]
    options += ["--auth-type", auth_type]
    how = "handler as a host process under the Lambda RIE (no Docker engine)"
    if use_docker:
        options += ["--image", build_image("lambda")]
        how = (
            f"Lambda image under the Lambda RIE in Docker, --memory {LAMBDA_MEMORY_MB}m "
            f"--cpus {lambda_vcpus():.2f} (memory / {LAMBDA_MB_PER_VCPU} MB)"
        )
    how += f", behind a local Function URL (payload format 2.0, auth {auth_type})"
    return FunctionUrlTarget(how, options, logs, tls)
