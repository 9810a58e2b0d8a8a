"""The AWS side against moto (CloudFormation, ECS, Auto Scaling, CloudWatch Logs) and botocore's
Stubber (Lambda: moto cannot run image functions, and its update state is not the real one), with
every endpoint a local HTTP server on 127.0.0.1. Nothing reaches AWS."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import WaiterError
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.cloudformation.models import cloudformation_backends
from moto.core import DEFAULT_ACCOUNT_ID

from infra.common.names import LAMBDA_COLD_STARTS, OUTPUT_COLD_START, OUTPUTS_BY_WAY, STACK_NAMES, Way
from infra.local.function_url.sigv4 import Identity
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for_first_success
from loadtests.aws.__main__ import force_cold
from loadtests.aws.__main__ import main as aws_main
from loadtests.aws.billing import (
    REPORT_FILTER,
    billed_scenarios,
    parse_report,
    published_at_ms,
    read_reports,
    snapshot_init,
    summarize_reports,
)
from loadtests.aws.cold import COLD_TOKEN_VARIABLE, force_ec2_cold, force_ecs_cold, force_lambda_cold
from loadtests.aws.discovery import STABLE_STATUSES, Deployment, StackNotReady, discover
from loadtests.comparison import run_scenario
from loadtests.costs import BILLED, cost_rows, load_prices
from loadtests.locust_run import LoadSettings
from loadtests.signing import NO_AUTH
from tests.loadtests.conftest import AWS_TEST_REGION
from tests.loadtests.test_function_url import serve_function_url

REGION = AWS_TEST_REGION


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


RECORDED = Path(__file__).parent / "recorded"


def stack_with_outputs(
    cloudformation: Any, stack_name: str, outputs: dict[str, str], status: str | None = None
) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
    if status is not None:  # moto creates stacks CREATE_COMPLETE; set what a real history leaves
        stacks = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].stacks.values()
        (stack,) = (s for s in stacks if s.name == stack_name)
        stack.status = status


def contracted_outputs(way: Way, **values: str) -> dict[str, str]:
    outputs = {key: f"value-of-{key}" for key in OUTPUTS_BY_WAY[way]}
    mode = {OUTPUT_COLD_START: "on-demand"} if way == "lambda" else {}
    return {**outputs, "Architecture": "x86_64", "Way": way, **mode, **values}


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


@pytest.mark.parametrize("mode", LAMBDA_COLD_STARTS)
def test_discovery_tells_which_cold_start_mode_is_deployed(aws: None, mode: str) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(
        cloudformation, STACK_NAMES["lambda"], contracted_outputs("lambda", ColdStartMode=mode)
    )

    deployment = discover("lambda", cloudformation)

    assert deployment.cold_start == mode


def test_an_unknown_cold_start_mode_is_refused_in_one_line(aws: None) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(cloudformation, STACK_NAMES["lambda"], contracted_outputs("lambda", ColdStartMode="x"))

    with pytest.raises(StackNotReady, match="unknown cold-start mode 'x'"):
        _ = discover("lambda", cloudformation).cold_start


@pytest.mark.parametrize("mode", ["snapstart", "provisioned"])
def test_an_alias_mode_is_measured_as_deployed_not_forced(mode: str) -> None:
    # Resetting $LATEST would leave the alias's version untouched: nothing is called, and it says so.
    deployment = Deployment("lambda", STACK_NAMES["lambda"], contracted_outputs("lambda", ColdStartMode=mode))
    deployment = Deployment(deployment.way, deployment.stack_name, {**deployment.outputs, "EndpointUrl": "x"})

    forced = force_cold(deployment, session=object())

    assert forced.method == f"not forced: {mode} serves its alias as deployed"
    assert forced.seconds_to_first_success is None


@pytest.mark.parametrize("status", sorted(STABLE_STATUSES))
def test_discovery_accepts_every_stable_stack_status(aws: None, status: str) -> None:
    """UPDATE_ROLLBACK_COMPLETE included: the previous, working version is what runs."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(cloudformation, STACK_NAMES["ecs"], contracted_outputs("ecs"), status)
    assert discover("ecs", cloudformation).stack_name == STACK_NAMES["ecs"]


