"""docs/deploy.md's IAM policies cover what the tooling calls: the deploy preflight and `make compare`
run against moto (and a local Function URL), every boto3 call is recorded as its IAM action, and each
must be allowed by the documented policy. Nothing reaches AWS."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from infra.common import credentials
from infra.common.names import STACK_NAMES
from infra.common.paths import REPO_ROOT
from infra.local.function_url.sigv4 import Identity
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for_first_success
from loadtests.aws.__main__ import main as aws_main
from tests.loadtests.test_aws import REGION, asg, contracted_outputs, environment_caller, stack_with_outputs
from tests.loadtests.test_function_url import serve_function_url

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
# AWS's STS reference: "No permissions are required to perform this operation."
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


def documented_policy(name: str) -> dict[str, Any]:
    """The JSON block that follows ``<!-- policy: name -->`` in docs/deploy.md."""
    match = re.search(rf"<!-- policy: {name} -->\s*```json\n(.*?)```", DEPLOY_DOC.read_text(), re.DOTALL)
    assert match, f"docs/deploy.md has no '<!-- policy: {name} -->' JSON block"
    policy: dict[str, Any] = json.loads(match.group(1))
    return policy


def allowed_actions(policy: dict[str, Any]) -> list[str]:
    statements = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def not_allowed(called: set[str], policy: dict[str, Any]) -> set[str]:
    patterns = [pattern.lower() for pattern in allowed_actions(policy)]
    return {
        action
        for action in called - NEEDS_NO_PERMISSION
        if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in patterns)
    }


# Where a service signs under another name than its IAM actions' prefix.
IAM_PREFIXES = {"monitoring": "cloudwatch"}


@pytest.fixture
def called(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Every boto3 call from now on, as its IAM action (the service's signing name : operation)."""
    actions: set[str] = set()
    make_api_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private: not in the stubs)

    def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = client.meta.service_model.signing_name
        actions.add(f"{IAM_PREFIXES.get(service, service)}:{operation_name}")
        return make_api_call(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    yield actions


def lambda_function(name: str) -> None:
    """A function in moto (its configuration only: nothing invokes it)."""
    trust = {"Version": "2012-10-17", "Statement": []}
    role = boto3.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))
    boto3.client("lambda").create_function(
        FunctionName=name,
        PackageType="Image",
        Code={"ImageUri": f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/one-model:lambda"},
        Role=role["Role"]["Arn"],
    )


def test_the_deploy_preflight_calls_only_what_the_deploy_policy_allows(
    called: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        lambda_function("fn")
        stack_with_outputs(boto3.client("cloudformation"), STACK_NAMES["lambda"], {"FunctionName": "fn"})
        session = credentials.aws_session()
        # moto has no GetAccountSettings: the answer AWS documents, for an account with room to reserve.
        limits = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}}

        def account_settings(**_: Any) -> Any:  # a before-call answer replaces the request, as Stubber's do
            return AWSResponse("stand-in", 200, HTTPHeaders(), None), limits

        session.events.register("before-call.lambda.GetAccountSettings", account_settings)
        monkeypatch.setattr(credentials, "aws_session", lambda: session)
        called.clear()  # the set-up above is not the preflight's

        code = credentials.main(
            [
                "--lambda-reserved-concurrency",
                "10",
                "--allowed-cidr",
                "203.0.113.7/32",
                "--ecs-service-linked-role",
            ]
        )

    assert code == 0
    assert {
        "sts:GetCallerIdentity",
        "iam:CreateServiceLinkedRole",
        "lambda:GetAccountSettings",
        "cloudformation:DescribeStacks",
        "lambda:GetFunctionConcurrency",
    } <= called  # every check ran
    assert not_allowed(called, documented_policy("deploy")) == set()
    assert "sts:AssumeRole" in allowed_actions(documented_policy("deploy"))  # the CDK CLI's own


