"""`make loadtest TARGET=ec2|ecs|lambda SCENARIO=steady|cold` and `make compare`: Locust against the
deployed stacks (found through their CloudFormation outputs), then the same report as `make demo`.

Needs AWS credentials for the account the stacks live in (the usual AWS_PROFILE / AWS_REGION).
Before anything changes, every stack must be stable and every endpoint must answer /health from
this machine (else one line says why). The cold scenario changes the deployments: it scales the
ECS service and the EC2 Auto Scaling group to 0 and back, and updates the Lambda function's
configuration. Requests to a Function URL with auth AWS_IAM are SigV4-signed with the caller's
credentials. After the Lambda runs, the function's REPORT log lines give its billed durations and
server-side cold starts. The step reads the capacity in service as it runs (loadtests.aws.capacity).

    python -m loadtests.aws --targets lambda --scenarios cold
    python -m loadtests.aws --scenarios cold,steady --hold 300 --users 50 --processes 4
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from infra.common import sizing
from infra.common.credentials import NO_REGION, aws_session
from infra.common.names import (
    OUTPUT_ALIAS_NAME,
    OUTPUT_ASG_NAME,
    OUTPUT_CLUSTER_NAME,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_LOG_GROUP_NAME,
    OUTPUT_SERVICE_NAME,
    WAYS,
    Way,
)
from loadtests.analysis import load_phases
from loadtests.aws.billing import billed_scenarios, published_at_ms, snapshot_init
from loadtests.aws.capacity import (
    LAMBDA_SOURCE,
    LAMBDA_UNIT,
    asg_activities,
    asg_reader,
    ecs_reader,
    ecs_service_events,
    wait_for_lambda_concurrency,
)
from loadtests.aws.cold import Forced, force_ec2_cold, force_ecs_cold, force_lambda_cold, predict_succeeds
from loadtests.aws.discovery import Deployment, StackNotReady, discover
from loadtests.aws.log_bytes import measured_log_volume
from loadtests.aws.preflight import (
    EndpointsUnreachable,
    NoLambdaConcurrency,
    cap_lambda_load,
    check_endpoints,
)
from loadtests.capacity import write_capacity
from loadtests.comparison import (
    add_load_options,
    exit_on_sigterm,
    load_settings,
    new_run_id,
    publish_report,
    report_data,
    run_scenario,
    say,
)
from loadtests.locust_run import SCENARIOS, LoadSettings
from loadtests.signing import AUTH_IAM, NO_AUTH, Auth
from loadtests.step import summarize_step

# The step is held 10 minutes: target tracking acts through CloudWatch alarms on the CPU metric
# (Application Auto Scaling guide, "Target tracking scaling policies", read 2026-12-04), then a new
# task or instance must start and pass its health checks, all of which takes minutes.
AWS_DEFAULTS = LoadSettings(
    steady_users=20, ramp_seconds=30, hold_seconds=120, burst_users=10, burst_seconds=30,
    step_users=5, step_factor=10, baseline_seconds=120, step_seconds=600, after_seconds=180,
)  # fmt: skip
HOW = {
    "ec2": "EC2 Auto Scaling group (systemd uvicorn service) behind an ALB",
    "ecs": "ECS Fargate service behind an ALB",
    "lambda": "Lambda container image behind its Function URL",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.aws",
        description="Locust against the deployed stacks, then the comparison report.",
    )
    parser.add_argument("--targets", default=",".join(WAYS), help="comma-separated subset of ec2,ecs,lambda")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: cold,steady,step")
    parser.add_argument("--region", default=None, help="default: the AWS SDK's (AWS_REGION / profile)")
    parser.add_argument("--run-id", default=None)
    parser.add_argument(
        "--logs-wait",
        type=float,
        default=120.0,
        help="s to wait for the Lambda's REPORT log lines to reach CloudWatch after each run",
    )
    add_load_options(parser, AWS_DEFAULTS)
    return parser.parse_args(argv)


def auth_for(deployment: Deployment, region: str) -> Auth:
    """SigV4 with the caller's credentials for a Function URL with auth AWS_IAM; plain HTTP otherwise."""
    return Auth(AUTH_IAM, region) if deployment.signed else NO_AUTH


def force_cold(deployment: Deployment, session: Any) -> Forced:
    outputs = deployment.outputs
    probe = predict_succeeds(deployment.endpoint_url)
    if deployment.way == "lambda" and deployment.cold_start != "on-demand":
        # A new $LATEST configuration leaves the alias's version (and its snapshot or provisioned
        # environments) as they are: the cold run meets them as deployed.
        return Forced(f"not forced: {deployment.cold_start} serves its alias as deployed", None)
    if deployment.way == "lambda":
        return force_lambda_cold(session.client("lambda"), outputs[OUTPUT_FUNCTION_NAME])
    if deployment.way == "ecs":
        tasks = sizing.FARGATE_MIN_TASKS
        client = session.client("ecs")
        return force_ecs_cold(
            client, outputs[OUTPUT_CLUSTER_NAME], outputs[OUTPUT_SERVICE_NAME], tasks, probe
        )
    return force_ec2_cold(session.client("autoscaling"), outputs[OUTPUT_ASG_NAME], probe)