def test_an_alb_stack_with_a_certificate_is_measured_at_its_https_endpoint(aws: None) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    https = {"EndpointUrl": "https://predict.example.com", "DomainName": "predict.example.com"}
    stack_with_outputs(cloudformation, STACK_NAMES["ecs"], contracted_outputs("ecs", **https))
    stack_with_outputs(
        cloudformation, STACK_NAMES["ec2"], contracted_outputs("ec2", EndpointUrl="http://alb")
    )
    deployment = discover("ecs", cloudformation)
    assert deployment.endpoint_url == "https://predict.example.com" and deployment.https
    assert not discover("ec2", cloudformation).https


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("UPDATE_IN_PROGRESS", "wait until it is stable"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "wait until it is stable"),
        ("ROLLBACK_COMPLETE", "not a usable deployment"),
        ("UPDATE_ROLLBACK_FAILED", "not a usable deployment"),
        ("DELETE_FAILED", "not a usable deployment"),
    ],
)
def test_discovery_refuses_changing_or_failed_stacks_in_one_line(aws: None, status: str, advice: str) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(cloudformation, STACK_NAMES["ecs"], contracted_outputs("ecs"), status)
    with pytest.raises(StackNotReady) as refused:
        discover("ecs", cloudformation)
    message = str(refused.value)
    assert (
        "\n" not in message and message.startswith(f"{STACK_NAMES['ecs']} is {status}") and advice in message
    )


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


# ---------------------------------------------------------------- an interruption mid-forcing
def fail_on_call(client: Any, operation: str, number: int, error: BaseException) -> None:
    """Make the ``number``-th ``operation`` call of ``client`` raise ``error`` before it is sent."""
    calls: list[str] = []

    def interrupt(**_: Any) -> None:
        calls.append(operation)
        if len(calls) == number:
            raise error

    client.meta.events.register(f"before-call.*.{operation}", interrupt)


def test_ec2_cold_start_interrupted_while_empty_puts_the_group_back(aws: None) -> None:
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    asg(autoscaling, boto3.client("ec2", region_name=REGION), size=2)
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="asg", MinSize=1, MaxSize=3)
    # The first describe reads the size; the second (waiting for the group to empty) loses the network.
    fail_on_call(autoscaling, "DescribeAutoScalingGroups", 2, ConnectionError("network gone"))

    with pytest.raises(ConnectionError):
        force_ec2_cold(autoscaling, "asg", probe=lambda: True, sleep=lambda _: None)

    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["asg"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["DesiredCapacity"]) == (1, 2)


def test_ecs_cold_start_interrupted_by_ctrl_c_at_zero_tasks_puts_the_service_back(aws: None) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="cluster")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "one-model:ecs", "memory": 1024}]
    )
    ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition="app", desiredCount=3)
    # The first describe reads the count; the second is the waiter's, when the user presses Ctrl-C.
    fail_on_call(ecs, "DescribeServices", 2, KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        force_ecs_cold(ecs, "cluster", "svc", tasks=1, probe=lambda: True, delay=1)

    assert ecs.describe_services(cluster="cluster", services=["svc"])["services"][0]["desiredCount"] == 3


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


# ---------------------------------------------------------------- endpoints as local servers
class StandIn(BaseHTTPRequestHandler):
    """An endpoint on 127.0.0.1: /health 200, /ready 503 until ``ready_after`` probes, then 200,
    /predict one prediction per row. Every request path (and the /ready answers) is logged in order."""

    log: list[str]
    ready_after: int

    def do_GET(self) -> None:
        if self.path == "/ready":
            probes = sum(1 for entry in self.log if entry.startswith("/ready"))
            status = 200 if probes >= self.ready_after else 503
            self.log.append(f"/ready {status}")
            self.answer(status, {"ready": status == 200})
        else:
            self.log.append(self.path)
            self.answer(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.log.append(self.path)
        self.answer(200, {"predictions": [{"label": "class_0"} for _ in body["instances"]]})

    def answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[tuple[str, list[str]]]:
    log: list[str] = []
    handler = type("Handler", (StandIn,), {"log": log, "ready_after": 2})
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}", log
    server.shutdown()
    server.server_close()


def asg(autoscaling: Any, ec2: Any, size: int = 1) -> None:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="one-model", LaunchTemplateData={"ImageId": image})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg",
        LaunchTemplate={"LaunchTemplateName": "one-model"},
        MinSize=size,
        MaxSize=size,
        DesiredCapacity=size,
        AvailabilityZones=[f"{REGION}a"],
    )


