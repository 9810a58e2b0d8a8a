"""`make demo`: the three-way comparison on this machine, no AWS account needed.

For each way: start it fresh (timing start to first success), run the cold scenario (fresh
environments, a burst of first requests), the steady scenario, then the traffic step (its capacity
read from HAProxy or the Function URL's pool); stop it. ec2 and ecs answer
through HAProxy standing in for their ALB (infra.local.proxy), lambda through a local
Function URL. With ``--faults`` (or ``make faults`` alone) the fault scenarios follow. Then write
reports/<run-id>/ and print a summary. Everything listens on 127.0.0.1; everything started is
stopped on success, failure, Ctrl-C or SIGTERM (Docker containers carry a run label and are
removed with ``docker rm -f`` in any case).

    python -m loadtests.demo --hold 120 --users 16      # a longer, heavier run
    python -m loadtests.demo --faults                   # then the fault scenarios (make faults)
    python -m loadtests.demo --tls                      # each steady run over HTTPS too (make demo TLS=1)

With ``--tls`` a certificate is made for the run (``infra.local.tls``); HAProxy and the local
Function URL serve it on a second port, and Locust and the probes trust it and nothing else. Each
way's steady scenario then runs again over HTTPS, and the report puts the two side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.common.names import WAYS
from infra.common.sizing import ALB_IDLE_TIMEOUT_SECONDS, READY_PATH
from infra.local.balanced_target import BalancedTarget
from infra.local.containers import remove_run_containers
from infra.local.docker import docker_available
from infra.local.function_url.target import FunctionUrlTarget
from infra.local.proxy import ensure_haproxy
from infra.local.targets import LocalTarget
from infra.local.tls import LocalCertificate, generate_certificate
from infra.local.ways import function_url_target, server_target
from loadtests import signing
from loadtests.capacity import local_capacity
from loadtests.comparison import (
    add_load_options,
    exit_on_sigterm,
    load_settings,
    local_auth,
    new_run_id,
    publish_report,
    report_data,
    run_scenario,
    say,
)
from loadtests.fairness import host_architecture
from loadtests.faults.runner import run_faults
from loadtests.faults.scenarios import FaultSettings
from loadtests.locust_run import SCENARIOS, LoadSettings
from loadtests.log_volume import measure_files
from loadtests.protocols import REST
from loadtests.rie_billing import billed_locally
from loadtests.step import step_line
from loadtests.tls import CA_BUNDLE_VARIABLE
from model.artifacts import holdout_path

# The step: 3 paced users (about 30 req/s), then 30 for 30 s, as long as a 2-core machine allows.
DEMO_DEFAULTS = LoadSettings(
    steady_users=6, ramp_seconds=5, hold_seconds=20, burst_users=4, burst_seconds=6,
    step_users=3, step_factor=10, baseline_seconds=10, step_seconds=30, after_seconds=10,
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(WAYS), help="comma-separated subset of ec2,ecs,lambda")
    parser.add_argument("--no-docker", action="store_true", help="host processes even if Docker is available")
    parser.add_argument("--lambda-concurrency", type=int, default=10, help="most Lambda environments at once")
    parser.add_argument(
        "--lambda-idle-timeout", type=float, default=120.0, help="s before an idle env retires"
    )
    parser.add_argument("--run-id", default=None)
    parser.add_argument(
        "--faults", action="store_true", help="then the fault scenarios too (`make faults` runs them alone)"
    )
    parser.add_argument("--soak-seconds", type=float, default=30.0, help="with --faults: the soak's length")
    parser.add_argument(
        "--tls", action="store_true", help="each way's steady scenario over HTTPS too, beside the plain one"
    )
    add_load_options(parser, DEMO_DEFAULTS)
    return parser.parse_args(argv)


def build_target(
    way: str,
    use_docker: bool,
    run_id: str,
    logs: Path,
    args: argparse.Namespace,
    tls: LocalCertificate | None = None,
) -> LocalTarget:
    if way in ("ec2", "ecs"):  # behind HAProxy, as the ALB fronts them on AWS
        return BalancedTarget(server_target(way, use_docker, run_id, logs), logs, tls)
    if way == "lambda":
        # AWS_IAM, as deployed: Locust and the probes sign with the demo's fake identity.
        return function_url_target(
            use_docker, run_id, logs, args.lambda_concurrency, args.lambda_idle_timeout, "AWS_IAM", tls
        )
    raise ValueError(f"unknown way {way!r}")


@contextlib.contextmanager
def running(target: LocalTarget) -> Iterator[LocalTarget]:
    try:
        yield target
    finally:
        target.stop()


@contextlib.contextmanager
def trusting(tls: LocalCertificate | None) -> Iterator[None]:
    """While measuring, the probes and Locust (which inherits the environment) trust only ``tls``."""
    if tls is None:
        yield
        return
    os.environ[CA_BUNDLE_VARIABLE] = str(tls.cert)
    try:
        yield
    finally:
        os.environ.pop(CA_BUNDLE_VARIABLE, None)


def measure(target: LocalTarget, run_dir: Path, settings: LoadSettings) -> dict[str, Any]:
    """Start one way fresh, then its cold and steady runs; priced later for this host's architecture,
    which the local images were built for."""
    way = target.name
    say(f"[{way}] {target.how}")
    cold_start = target.start()
    if cold_start.seconds_to_first_success is not None:
        say(f"[{way}] fresh start to first successful /predict: {cold_start.seconds_to_first_success:.2f} s")
    result: dict[str, Any] = {
        "how": target.how,
        "architecture": host_architecture(),
        "cold_start": cold_start.as_dict(),
    }
    result["cold"] = run_scenario(way, "cold", target.url, run_dir, settings)
    result["steady"] = run_scenario(way, "steady", target.url, run_dir, settings)
    if target.tls_url:  # the same warm target over HTTPS: the cost of TLS, measured
        result["tls"] = {"steady": run_scenario(way, "steady", target.tls_url, run_dir / "tls", settings)}
    result["step"] = run_scenario(way, "step", target.url, run_dir, settings, capacity=local_capacity(target))
    say(f"[{way}] {step_line(result['step'])}")
    result["details"] = target.details()
    if isinstance(target, FunctionUrlTarget):  # what AWS would bill: the RIE's REPORT lines
        result["billing"] = billed_locally(target.platform_reports(), run_dir / way, list(SCENARIOS))
    show_predictions(way, target.url)
    result["log_volume"] = measure_files(log_files(way, run_dir / "logs"))
    return result


def log_files(way: str, logs: Path) -> list[Path]:
    """What the way wrote: each Lambda environment's RIE output, else each server start's."""
    return sorted(
        (logs / "lambda-environments").glob("*.log") if way == "lambda" else logs.glob(f"{way}-*.log")
    )


def show_predictions(way: str, url: str, count: int = 3) -> None:
    """One real /predict of a few held-out rows, printed beside their true labels (after the
    scenarios, so the cold measurements saw untouched environments)."""
    holdout = json.loads(holdout_path().read_text())
    body = json.dumps(REST.body(holdout["rows"][:count])).encode()
    headers = {"content-type": "application/json"}
    request = signing.request(local_auth(way), "POST", f"{url}{REST.path}", body, headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    for prediction, truth in zip(answer["predictions"], holdout["labels"], strict=False):
        probability = prediction["probabilities"][prediction["label"]]
        say(f"[{way}] predicted {prediction['label']} (p={probability:.3f}), true class_{truth}")


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    exit_on_sigterm()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    settings = load_settings(args)
    host_architecture()  # a host the stacks cannot deploy to stops here, not after the runs
    ways = [w.strip() for w in args.targets.split(",") if w.strip()]
    run_id = args.run_id or new_run_id("local")
    run_dir = args.out / run_id
    logs = run_dir / "logs"
    use_docker = not args.no_docker and docker_available()
    if not use_docker:
        say(
            "No Docker engine reachable (or --no-docker): ecs and lambda run as host processes; "
            "the report says so."
        )
    if {"ec2", "ecs"} & set(ways):
        ensure_haproxy(say)  # the local ALB; installed here when missing and possible (root + apt)
    tls = generate_certificate(run_id) if args.tls else None
    targets: dict[str, Any] = {}
    try:
        with trusting(tls):
            for way in ways:
                with running(build_target(way, use_docker, run_id, logs, args, tls)) as target:
                    targets[way] = measure(target, run_dir, settings)
    finally:
        if use_docker:
            remove_run_containers(run_id)
    note = (
        "Local emulation on this machine (127.0.0.1): "
        + (
            "Docker with the cloud's CPU/memory limits."
            if use_docker
            else "host processes, no Docker engine."
        )
        + " HAProxy on 127.0.0.1 stands in for the ALB in front of ec2 and ecs (health checks on"
        f" {READY_PATH}, connection reuse, {ALB_IDLE_TIMEOUT_SECONDS} s idle timeout); Lambda answers"
        " through a local Function URL."
        " Not AWS numbers: no network hops, no real Lambda placement."
    )
    data = report_data(run_id, "local emulation", note, settings, targets, args.prices)
    data["docker"] = use_docker
    if args.faults:
        fault_settings = FaultSettings(users=args.users, soak_seconds=args.soak_seconds)
        data["faults"] = run_faults(ways, use_docker, run_id, run_dir, fault_settings)
    report = publish_report(data, run_dir)
    if not args.faults:
        say("Fault scenarios (rolling restart, crash, soak, slow clients) under load: make faults")
    return report


if __name__ == "__main__":
    main()