@pytest.mark.load
def test_make_compare_calls_only_what_the_compare_policy_allows(called: set[str], tmp_path: Path) -> None:
    """`python -m loadtests.aws` on the three ways, every scenario (cold changes capacity, step reads it):
    moto for the stacks, the group, the service, the function's configuration and its logs; the app
    on 127.0.0.1 as both ALBs; the local Function URL, checking SigV4, as the function's URL."""
    with mock_aws():  # moto's own fake credentials from here on: the caller signs with them
        signed, caller = run_compare_on_the_three_ways(called, tmp_path)

    # The Function URL checked SigV4 on every request: that is lambda:InvokeFunctionUrl (and, since
    # AWS's 2025 change, lambda:InvokeFunction) on the caller's side, not a boto3 call.
    assert signed == {caller.access_key_id}
    http_actions = {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert {
        "cloudformation:DescribeStacks",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:UpdateAutoScalingGroup",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "lambda:GetFunctionConfiguration",
        "lambda:UpdateFunctionConfiguration",
        "logs:FilterLogEvents",
        "lambda:GetFunctionConcurrency",
        "autoscaling:DescribeScalingActivities",
        "cloudwatch:GetMetricStatistics",
    } <= called  # every way was forced and read
    assert not_allowed(called | http_actions, documented_policy("compare")) == set()


def run_compare_on_the_three_ways(called: set[str], tmp_path: Path) -> tuple[set[str], Identity]:
    """Set the three ways up in moto and on 127.0.0.1, then run the tooling (recorded in ``called``);
    the access keys the Function URL saw signing, and the caller."""
    caller = environment_caller()
    port = free_port()
    app = ManagedProcess(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--host", LOOPBACK, "--port", str(port)],
        tmp_path / "app.log",
    )
    with app, serve_function_url("AWS_IAM", (caller,), REGION) as (function_url, function):
        wait_for_first_success(LOOPBACK, port, time.monotonic(), alive=app)
        alb = f"http://{LOOPBACK}:{port}"
        cloudformation = boto3.client("cloudformation")
        asg(boto3.client("autoscaling"), boto3.client("ec2"))
        stack_with_outputs(
            cloudformation,
            STACK_NAMES["ec2"],
            contracted_outputs("ec2", EndpointUrl=alb, AutoScalingGroupName="asg", LogGroupName="ec2-logs"),
        )
        ecs = boto3.client("ecs")
        ecs.create_cluster(clusterName="cluster")
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "app", "image": "x", "memory": 1024}]
        )
        ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition="app", desiredCount=1)
        outputs = contracted_outputs(
            "ecs", EndpointUrl=alb, ClusterName="cluster", ServiceName="svc", LogGroupName="ecs-logs"
        )
        stack_with_outputs(cloudformation, STACK_NAMES["ecs"], outputs)
        lambda_function("fn")
        boto3.client("lambda").put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=10)
        for group in ("ec2-logs", "ecs-logs", "/aws/lambda/fn"):
            boto3.client("logs").create_log_group(logGroupName=group)
        concurrency = {"MetricName": "ConcurrentExecutions", "Value": 1, "Timestamp": datetime.now(UTC)}
        boto3.client("cloudwatch").put_metric_data(  # what Lambda publishes, for the step to read
            Namespace="AWS/Lambda",
            MetricData=[{**concurrency, "Dimensions": [{"Name": "FunctionName", "Value": "fn"}]}],
        )
        outputs = contracted_outputs(
            "lambda",
            EndpointUrl=function_url,
            FunctionName="fn",
            FunctionUrlAuthType="AWS_IAM",
            LogGroupName="/aws/lambda/fn",
        )
        stack_with_outputs(cloudformation, STACK_NAMES["lambda"], outputs)
        called.clear()  # the set-up above is not the tooling's

        small = [
            "--users",
            "2",
            "--ramp",
            "1",
            "--burst-users",
            "2",
            "--burst-seconds",
            "2",
            "--hold",
            "1",
            "--logs-wait",
            "0",
            *(
                "--step-users",
                "1",
                "--step-factor",
                "2",
                "--baseline",
                "1",
                "--step-seconds",
                "2",
                "--after",
                "1",
            ),
        ]
        every_scenario = "cold,steady,step"
        aws_main(
            [
                "--scenarios",
                every_scenario,
                "--region",
                REGION,
                "--out",
                str(tmp_path),
                "--run-id",
                "iam",
                *small,
            ]
        )
        signed = {e["requestContext"]["authorizer"]["iam"]["accessKey"] for e in function.events}

    return signed, caller


def test_a_policy_missing_an_action_is_caught() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": ["ecs:Describe*"], "Resource": "*"}]}
    assert not_allowed({"ecs:DescribeServices", "ecs:UpdateService", "sts:GetCallerIdentity"}, policy) == {
        "ecs:UpdateService"
    }