def test_compare_stops_before_scaling_anything_when_an_endpoint_is_unreachable(
    aws: None, stand_in: tuple[str, list[str]], tmp_path: Path
) -> None:
    """ALLOWED_CIDR left closed: the ALB never answers. The preflight's /health catches it at once,
    before the ASG and the ECS service are scaled to 0, in one line naming ALLOWED_CIDR."""
    healthy_url, log = stand_in
    closed_url = f"http://{LOOPBACK}:{free_port()}"  # nothing listens: what a closed ALB looks like
    autoscaling, ecs = (
        boto3.client("autoscaling", region_name=REGION),
        boto3.client("ecs", region_name=REGION),
    )
    asg(autoscaling, boto3.client("ec2", region_name=REGION))
    ecs.create_cluster(clusterName="cluster")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "i", "memory": 512}]
    )
    ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition="app", desiredCount=1)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    stack_with_outputs(
        cloudformation,
        STACK_NAMES["ec2"],
        contracted_outputs("ec2", EndpointUrl=closed_url, AutoScalingGroupName="asg"),
    )
    stack_with_outputs(
        cloudformation,
        STACK_NAMES["ecs"],
        contracted_outputs("ecs", EndpointUrl=healthy_url, ClusterName="cluster", ServiceName="svc"),
    )

    with pytest.raises(SystemExit) as stopped:
        aws_main(["--targets", "ec2,ecs", "--region", REGION, "--out", str(tmp_path)])

    message = str(stopped.value.code)
    assert "\n" not in message and "ALLOWED_CIDR" in message
    assert f"ec2 ({closed_url}/health: no answer)" in message and "ecs (" not in message
    assert log == ["/health"]  # the healthy endpoint was asked, and nothing else happened
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["asg"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["DesiredCapacity"]) == (1, 1)
    assert ecs.describe_services(cluster="cluster", services=["svc"])["services"][0]["desiredCount"] == 1
    assert not any(tmp_path.iterdir())


def test_compare_refuses_a_stack_that_is_still_updating_in_one_line(aws: None, tmp_path: Path) -> None:
    stack_with_outputs(
        boto3.client("cloudformation", region_name=REGION),
        STACK_NAMES["lambda"],
        contracted_outputs("lambda"),
        "UPDATE_IN_PROGRESS",
    )
    with pytest.raises(SystemExit) as stopped:
        aws_main(["--targets", "lambda", "--region", REGION, "--out", str(tmp_path)])
    assert (
        str(stopped.value.code)
        == f"{STACK_NAMES['lambda']} is UPDATE_IN_PROGRESS: wait until it is stable, then retry."
    )


def test_compare_without_a_region_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(SystemExit) as stopped:
        aws_main(["--targets", "ec2", "--out", str(tmp_path)])
    assert str(stopped.value.code).startswith("No AWS region: set AWS_REGION")