def measure(
    deployment: Deployment,
    auth: Auth,
    session: Any,
    scenarios: list[str],
    run_dir: Path,
    settings: LoadSettings,
    logs_wait: float,
) -> dict[str, Any]:
    way, url = deployment.way, deployment.endpoint_url
    started_ms = int(time.time() * 1000)
    result: dict[str, Any] = {
        "how": f"{HOW[way]} ({deployment.stack_name})",
        "architecture": deployment.architecture,
        "details": {"endpoint": url, "auth": auth.type},
    }
    transport = "HTTPS" if deployment.https else "plain HTTP (no certificate on the stack)"
    say(f"[{way}] endpoint {url}: {transport}")
    if deployment.cold_start is not None:
        result["details"]["cold_start_mode"] = deployment.cold_start
        result["how"] += f", cold starts {deployment.cold_start}"
    if "cold" in scenarios:
        say(f"[{way}] forcing fresh execution environments ...")
        forced = force_cold(deployment, session)
        result["cold_start"] = asdict(forced)
        result["cold"] = run_scenario(way, "cold", url, run_dir, settings, auth)
    if "steady" in scenarios:
        result["steady"] = run_scenario(way, "steady", url, run_dir, settings, auth)
    if "step" in scenarios:
        result["step"] = measure_step(deployment, auth, session, run_dir, settings, logs_wait)
    if way == "lambda":
        log_group = deployment.outputs[OUTPUT_LOG_GROUP_NAME]
        say(f"[{way}] reading the function's REPORT lines from {log_group} ...")
        ran = [s for s in SCENARIOS if s in scenarios]
        result["billing"] = billed_scenarios(session.client("logs"), log_group, run_dir / way, ran, logs_wait)
        if deployment.cold_start == "snapstart":
            result["billing"]["snapshot_init"] = read_snapshot_init(deployment, session, started_ms)
    if "steady" in scenarios:  # log bytes per request, as CloudWatch ingested them
        group = deployment.outputs[OUTPUT_LOG_GROUP_NAME]
        result["log_volume"] = measured_log_volume(
            session.client("logs"), group, run_dir / way / "steady", logs_wait
        )
    return result


def read_snapshot_init(deployment: Deployment, session: Any, before_ms: int) -> dict[str, Any]:
    """The INIT_REPORT lines of the alias's version, from its publication to this run's start."""
    outputs = deployment.outputs
    function_name, alias = outputs[OUTPUT_FUNCTION_NAME], outputs[OUTPUT_ALIAS_NAME]
    published_ms = published_at_ms(session.client("lambda"), function_name, alias)
    return snapshot_init(session.client("logs"), outputs[OUTPUT_LOG_GROUP_NAME], published_ms, before_ms)


def measure_step(
    deployment: Deployment, auth: Auth, session: Any, run_dir: Path, settings: LoadSettings, wait: float
) -> dict[str, Any]:
    """The step with the capacity in service: ECS tasks and EC2 instances read while it runs, Lambda's
    ConcurrentExecutions from CloudWatch afterwards; then what the platform logged in its window."""
    way, outputs, folder = deployment.way, deployment.outputs, run_dir / deployment.way / "step"
    reader = None
    if way == "ecs":
        reader = ecs_reader(session.client("ecs"), outputs[OUTPUT_CLUSTER_NAME], outputs[OUTPUT_SERVICE_NAME])
    elif way == "ec2":
        reader = asg_reader(session.client("autoscaling"), outputs[OUTPUT_ASG_NAME])
    run_scenario(way, "step", deployment.endpoint_url, run_dir, settings, auth, capacity=reader)
    phases = load_phases(folder)
    start, end = phases["baseline"], phases.get("end", phases["stopped"])
    events: list[dict[str, str]] = []
    if way == "lambda":
        say(f"[{way}] reading ConcurrentExecutions from CloudWatch ...")
        cloudwatch, function = session.client("cloudwatch"), outputs[OUTPUT_FUNCTION_NAME]
        points = wait_for_lambda_concurrency(cloudwatch, function, start, end, wait)
        write_capacity(folder, LAMBDA_UNIT, LAMBDA_SOURCE, points)
    elif way == "ecs":
        ecs, cluster, service = (
            session.client("ecs"),
            outputs[OUTPUT_CLUSTER_NAME],
            outputs[OUTPUT_SERVICE_NAME],
        )
        events = ecs_service_events(ecs, cluster, service, start, end)
    else:
        events = asg_activities(session.client("autoscaling"), outputs[OUTPUT_ASG_NAME], start, end)
    return {**summarize_step(folder), "capacity_events": events}


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    exit_on_sigterm()
    settings = load_settings(args)
    session = aws_session(args.region)
    if not session.region_name:
        raise SystemExit(NO_REGION)
    ways: list[Way] = [w for w in WAYS if w in args.targets.split(",")]
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    try:
        cloudformation = session.client("cloudformation")
        deployments = {way: discover(way, cloudformation) for way in ways}
        auths = {way: auth_for(deployments[way], session.region_name) for way in ways}
        check_endpoints(deployments, auths)
        load, capped = {way: settings for way in ways}, None
        if "lambda" in ways:
            function = deployments["lambda"].outputs[OUTPUT_FUNCTION_NAME]
            load["lambda"], capped = cap_lambda_load(session.client("lambda"), function, settings)
            if capped:
                say(capped)
    except (StackNotReady, EndpointsUnreachable, NoLambdaConcurrency) as error:
        raise SystemExit(str(error)) from None
    run_id = args.run_id or new_run_id("aws")
    run_dir = args.out / run_id
    started = time.time()
    targets: dict[str, Any] = {
        way: measure(deployments[way], auths[way], session, scenarios, run_dir, load[way], args.logs_wait)
        for way in ways
    }
    if capped:  # the report says Lambda ran with fewer users, and why
        targets["lambda"]["how"] += f"; {capped}"
    note = (
        f"Deployed stacks in {session.region_name}, measured from this machine over the internet "
        f"({time.time() - started:.0f} s)."
    )
    data = report_data(run_id, "AWS", note, settings, targets, args.prices)
    return publish_report(data, run_dir)


if __name__ == "__main__":
    main()
