"""The capacity readers on AWS (loadtests.aws.capacity), against botocore's Stubber: the requests
are checked against what we expect and both sides against the services' own API models, with fake
credentials. The whole `make compare` step path runs against moto: EC2's in test_aws, Lambda's below."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.common.names import STACK_NAMES
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for_first_success
from loadtests.aws.__main__ import main as aws_main
from loadtests.aws.capacity import (
    asg_activities,
    asg_in_service,
    asg_reader,
    ecs_reader,
    ecs_running_tasks,
    ecs_service_events,
    wait_for_lambda_concurrency,
)
from tests.loadtests.conftest import AWS_TEST_REGION
from tests.loadtests.test_aws import (
    contracted_outputs,
    function_with_reserved_concurrency,
    stack_with_outputs,
)
from tests.loadtests.test_function_url import serve_function_url

REGION = AWS_TEST_REGION
T0 = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # the step run's start
START, END = T0.timestamp(), (T0 + timedelta(minutes=15)).timestamp()


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


@pytest.fixture
def stubbed(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(request.param, region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def service(running: int, events: list[tuple[timedelta, str]]) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceName": "svc",
                "runningCount": running,
                "events": [
                    {"id": str(i), "createdAt": T0 + at, "message": m} for i, (at, m) in enumerate(events)
                ],
            }
        ]
    }


@pytest.mark.parametrize("stubbed", ["ecs"], indirect=True)
def test_ecs_capacity_is_the_running_count_and_its_events_those_of_the_step_s_window(
    stubbed: tuple[Any, Stubber],
) -> None:
    ecs, stubber = stubbed
    events = [
        (timedelta(minutes=4), "(service svc) has started 2 tasks: (task a) (task b)."),
        (timedelta(minutes=-30), "(service svc) has reached a steady state."),  # before the run
        (timedelta(minutes=6), "(service svc) has reached a steady state."),
    ]
    expected = {"cluster": "cluster", "services": ["svc"]}
    stubber.add_response("describe_services", service(3, events), expected)
    stubber.add_response("describe_services", service(3, events), expected)

    reader = ecs_reader(ecs, "cluster", "svc")
    assert reader.read() == 3 and reader.unit == "ECS tasks" and reader.interval >= 1
    in_window = ecs_service_events(ecs, "cluster", "svc", START, END)
    assert [e["message"] for e in in_window] == [
        "(service svc) has started 2 tasks: (task a) (task b).",
        "(service svc) has reached a steady state.",
    ]
    assert in_window[0]["at"] == (T0 + timedelta(minutes=4)).isoformat()


def instance(instance_id: str, state: str) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "AvailabilityZone": "us-east-1a",
        "LifecycleState": state,
        "HealthStatus": "Healthy",
        "ProtectedFromScaleIn": False,
    }


@pytest.mark.parametrize("stubbed", ["autoscaling"], indirect=True)
def test_ec2_capacity_counts_only_instances_in_service(stubbed: tuple[Any, Stubber]) -> None:
    autoscaling, stubber = stubbed
    group = {
        "AutoScalingGroupName": "asg",
        "MinSize": 1,
        "MaxSize": 3,
        "DesiredCapacity": 3,
        "DefaultCooldown": 300,
        "AvailabilityZones": ["us-east-1a"],
        "HealthCheckType": "ELB",
        "CreatedTime": T0,
        "Instances": [instance("i-1", "InService"), instance("i-2", "Pending"), instance("i-3", "InService")],
    }
    stubber.add_response(
        "describe_auto_scaling_groups", {"AutoScalingGroups": [group]}, {"AutoScalingGroupNames": ["asg"]}
    )
    assert asg_in_service(autoscaling, "asg") == 2  # booting is not serving
    assert asg_reader(autoscaling, "asg").unit == "EC2 instances"


def activity(at: timedelta, description: str) -> dict[str, Any]:
    return {
        "ActivityId": description,
        "AutoScalingGroupName": "asg",
        "Description": description,
        "Cause": "a target tracking alarm",
        "StartTime": T0 + at,
        "StatusCode": "Successful",
    }


@pytest.mark.parametrize("stubbed", ["autoscaling"], indirect=True)
def test_ec2_scaling_activities_are_paged_newest_first_until_one_predates_the_step(
    stubbed: tuple[Any, Stubber],
) -> None:
    autoscaling, stubber = stubbed
    newest = [activity(timedelta(minutes=9), "Launching a new EC2 instance: i-3")]
    older = [
        activity(timedelta(minutes=5), "Launching a new EC2 instance: i-2"),
        activity(timedelta(days=-1), "Launching a new EC2 instance: i-1"),  # before the run: stop here
    ]
    stubber.add_response(
        "describe_scaling_activities",
        {"Activities": newest, "NextToken": "t"},
        {"AutoScalingGroupName": "asg"},
    )
    stubber.add_response(
        "describe_scaling_activities",
        {"Activities": older, "NextToken": "u"},
        {"AutoScalingGroupName": "asg", "NextToken": "t"},
    )  # no third page is asked for: the stubber would fail on an unexpected call

    found = asg_activities(autoscaling, "asg", START, END)
    assert [a["message"] for a in found] == [
        "Launching a new EC2 instance: i-2 (Successful)",
        "Launching a new EC2 instance: i-3 (Successful)",
    ]


def datapoints(minutes: range, value: float = 7.0) -> dict[str, Any]:
    points = [
        {"Timestamp": T0 + timedelta(minutes=m), "Maximum": value + m, "Unit": "Count"} for m in minutes
    ]
    return {"Label": "ConcurrentExecutions", "Datapoints": points}


@pytest.mark.parametrize("stubbed", ["cloudwatch"], indirect=True)
def test_lambda_capacity_is_concurrent_executions_read_again_until_the_last_minute_arrives(
    stubbed: tuple[Any, Stubber],
) -> None:
    cloudwatch, stubber = stubbed
    expected = {
        "Namespace": "AWS/Lambda",
        "MetricName": "ConcurrentExecutions",
        "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
        "StartTime": T0,
        "EndTime": T0 + timedelta(minutes=15),
        "Period": 60,
        "Statistics": ["Maximum"],
    }
    stubber.add_response("get_metric_statistics", datapoints(range(10)), expected)  # CloudWatch lags
    stubber.add_response("get_metric_statistics", datapoints(range(15)), expected)
    waits: list[float] = []

    points = wait_for_lambda_concurrency(cloudwatch, "fn", START, END, wait_seconds=120, sleep=waits.append)
    assert len(waits) == 1
    assert points[0] == (START, 7) and points[-1] == ((T0 + timedelta(minutes=14)).timestamp(), 21)


@pytest.mark.parametrize("stubbed", ["cloudwatch"], indirect=True)
def test_lambda_capacity_gives_up_waiting_with_what_it_has(stubbed: tuple[Any, Stubber]) -> None:
    cloudwatch, stubber = stubbed
    for _ in range(3):
        stubber.add_response("get_metric_statistics", datapoints(range(3)))
    waits: list[float] = []
    points = wait_for_lambda_concurrency(cloudwatch, "fn", START, END, wait_seconds=30, sleep=waits.append)
    assert waits == [15.0, 15.0] and len(points) == 3


# ---------------------------------------------------------------- `make compare`'s step, Lambda
@pytest.mark.load
def test_the_aws_step_reads_lambda_s_concurrent_executions_after_the_run(tmp_path: Path) -> None:
    """`python -m loadtests.aws --scenarios step` against moto (CloudFormation, CloudWatch, Logs) and
    the local Function URL: the step runs, then ConcurrentExecutions is read from CloudWatch (here
    a datapoint put beforehand, as Lambda would) and is the step's capacity."""
    with mock_aws():
        now = datetime.now(UTC)
        boto3.client("cloudwatch", region_name=REGION).put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "ConcurrentExecutions",
                    "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
                    "Timestamp": now,
                    "Value": 4,
                }
            ],
        )
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/aws/lambda/fn")
        function_with_reserved_concurrency("fn", 10)  # make compare reads it before capping its users
        with serve_function_url("NONE") as (url, _):
            outputs = contracted_outputs(
                "lambda",
                EndpointUrl=url,
                FunctionName="fn",
                FunctionUrlAuthType="NONE",
                LogGroupName="/aws/lambda/fn",
            )
            stack_with_outputs(
                boto3.client("cloudformation", region_name=REGION), STACK_NAMES["lambda"], outputs
            )
            small = ["--step-users", "1", "--step-factor", "2", "--baseline", "1", "--step-seconds", "2"]
            small += ["--after", "1", "--logs-wait", "0"]
            args = ["--targets", "lambda", "--scenarios", "step", "--region", REGION, "--out", str(tmp_path)]
            report = aws_main([*args, *small])

    step = json.loads((report.parent / "report.json").read_text())["targets"]["lambda"]["step"]
    assert step["step"]["requests"] > 0
    assert (
        step["capacity"]["unit"] == "Lambda environments"
        and "ConcurrentExecutions" in step["capacity"]["source"]
    )
    assert [n for _, n in step["capacity"]["points"]] == [4]
    assert step["cost"]["usd"] > 0 and "ConcurrentExecutions" in report.read_text()