@pytest.mark.load
def test_every_scenario_waits_for_ready_before_locust_starts(
    stand_in: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, log = stand_in
    settings = LoadSettings(steady_users=1, ramp_seconds=1, hold_seconds=1, burst_users=1, burst_seconds=1)
    for scenario in ("cold", "steady"):
        log.clear()  # the stand-in is not ready again: two 503s, then 200
        run_scenario("ecs", scenario, url, tmp_path / scenario, settings, NO_AUTH)
        assert log[:4] == ["/ready 503", "/ready 503", "/ready 200", "/predict"], scenario
    # Lambda's cold burst is the one exception: a /ready would take one of the fresh environments.
    log.clear()
    run_scenario("lambda", "cold", url, tmp_path / "lambda", settings, NO_AUTH)
    assert log[0] == "/predict" and not any(entry.startswith("/ready") for entry in log)


# ---------------------------------------------------------------- Lambda as billed: REPORT lines
def put_recorded_events(logs: Any, origin_ms: int) -> dict[str, Any]:
    recorded = json.loads((RECORDED / "lambda" / "report-log-events.json").read_text())
    logs.create_log_group(logGroupName=recorded["log_group"])
    for stream in sorted({e["stream"] for e in recorded["events"]}):
        logs.create_log_stream(logGroupName=recorded["log_group"], logStreamName=stream)
        events = [
            {"timestamp": origin_ms + e["offset_ms"], "message": e["message"]}
            for e in recorded["events"]
            if e["stream"] == stream
        ]
        logs.put_log_events(logGroupName=recorded["log_group"], logStreamName=stream, logEvents=events)
    return recorded


def write_samples(folder: Path, origin: float, statuses: list[int]) -> None:
    folder.mkdir(parents=True)
    rows = [
        {"t": origin + i * 0.05, "ms": 20.0, "ok": s == 200, "status": s, "cold": False}
        for i, s in enumerate(statuses)
    ]
    (folder / "samples-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_report_lines_give_billed_durations_and_server_side_cold_starts(aws: None, tmp_path: Path) -> None:
    """Recorded REPORT lines in moto's CloudWatch Logs: the steady window's 11 invocations on 2
    environments, 2 of them cold (Init Duration); a 429 the function never ran is not expected."""
    origin = time.time() - 60
    logs = boto3.client("logs", region_name=REGION)
    recorded = put_recorded_events(logs, int(origin * 1000))
    reports = [parse_report(e["message"]) for e in recorded["events"] if e["offset_ms"] >= 0]
    in_window = [r for r in reports if r is not None]
    write_samples(tmp_path / "lambda" / "steady", origin, [200] * len(in_window) + [429])

    billing = billed_scenarios(logs, recorded["log_group"], tmp_path / "lambda", ["steady"], wait_seconds=0)

    steady = billing["steady"]
    assert (steady["invocations"], steady["client_responses"]) == (11, 11)
    assert steady["environments"] == 2 and steady["cold_starts"] == 2
    assert steady["init_ms"]["max"] == 1622.08 and steady["max_memory_used_mb"] == 181
    assert steady["billed_ms_mean"] == 302.0  # 3,322 ms billed over 11 (two cold: 1,585 and 1,664)
    # The cost per million uses what AWS bills (init included for an image), not the client's view.
    prices = load_prices()
    client_view = {"throughput_rps": 50.0, "latency_ms": {"mean": 20.0}}
    costs = cost_rows("lambda", "x86_64", prices, client_view, billing)
    assert costs["per_million_basis"] == BILLED
    assert costs["per_million_requests_usd"] == 5.23  # $0.20 + 302 ms x 1 GB x $0.0000166667 per GB-s, x 1M
    assert (
        costs["per_million_requests_usd"]
        > cost_rows("lambda", "x86_64", prices, client_view)["per_million_requests_usd"]
    )


# ---------------------------------------------------------------- SnapStart's REPORT and INIT_REPORT lines
def snapstart_lines() -> dict[str, str]:
    lines: dict[str, str] = json.loads((RECORDED / "lambda" / "snapstart-log-lines.json").read_text())
    return lines


def test_a_restore_report_gives_restore_and_billed_restore_durations() -> None:
    report = parse_report(snapstart_lines()["restore_report"])
    assert report == {
        "duration_ms": 306.34,
        "billed_ms": 610.0,
        "memory_mb": 3009.0,
        "max_memory_used_mb": 155.0,
        "restore_ms": 511.25,
        "billed_restore_ms": 303.0,
    }
    # Billed Duration already holds the billed restore: 306.34 + 303 rounds up to 610.
    assert report["billed_ms"] == math.ceil(report["duration_ms"] + report["billed_restore_ms"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("init_report", {"init_ms": 1670.77, "init_report": 1.0}),
        ("init_report_error", {"init_ms": 1670.77, "init_report": 1.0, "init_failed": 1.0}),
        ("init_report_timeout", {"init_ms": 10007.33, "init_report": 1.0, "init_failed": 1.0}),
    ],
)
def test_an_init_report_line_gives_the_init_and_whether_it_failed(
    line: str, expected: dict[str, float]
) -> None:
    assert parse_report(snapstart_lines()[line]) == expected


def test_a_snapstart_window_counts_restores_beside_inits() -> None:
    lines = snapstart_lines()
    names = ["init_report", "restore_report", "restore_report_2", "warm_report", "warm_report"]
    reports = [{**(parse_report(lines[n]) or {}), "stream": f"s{i % 2}", "t": i} for i, n in enumerate(names)]

    summary = summarize_reports(reports, expected=4)

    assert (summary["invocations"], summary["init_reports"], summary["failed_inits"]) == (4, 1, 0)
    assert summary["cold_starts"] == 0  # no REPORT line carries an Init Duration under SnapStart
    assert summary["init_ms"]["p50"] == 1670.77  # the INIT_REPORT's, beside the restores
    assert summary["restores"] == 2
    assert (summary["restore_ms"]["mean"], summary["restore_ms"]["max"]) == (455.11, 511.25)
    assert summary["billed_restore_ms_total"] == 485.0
    assert summary["billed_ms_total"] == 610 + 2521 + 13 + 13


def test_snapstart_s_init_is_read_from_the_version_s_publication_on(aws: None) -> None:
    """SnapStart runs init when it publishes a version: the INIT_REPORT lines from then to the run."""
    lines, logs = snapstart_lines(), boto3.client("logs", region_name=REGION)
    origin = int(time.time() * 1000) - 60_000  # CloudWatch refuses events much older than this
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    events = [(1_000, "init_report"), (2_000, "restore_report"), (3_000, "init_report_timeout")]
    logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": origin + t, "message": lines[name]} for t, name in events],
    )

    init = snapshot_init(logs, "g", origin + 500, origin + 4_000)

    assert (init["init_reports"], init["failed_inits"]) == (2, 1)
    assert init["init_ms"]["max"] == 10007.33


def test_the_alias_s_version_tells_when_snapstart_ran_init() -> None:
    lambda_client = boto3.client("lambda", region_name=REGION)
    stubber = Stubber(lambda_client)
    stubber.add_response("get_alias", {"FunctionVersion": "7"}, {"FunctionName": "fn", "Name": "live"})
    stubber.add_response(
        "get_function_configuration",
        {"LastModified": "2026-12-04T10:00:00.250+0000"},
        {"FunctionName": "fn", "Qualifier": "7"},
    )
    with stubber:
        published = published_at_ms(lambda_client, "fn", "live")
    assert published == 1_796_378_400_250


def test_report_lines_that_arrive_late_are_waited_for(aws: None, tmp_path: Path) -> None:
    origin = time.time() - 60
    logs = boto3.client("logs", region_name=REGION)
    recorded = json.loads((RECORDED / "lambda" / "report-log-events.json").read_text())
    logs.create_log_group(logGroupName=recorded["log_group"])
    write_samples(tmp_path / "lambda" / "cold", origin, [200] * 11)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # CloudWatch delivers the lines while we wait
        waits.append(seconds)
        for stream in sorted({e["stream"] for e in recorded["events"]}):
            logs.create_log_stream(logGroupName=recorded["log_group"], logStreamName=stream)
            logs.put_log_events(
                logGroupName=recorded["log_group"],
                logStreamName=stream,
                logEvents=[
                    {"timestamp": int(origin * 1000) + e["offset_ms"], "message": e["message"]}
                    for e in recorded["events"]
                    if e["stream"] == stream
                ],
            )

    billing = billed_scenarios(
        logs, recorded["log_group"], tmp_path / "lambda", ["cold"], wait_seconds=60, sleep=sleep
    )
    assert len(waits) == 1 and billing["cold"]["invocations"] == 11 and billing["cold"]["cold_starts"] == 2


def test_every_page_of_report_lines_is_read() -> None:
    logs = boto3.client("logs", region_name=REGION)
    line = (
        "REPORT RequestId: r{n}\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 1024 MB\t"
        "Max Memory Used: 170 MB\t"
    )
    stubber = Stubber(logs)
    expected = {"logGroupName": "g", "startTime": 0, "endTime": 10, "filterPattern": REPORT_FILTER}
    stubber.add_response(
        "filter_log_events",
        {"events": [{"logStreamName": "a", "timestamp": 1, "message": line.format(n=1)}], "nextToken": "t"},
        expected,
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [{"logStreamName": "b", "timestamp": 2, "message": line.format(n=2)}]},
        {**expected, "nextToken": "t"},
    )
    with stubber:
        reports = read_reports(logs, "g", 0, 10)
    assert [r["stream"] for r in reports] == ["a", "b"] and all(r["billed_ms"] == 5 for r in reports)


