"""`make loadtest TARGET=ec2|ecs|lambda SCENARIO=steady|cold` and `make compare`: Locust against the
deployed stacks (found through their CloudFormation outputs), then the same report as `make demo`.

Needs AWS credentials for the account the stacks live in (the usual AWS_PROFILE / AWS_REGION).
The cold scenario changes the deployments: it scales the ECS service and the EC2 Auto Scaling
group to 0 and back, and updates the Lambda function's configuration.

    python -m loadtests.aws --targets lambda --scenarios cold
    python -m loadtests.aws --scenarios cold,steady --hold 300 --users 50 --processes 4
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3

from infra.common.names import (
    OUTPUT_ASG_NAME,
    OUTPUT_CLUSTER_NAME,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_SERVICE_NAME,
    WAYS,
    Way,
)
from loadtests.aws.cold import Forced, force_ec2_cold, force_ecs_cold, force_lambda_cold, predict_succeeds
from loadtests.aws.discovery import Deployment, discover
from loadtests.locust_run import SCENARIOS, LoadSettings
from loadtests.run import (
    add_load_options,
    exit_on_sigterm,
    load_settings,
    new_run_id,
    publish_report,
    report_data,
    run_scenario,
    say,
)
from loadtests.sizing import deployed_sizing

AWS_DEFAULTS = LoadSettings(
    steady_users=20, ramp_seconds=30, hold_seconds=120, burst_users=10, burst_seconds=30
)
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
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: cold,steady")
    parser.add_argument("--region", default=None, help="default: the AWS SDK's (AWS_REGION / profile)")
    parser.add_argument("--run-id", default=None)
    add_load_options(parser, AWS_DEFAULTS)
    return parser.parse_args(argv)


def force_cold(deployment: Deployment, session: Any) -> Forced:
    outputs = deployment.outputs
    probe = predict_succeeds(deployment.endpoint_url)
    if deployment.way == "lambda":
        return force_lambda_cold(session.client("lambda"), outputs[OUTPUT_FUNCTION_NAME])
    if deployment.way == "ecs":
        tasks = deployed_sizing().fargate_min_tasks
        client = session.client("ecs")
        return force_ecs_cold(
            client, outputs[OUTPUT_CLUSTER_NAME], outputs[OUTPUT_SERVICE_NAME], tasks, probe
        )
    return force_ec2_cold(session.client("autoscaling"), outputs[OUTPUT_ASG_NAME], probe)


def measure(
    deployment: Deployment, session: Any, scenarios: list[str], run_dir: Path, settings: LoadSettings
) -> dict[str, Any]:
    way, url = deployment.way, deployment.endpoint_url
    result: dict[str, Any] = {"how": f"{HOW[way]} ({deployment.stack_name})", "details": {"endpoint": url}}
    if "cold" in scenarios:
        say(f"[{way}] forcing fresh execution environments ...")
        forced = force_cold(deployment, session)
        result["cold_start"] = {**asdict(forced), "first_response_was_cold": None}
        result["cold"] = run_scenario(way, "cold", url, run_dir, settings)
    if "steady" in scenarios:
        result["steady"] = run_scenario(way, "steady", url, run_dir, settings)
    return result


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    exit_on_sigterm()
    settings = load_settings(args)
    session = boto3.session.Session(region_name=args.region)
    cloudformation = session.client("cloudformation")
    ways: list[Way] = [w for w in WAYS if w in args.targets.split(",")]
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    deployments = {way: discover(way, cloudformation) for way in ways}
    run_id = args.run_id or new_run_id("aws")
    run_dir = args.out / run_id
    targets: dict[str, Any] = {
        way: measure(deployments[way], session, scenarios, run_dir, settings) for way in ways
    }
    note = f"Deployed stacks in {session.region_name}, measured from this machine over the internet."
    data = report_data(run_id, "AWS", note, settings, targets, args.prices)
    return publish_report(data, run_dir)


if __name__ == "__main__":
    main()