# ---------------------------------------------------------------- `make compare`'s step, ECS
@pytest.mark.load
def test_the_aws_step_reads_the_ecs_service_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--scenarios step` for ECS against moto, the app on 127.0.0.1 standing in for the ALB: the
    service's running tasks are read during the run, and its events in the window are listed."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", LOOPBACK, "--port", str(port)]
    with mock_aws(), ManagedProcess(command, tmp_path / "app.log") as app:
        wait_for_first_success(LOOPBACK, port, time.monotonic(), alive=app)
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="cluster")
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "app", "image": "i", "memory": 512}]
        )
        monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto's service then says 2 tasks run
        ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition="app", desiredCount=2)
        assert ecs_running_tasks(ecs, "cluster", "svc") == 2
        outputs = contracted_outputs(
            "ecs", EndpointUrl=f"http://{LOOPBACK}:{port}", ClusterName="cluster", ServiceName="svc"
        )
        stack_with_outputs(boto3.client("cloudformation", region_name=REGION), STACK_NAMES["ecs"], outputs)
        small = ["--step-users", "1", "--step-factor", "2", "--baseline", "1", "--step-seconds", "2"]
        args = ["--targets", "ecs", "--scenarios", "step", "--region", REGION, "--out", str(tmp_path)]
        report = aws_main([*args, *small, "--after", "1"])

    step = json.loads((report.parent / "report.json").read_text())["targets"]["ecs"]["step"]
    assert step["step"]["requests"] > 0 and step["capacity"]["unit"] == "ECS tasks"
    assert "runningCount" in step["capacity"]["source"]
    assert step["capacity"]["points"] and {n for _, n in step["capacity"]["points"]} == {2}
    assert isinstance(step["capacity_events"], list)