# ---------------------------------------------------------------- the whole `make loadtest` path
@pytest.mark.load
def test_the_aws_run_discovers_forces_measures_and_reports(aws: None, tmp_path: Path) -> None:
    """`python -m loadtests.aws` end to end, with moto standing in for AWS and the app on 127.0.0.1
    standing in for the load balancer: discovery, the ASG 0 -> 1 cold start, the three Locust
    scenarios (the step with the group's instances in service read as it runs)."""
    port = free_port()
    app = ManagedProcess(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", LOOPBACK, "--port", str(port)],
        tmp_path / "app.log",
    )
    with app:
        wait_for_first_success(LOOPBACK, port, time.monotonic(), alive=app)
        asg(boto3.client("autoscaling", region_name=REGION), boto3.client("ec2", region_name=REGION))
        outputs = contracted_outputs(
            "ec2", EndpointUrl=f"http://{LOOPBACK}:{port}", AutoScalingGroupName="asg"
        )
        stack_with_outputs(boto3.client("cloudformation", region_name=REGION), STACK_NAMES["ec2"], outputs)
        # The instance's log group, where the agent ships nothing here: the log bytes stay unmeasured.
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=outputs["LogGroupName"])

        small = ["--users", "2", "--ramp", "1", "--hold", "3", "--burst-users", "2", "--burst-seconds", "2"]
        small += ["--step-users", "1", "--baseline", "2", "--step-seconds", "3", "--after", "1"]
        small += ["--logs-wait", "0"]
        report = aws_main(
            ["--targets", "ec2", "--region", REGION, "--out", str(tmp_path), "--run-id", "moto", *small]
        )

    data = json.loads((report.parent / "report.json").read_text())
    target = data["targets"]["ec2"]
    assert data["source"] == "AWS" and list(data["targets"]) == ["ec2"]
    assert target["cold_start"]["seconds_to_first_success"] >= 0
    assert target["cold"]["requests"] > 0 and target["steady"]["requests"] > 0
    assert target["steady"]["errors"] == 0
    start = target["fairness"]["start"]  # the ALB's health checks, apart from the app's own start
    assert start["health_check_delay_seconds"] == 20 and "ALB" in start["health_check"]
    assert target["fairness"]["transport"].startswith("plain HTTP")
    # The step: its capacity read from the Auto Scaling group while it ran, its activities listed.
    step = target["step"]
    assert step["step"]["requests"] > step["baseline"]["requests"] > 0
    assert step["capacity"]["unit"] == "EC2 instances" and "InService" in step["capacity"]["source"]
    assert {n for _, n in step["capacity"]["points"]} == {1}  # moto's group: one instance, in service
    assert isinstance(step["capacity_events"], list) and step["cost"]["usd"] > 0
    assert "## Under a traffic step" in report.read_text()
    assert target["log_volume"] is None and "log_bytes_per_request" not in target["costs"]


