"""The AWS side against moto (CloudFormation, ECS, Auto Scaling) and botocore's Stubber (Lambda:
moto cannot run image functions, and its update state is not the real one). Nothing reaches AWS."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import WaiterError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from infra.common.names import OUTPUTS_BY_WAY, STACK_NAMES
from loadtests.aws.__main__ import main as aws_main
from loadtests.aws.cold import COLD_TOKEN_VARIABLE, force_ec2_cold, force_ecs_cold, force_lambda_cold
from loadtests.aws.discovery import StackNotReady, discover
from loadtests.local.process import LOOPBACK, ManagedProcess, free_port, wait_for_first_success

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def stack_with_outputs(cloudformation: Any, stack_name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))


# ---------------------------------------------------------------- discovery
def test_discovery_reads_the_contracted_outputs(aws: None) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    outputs = {key: f"value-of-{key}" for key in OUTPUTS_BY_WAY["lambda"]}
    outputs["EndpointUrl"] = "https://abc.lambda-url.us-east-1.on.aws/"
    stack_with_outputs(cloudformation, STACK_NAMES["lambda"], outputs)

    deployment = discover("lambda", cloudformation)

    assert deployment.stack_name == STACK_NAMES["lambda"]
    assert deployment.endpoint_url == "https://abc.lambda-url.us-east-1.on.aws"
    assert deployment.outputs["FunctionName"] == "value-of-FunctionName"


def test_discovery_names_missing_outputs_and_missing_stacks(aws: None) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(cloudformation, STACK_NAMES["ecs"], {"EndpointUrl": "http://alb"})
    with pytest.raises(StackNotReady, match="ClusterName"):
        discover("ecs", cloudformation)
    with pytest.raises(StackNotReady, match=STACK_NAMES["ec2"]):
        discover("ec2", cloudformation)


# ---------------------------------------------------------------- EC2: the Auto Scaling group, 0 -> 1
def test_ec2_cold_start_empties_the_group_then_restores_it_and_times_the_first_success(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="one-model", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"}
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg",
        LaunchTemplate={"LaunchTemplateName": "one-model"},
        MinSize=1,
        MaxSize=3,
        DesiredCapacity=1,
        AvailabilityZones=[f"{REGION}a"],
    )
    seen: list[int] = []

    def probe() -> bool:  # the load balancer answers once an instance is back
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["asg"])["AutoScalingGroups"][
            0
        ]
        seen.append(len(group["Instances"]))
        return len(group["Instances"]) == 1

    forced = force_ec2_cold(autoscaling, "asg", probe, sleep=lambda _: None)

    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["asg"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["DesiredCapacity"], len(group["Instances"])) == (1, 1, 1)
    assert seen[-1] == 1
    assert forced.seconds_to_first_success is not None and forced.seconds_to_first_success >= 0
    assert "0 -> 1" in forced.method


# ---------------------------------------------------------------- ECS: the service, 0 -> N
def test_ecs_cold_start_scales_the_service_to_zero_and_back(aws: None) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="cluster")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "one-model:ecs", "memory": 1024}]
    )
    ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition="app", desiredCount=1)
    counts: list[int] = []

    def probe() -> bool:
        counts.append(
            ecs.describe_services(cluster="cluster", services=["svc"])["services"][0]["desiredCount"]
        )
        return True

    forced = force_ecs_cold(ecs, "cluster", "svc", tasks=2, probe=probe, delay=1)

    assert counts == [2]  # the first success is probed only after scaling back up
    assert ecs.describe_services(cluster="cluster", services=["svc"])["services"][0]["desiredCount"] == 2
    assert "0 -> 2" in forced.method


# ---------------------------------------------------------------- Lambda: a new configuration
def test_lambda_cold_start_adds_a_token_keeps_other_variables_and_waits_for_the_update() -> None:
    client = boto3.client("lambda", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "get_function_configuration",
        {"FunctionName": "fn", "Environment": {"Variables": {"APP_LOG_LEVEL": "INFO"}}},
        {"FunctionName": "fn"},
    )
    stubber.add_response(
        "update_function_configuration",
        {"FunctionName": "fn", "LastUpdateStatus": "InProgress"},
        {
            "FunctionName": "fn",
            "Environment": {"Variables": {"APP_LOG_LEVEL": "INFO", COLD_TOKEN_VARIABLE: ANY}},
        },
    )
    # The function_updated waiter polls GetFunctionConfiguration until LastUpdateStatus is Successful.
    stubber.add_response(
        "get_function_configuration", {"LastUpdateStatus": "InProgress"}, {"FunctionName": "fn"}
    )
    stubber.add_response(
        "get_function_configuration", {"LastUpdateStatus": "Successful"}, {"FunctionName": "fn"}
    )

    with stubber:
        forced = force_lambda_cold(client, "fn", delay=0)

    stubber.assert_no_pending_responses()
    assert forced.seconds_to_first_success is None  # the cold starts happen in the Locust burst
    assert "environment variable" in forced.method


def test_lambda_cold_start_fails_loudly_when_the_update_fails() -> None:
    client = boto3.client("lambda", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response("get_function_configuration", {"FunctionName": "fn"}, {"FunctionName": "fn"})
    stubber.add_response(
        "update_function_configuration", {"FunctionName": "fn"}, {"FunctionName": "fn", "Environment": ANY}
    )
    stubber.add_response("get_function_configuration", {"LastUpdateStatus": "Failed"}, {"FunctionName": "fn"})
    with stubber, pytest.raises(WaiterError):
        force_lambda_cold(client, "fn", delay=0)


# ---------------------------------------------------------------- the whole `make loadtest` path
def test_the_aws_run_discovers_forces_measures_and_reports(aws: None, tmp_path: Path) -> None:
    """`python -m loadtests.aws` end to end, with moto standing in for AWS and the app on 127.0.0.1
    standing in for the load balancer: discovery, the ASG 0 -> 1 cold start, both Locust scenarios."""
    port = free_port()
    app = ManagedProcess(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", LOOPBACK, "--port", str(port)],
        tmp_path / "app.log",
    )
    with app:
        wait_for_first_success(LOOPBACK, port, time.monotonic(), alive=app)
        ec2 = boto3.client("ec2", region_name=REGION)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.create_launch_template(LaunchTemplateName="one-model", LaunchTemplateData={"ImageId": image})
        boto3.client("autoscaling", region_name=REGION).create_auto_scaling_group(
            AutoScalingGroupName="asg",
            LaunchTemplate={"LaunchTemplateName": "one-model"},
            MinSize=1,
            MaxSize=1,
            AvailabilityZones=[f"{REGION}a"],
        )
        outputs = {"EndpointUrl": f"http://{LOOPBACK}:{port}", "Way": "ec2", "AutoScalingGroupName": "asg"}
        stack_with_outputs(boto3.client("cloudformation", region_name=REGION), STACK_NAMES["ec2"], outputs)

        small = ["--users", "2", "--ramp", "1", "--hold", "3", "--burst-users", "2", "--burst-seconds", "2"]
        report = aws_main(
            ["--targets", "ec2", "--region", REGION, "--out", str(tmp_path), "--run-id", "moto", *small]
        )

    data = json.loads((report.parent / "report.json").read_text())
    target = data["targets"]["ec2"]
    assert data["source"] == "AWS" and list(data["targets"]) == ["ec2"]
    assert target["cold_start"]["seconds_to_first_success"] >= 0
    assert target["cold"]["requests"] > 0 and target["steady"]["requests"] > 0
    assert target["steady"]["errors"] == 0