def environment_caller() -> Identity:
    """The caller the fake credentials in the environment sign as, for the local Function URL to admit."""
    return Identity(
        os.environ["AWS_ACCESS_KEY_ID"],
        os.environ["AWS_SECRET_ACCESS_KEY"],
        DEFAULT_ACCOUNT_ID,
        f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/tester",
        "AIDATESTER",
        os.environ["AWS_SESSION_TOKEN"],
    )


def function_with_reserved_concurrency(name: str, reserved: int) -> None:
    """The function in moto (which cannot run it), with the reserved concurrency make compare checks."""
    role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name=REGION)
    image = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/one-model:lambda"
    client.create_function(FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": image})
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)


@pytest.mark.load
def test_the_aws_run_signs_lambda_requests_with_the_caller_s_credentials_and_prices_arm64(
    aws: None, tmp_path: Path
) -> None:
    """A Function URL with auth AWS_IAM (its stack output says so), deployed for arm64: the orchestrator's
    probes and every Locust request are SigV4-signed with the caller's credentials (here moto's fake
    ones, which the local Function URL checks), the signing cost lands in the report, the costs are
    priced for arm64, and the REPORT lines are read from the function's log group."""
    caller = environment_caller()
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/aws/lambda/fn")
    with serve_function_url("AWS_IAM", (caller,), REGION) as (url, function):
        outputs = contracted_outputs(
            "lambda",
            EndpointUrl=url,
            Architecture="arm64",
            FunctionUrlAuthType="AWS_IAM",
            LogGroupName="/aws/lambda/fn",
        )
        stack_with_outputs(boto3.client("cloudformation", region_name=REGION), STACK_NAMES["lambda"], outputs)
        # The preflight reads it: 1 environment at once, so the 2 users are capped to 1, and said so.
        function_with_reserved_concurrency(outputs["FunctionName"], 1)
        small = ["--users", "2", "--ramp", "1", "--hold", "2", "--logs-wait", "0"]
        report = aws_main(
            [
                "--targets",
                "lambda",
                "--scenarios",
                "steady",
                "--region",
                REGION,
                "--out",
                str(tmp_path),
                *small,
            ]
        )

    target = json.loads((report.parent / "report.json").read_text())["targets"]["lambda"]
    steady = target["steady"]
    assert steady["requests"] > 0 and steady["errors"] == 0
    assert steady["signing_ms"]["requests"] == steady["requests"] and steady["signing_ms"]["mean"] > 0
    assert [e["rawPath"] for e in function.events[:2]] == ["/health", "/ready"]
    assert {e["requestContext"]["authorizer"]["iam"]["accessKey"] for e in function.events} == {
        caller.access_key_id
    }
    assert target["architecture"] == target["costs"]["architecture"] == "arm64"
    # arm64's $0.0000133334 per GB-second (x86_64's is $0.0000166667), 1 GB, at the measured mean.
    arm = round(0.20 + steady["latency_ms"]["mean"] / 1000 * 0.0000133334 * 1e6, 2)
    assert target["costs"]["per_million_requests_usd"] == arm
    assert target["billing"]["steady"]["invocations"] == 0  # nothing wrote REPORT lines here
    assert (
        "the function's reserved concurrency (1)" in target["how"]
        and "Lambda runs with 1 / 1" in target["how"]
    )
    text = report.read_text()
    assert "Client-side SigV4 signing" in text and "ms mean" in text and "HTTPS" in text
