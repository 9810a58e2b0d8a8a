"""Each stack's essentials, asserted on the session synth (and one of the context's other branch), plus
context parsing."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from infra.common import names, sizing
from infra.common.context import CONTEXT_DEFAULTS, read_settings
from infra.common.paths import REPO_ROOT
from infra.ec2.bundle import WHEELS_DIR
from infra.ec2.stack import DEBIAN_AMI_PARAMETER, USER_DATA_SCRIPT, user_data_exports
from infra.ecs.stack import EcsStack
from serving.config import Settings as ServerSettings
from serving.config import workers_for

if TYPE_CHECKING:
    from tests.infra.cdk_fixtures import Synthesis

pytest_plugins = ("tests.infra.cdk_fixtures",)


def _resources(synth: Synthesis, way: names.Way, cfn_type: str) -> list[dict[str, Any]]:
    resources = synth.templates[way]["Resources"].values()
    return [resource["Properties"] for resource in resources if resource["Type"] == cfn_type]


def _only(synth: Synthesis, way: names.Way, cfn_type: str) -> dict[str, Any]:
    (properties,) = _resources(synth, way, cfn_type)
    return properties


def _literal_text(value: Any) -> str:
    """An Fn::Join / Fn::Base64 expression as text: Ref X becomes 'Ref(X)', Fn::GetAtt X.Y
    'GetAtt(X.Y)', Fn::Sub its template, any other token '<ref>'."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Base64" in value:
        return _literal_text(value["Fn::Base64"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_literal_text(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"Ref({value['Ref']})"
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])  # its ${...} placeholders left as they are
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"GetAtt({'.'.join(value['Fn::GetAtt'])})"
    return "<ref>"


def _logical_id(synth: Synthesis, way: names.Way, cfn_type: str) -> str:
    (logical_id,) = (key for key, res in synth.templates[way]["Resources"].items() if res["Type"] == cfn_type)
    return logical_id


def _user_data(synth: Synthesis) -> str:
    return _literal_text(_only(synth, "ec2", "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]["UserData"])


def _user_data_params(synth: Synthesis) -> dict[str, str]:
    """The ``export KEY=value`` lines the stack puts in front of user_data.sh, values unquoted."""
    exports = (line for line in _user_data(synth).splitlines() if line.startswith("export "))
    return dict(shlex.split(line)[1].split("=", 1) for line in exports)


def _bundle(synth: Synthesis) -> tuple[Path, str]:
    """The staged EC2 bundle (the file asset whose folder holds serving/app.py) and its object key."""
    (bundle,) = (
        asset
        for asset in synth.assets("ec2")["files"].values()
        if (synth.outdir / asset["source"]["path"] / "serving" / "app.py").is_file()
    )
    object_key = next(iter(bundle["destinations"].values()))["objectKey"]
    return synth.outdir / bundle["source"]["path"], object_key


def _image_asset(synth: Synthesis, way: names.Way) -> dict[str, Any]:
    (image,) = synth.assets(way)["dockerImages"].values()
    source: dict[str, Any] = image["source"]
    return source


# ---------------------------------------------------------------- all three
@pytest.mark.parametrize("way", names.WAYS)
def test_outputs_follow_the_shared_naming_scheme(synth: Synthesis, way: names.Way) -> None:
    outputs = synth.templates[way]["Outputs"]
    assert set(outputs) == set(names.OUTPUTS_BY_WAY[way])
    assert outputs[names.OUTPUT_WAY]["Value"] == way
    # `make compare` prices the architecture this output names.
    assert outputs[names.OUTPUT_ARCHITECTURE]["Value"] == synth.context["architecture"] == "x86_64"
    # Every way names the log group its app writes to, and it is the stack's only one.
    assert outputs[names.OUTPUT_LOG_GROUP_NAME]["Value"] == {
        "Ref": _logical_id(synth, way, "AWS::Logs::LogGroup")
    }


def test_synth_needed_no_aws_lookups(synth: Synthesis) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert "missing" not in manifest  # context the CLI would have to look up in an AWS account
    for way in names.WAYS:
        assert (
            manifest["artifacts"][names.STACK_NAMES[way]]["environment"]
            == "aws://unknown-account/unknown-region"
        )


@pytest.mark.parametrize("way", names.WAYS)
def test_stacks_are_tagged_and_create_no_nat_gateway(synth: Synthesis, way: names.Way) -> None:
    synth.template(way).resource_count_is("AWS::EC2::NatGateway", 0)
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    stack_artifact = manifest["artifacts"][names.STACK_NAMES[way]]
    assert stack_artifact["properties"]["tags"] == {"Project": names.PROJECT_TAG, "Way": way}


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_alb_admits_only_the_allowed_cidr_on_port_80(synth: Synthesis, way: names.Way) -> None:
    # The load balancer's own security group, found through the load balancer rather than by its text.
    (alb,) = _resources(synth, way, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    ((alb_group_id, _),) = (group["Fn::GetAtt"] for group in alb["SecurityGroups"])
    alb_group = synth.templates[way]["Resources"][alb_group_id]["Properties"]
    ingress = [
        {k: v for k, v in rule.items() if k != "Description"} for rule in alb_group["SecurityGroupIngress"]
    ]
    assert ingress == [
        {"CidrIp": synth.context["allowedIngressCidr"], "FromPort": 80, "ToPort": 80, "IpProtocol": "tcp"}
    ]
    # No other group admits an address range: the instances or tasks admit the ALB's group, on the app port.
    groups = _resources(synth, way, "AWS::EC2::SecurityGroup")
    assert [group for group in groups if "SecurityGroupIngress" in group] == [alb_group]
    ingress = _resources(synth, way, "AWS::EC2::SecurityGroupIngress")
    assert ingress and all("SourceSecurityGroupId" in rule and "CidrIp" not in rule for rule in ingress)
    assert {rule["FromPort"] for rule in ingress} == {sizing.APP_PORT}


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_alb_idle_timeout_is_explicit_and_shorter_than_the_server_keep_alive(
    synth: Synthesis, way: names.Way
) -> None:
    (alb,) = _resources(synth, way, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {item["Key"]: item["Value"] for item in alb["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == str(sizing.ALB_IDLE_TIMEOUT_SECONDS)


def test_server_keep_alive_outlasts_the_alb_idle_timeout() -> None:
    # Reordered, the ALB would reuse a connection the server is closing: a 502 for the client.
    assert ServerSettings().keep_alive_seconds > sizing.ALB_IDLE_TIMEOUT_SECONDS


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_target_group_checks_ready_on_the_app_port(synth: Synthesis, way: names.Way) -> None:
    synth.template(way).has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": sizing.READY_PATH,
            "Matcher": {"HttpCode": "200"},
            "Port": Match.any_value(),
            # The report's start-time split (the app's start + interval x threshold) assumes these.
            "HealthCheckIntervalSeconds": sizing.ALB_HEALTH_CHECK_INTERVAL_SECONDS,
            "HealthyThresholdCount": sizing.ALB_HEALTHY_THRESHOLD_COUNT,
        },
    )


# ---------------------------------------------------------------- ec2
def test_ec2_launch_template_is_locked_down(synth: Synthesis) -> None:
    data = _only(synth, "ec2", "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in data
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True
    assert data["InstanceType"] == sizing.EC2_INSTANCE_TYPE["x86_64"]
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True


def test_ec2_uses_debian_12_from_the_public_ssm_parameter(synth: Synthesis) -> None:
    synth.template("ec2").has_parameter(
        "*",
        {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": DEBIAN_AMI_PARAMETER.format(arch="amd64"),
        },
    )


def test_ec2_user_data_is_the_real_script_with_its_parameters(synth: Synthesis) -> None:
    user_data = _user_data(synth)
    script = USER_DATA_SCRIPT.read_text()
    # Every line of the script is there, after the exports the stack fills in.
    assert user_data.startswith(script.partition("\n")[0] + "\n")
    assert user_data.endswith(script.partition("\n")[2])
    assert len(user_data.encode()) < 16 * 1024  # EC2's limit on user data before base64


def test_ec2_user_data_names_the_bundle_log_group_and_the_resource_to_signal(synth: Synthesis) -> None:
    params = _user_data_params(synth)
    assert set(params) == {
        "BUNDLE_URI",
        "APP_PORT",
        "AWS_DEFAULT_REGION",
        "LOG_GROUP_NAME",
        "CFN_STACK_NAME",
        "CFN_RESOURCE_ID",
    }
    _, object_key = _bundle(synth)
    assert params["BUNDLE_URI"].startswith("s3://") and params["BUNDLE_URI"].endswith(f"/{object_key}")
    assert params["APP_PORT"] == str(sizing.APP_PORT)
    assert params["AWS_DEFAULT_REGION"] == "Ref(AWS::Region)"
    assert params["LOG_GROUP_NAME"] == f"Ref({_logical_id(synth, 'ec2', 'AWS::Logs::LogGroup')})"
    # What `aws cloudformation signal-resource` needs: this stack and the group that waits.
    assert params["CFN_STACK_NAME"] == "Ref(AWS::StackName)"
    assert params["CFN_RESOURCE_ID"] == _logical_id(synth, "ec2", "AWS::AutoScaling::AutoScalingGroup")


def test_user_data_exports_quote_their_values() -> None:
    exports = user_data_exports({"A": "x y", "B": "s3://b/k.zip"})
    assert exports.splitlines() == [
        "# ---- filled in by infra/ec2/stack.py",
        "export A='x y'",
        "export B=s3://b/k.zip",
        "# ----",
    ]


def test_ec2_bundle_carries_wheels_for_the_deployed_architecture(synth: Synthesis) -> None:
    wheels = [path.name for path in (_bundle(synth)[0] / WHEELS_DIR).glob("*.whl")]
    assert any(name.endswith("_x86_64.whl") for name in wheels)  # onnxruntime, numpy ...
    assert not any("aarch64" in name for name in wheels)


def test_ec2_asg_replaces_instances_the_alb_finds_unhealthy(synth: Synthesis) -> None:
    asg = _only(synth, "ec2", "AWS::AutoScaling::AutoScalingGroup")
    assert asg["MinSize"] == str(sizing.EC2_MIN_INSTANCES)
    assert asg["HealthCheckType"] == "ELB"
    assert asg["TargetGroupARNs"]


def test_ec2_asg_creates_and_rolls_only_on_boot_signals(synth: Synthesis) -> None:
    (asg,) = synth.template("ec2").find_resources("AWS::AutoScaling::AutoScalingGroup").values()
    timeout = f"PT{sizing.EC2_BOOT_SIGNAL_TIMEOUT_MINUTES}M"
    # Creation completes only once min_capacity instances signalled SUCCESS.
    assert asg["CreationPolicy"] == {
        "ResourceSignal": {"Count": sizing.EC2_MIN_INSTANCES, "Timeout": timeout}
    }
    # An update rolls one instance at a time and waits for each new one's signal: a FAILURE or no
    # signal in time fails the update, which CloudFormation rolls back. No fixed pause instead.
    rolling = asg["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["PauseTime"] == timeout
    assert rolling["MinInstancesInService"] == sizing.EC2_MIN_INSTANCES
    assert rolling.get("MinSuccessfulInstancesPercent", 100) == 100  # CloudFormation's default: every one


def test_ec2_role_has_session_manager_and_one_resource_per_boot_call(synth: Synthesis) -> None:
    roles = _resources(synth, "ec2", "AWS::IAM::Role")
    (role,) = (role for role in roles if "ec2.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"]))
    assert "AmazonSSMManagedInstanceCore" in json.dumps(role["ManagedPolicyArns"])
    (policy,) = _resources(synth, "ec2", "AWS::IAM::Policy")
    statements = policy["PolicyDocument"]["Statement"]
    assert all(statement["Effect"] == "Allow" and "Condition" not in statement for statement in statements)
    granted = {
        tuple(
            sorted([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        ): (statement["Resource"])
        for statement in statements
    }
    assert set(granted) == {
        ("s3:GetObject",),
        ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
        ("cloudformation:SignalResource",),
    }
    # The bundle: one object, the bundle's key in the asset bucket, with no wildcard anywhere in the ARN.
    bundle_arn = _literal_text(granted[("s3:GetObject",)])
    assert bundle_arn.endswith(f"/{_bundle(synth)[1]}") and "*" not in bundle_arn
    # The logs: the stack's own log group (its ARN covers its streams), not logs in general.
    log_group = _logical_id(synth, "ec2", "AWS::Logs::LogGroup")
    assert granted[("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")] == {
        "Fn::GetAtt": [log_group, "Arn"]
    }
    # The signal: this stack's own ARN (AWS::StackId), so no other stack's resources.
    assert granted[("cloudformation:SignalResource",)] == {"Ref": "AWS::StackId"}


# ---------------------------------------------------------------- ecs
def test_ecs_task_is_sized_read_only_and_logged(synth: Synthesis) -> None:
    task = _only(synth, "ecs", "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == (str(sizing.FARGATE_CPU_UNITS), str(sizing.FARGATE_MEMORY_MIB))
    assert task["RuntimePlatform"]["CpuArchitecture"] == "X86_64"
    (container,) = task["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["PortMappings"][0]["ContainerPort"] == sizing.APP_PORT


def test_ecs_task_runs_one_worker_per_vcpu_of_its_size(synth: Synthesis) -> None:
    (container,) = _only(synth, "ecs", "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    # The app cannot count a Fargate task's share of the host's CPUs, so the stack states it: the
    # same rule (serving.config.workers_for) as every local run and the server's own default.
    assert container["Environment"] == [
        {"Name": "APP_WORKERS", "Value": str(workers_for(sizing.fargate_vcpus()))}
    ]


def test_ecs_task_of_1536_units_runs_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1.5 vCPUs: a floor division would give 1 worker, while the local emulation (--cpus 1.5) runs 2.
    # Not a Fargate size, so this app leaves out cdk.json's flag that validates the size against AWS's.
    monkeypatch.setattr(sizing, "FARGATE_CPU_UNITS", 1536)
    app = cdk.App()
    template = Template.from_stack(EcsStack(app, "Ecs", settings=read_settings(app)))
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "1536",
            "ContainerDefinitions": [
                Match.object_like({"Environment": [{"Name": "APP_WORKERS", "Value": "2"}]})
            ],
        },
    )


def test_ecs_stop_timeout_is_explicit_and_outlasts_the_graceful_shutdown(synth: Synthesis) -> None:
    (container,) = _only(synth, "ecs", "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert container["StopTimeout"] == sizing.ECS_STOP_TIMEOUT_SECONDS
    # SIGTERM, then SIGKILL after StopTimeout: in-flight requests must finish before the kill.
    assert ServerSettings().graceful_shutdown_seconds < sizing.ECS_STOP_TIMEOUT_SECONDS


def test_ecs_service_rolls_back_failed_deployments(synth: Synthesis) -> None:
    service = _only(synth, "ecs", "AWS::ECS::Service")
    breaker = service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"


def test_ecs_service_tracks_cpu(synth: Synthesis) -> None:
    target = _only(synth, "ecs", "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        sizing.FARGATE_MIN_TASKS,
        sizing.FARGATE_MAX_TASKS,
    )
    policy = _only(synth, "ecs", "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == sizing.TARGET_CPU_PERCENT
    assert (
        config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    )


@pytest.mark.parametrize("way", names.WAYS)
def test_logs_go_to_the_stacks_own_group_and_expire(synth: Synthesis, way: names.Way) -> None:
    (log_group,) = synth.template(way).find_resources("AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 7  # the same on every way
    assert log_group["DeletionPolicy"] == "Delete"  # `cdk destroy` takes the logs with the stack


@pytest.mark.parametrize(("way", "target"), [("ecs", "ecs"), ("lambda", "lambda")])
def test_image_asset_builds_the_right_target_for_the_right_platform(
    synth: Synthesis, way: names.Way, target: str
) -> None:
    source = _image_asset(synth, way)
    assert source["dockerBuildTarget"] == target
    assert source["platform"] == "linux/amd64"
    # No build arguments: the Dockerfile's own BASE_IMAGE default is what AWS runs.
    assert "dockerBuildArgs" not in source
    # Synth staged the build context without building it: the Dockerfile and the model are there,
    # the virtualenv is not.
    staged = synth.outdir / source["directory"]
    assert (staged / "Dockerfile").is_file() and (staged / "model" / "artifacts" / "model.onnx").is_file()
    assert not (staged / ".venv").exists()


# ---------------------------------------------------------------- lambda
def test_lambda_function_is_an_image_with_explicit_size_and_no_reservation(synth: Synthesis) -> None:
    function = _only(synth, "lambda", "AWS::Lambda::Function")
    assert function["PackageType"] == "Image"
    assert function["Architectures"] == ["x86_64"]
    assert (function["MemorySize"], function["Timeout"]) == (
        sizing.LAMBDA_MEMORY_MB,
        sizing.LAMBDA_TIMEOUT_SECONDS,
    )
    # The default deploys on any account: nothing reserved out of a concurrency quota that may be 10.
    assert synth.context["lambdaReservedConcurrency"] == "none"
    assert "ReservedConcurrentExecutions" not in function
    assert "LogGroup" in function["LoggingConfig"]


def test_lambda_url_takes_only_signed_requests_by_default(synth: Synthesis) -> None:
    template = synth.template("lambda")
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM"})
    # No resource policy: only the account's own principals, through their IAM policies, get in.
    template.resource_count_is("AWS::Lambda::Permission", 0)
    # The load tests read this to know that they must sign.
    outputs = synth.templates["lambda"]["Outputs"]
    assert outputs[names.OUTPUT_FUNCTION_URL_AUTH]["Value"] == "AWS_IAM"
    # The endpoint is the Function URL itself (its trailing "/" is discovery's to strip).
    url = _logical_id(synth, "lambda", "AWS::Lambda::Url")
    assert outputs[names.OUTPUT_ENDPOINT_URL]["Value"] == {"Fn::GetAtt": [url, "FunctionUrl"]}


def test_on_demand_by_default_serves_latest_with_no_version_or_alias(synth: Synthesis) -> None:
    template = synth.template("lambda")
    template.resource_count_is("AWS::Lambda::Version", 0)
    template.resource_count_is("AWS::Lambda::Alias", 0)
    assert "SnapStart" not in _only(synth, "lambda", "AWS::Lambda::Function")
    assert "Qualifier" not in _only(synth, "lambda", "AWS::Lambda::Url")
    outputs = synth.templates["lambda"]["Outputs"]
    assert outputs[names.OUTPUT_COLD_START]["Value"] == synth.context["lambdaColdStart"] == "on-demand"
    assert names.OUTPUT_ALIAS_NAME not in outputs


# ---------------------------------------------------------------- lambda cold-start modes (a synth each)
def test_each_cold_start_mode_serves_a_published_version_through_an_alias(
    synth_cold_start: Synthesis,
) -> None:
    mode = synth_cold_start.context["lambdaColdStart"]
    resources = synth_cold_start.templates["lambda"]["Resources"]
    (version_id,) = (key for key, res in resources.items() if res["Type"] == "AWS::Lambda::Version")
    # A replaced version is deleted with its SnapStart cache, not kept (and billed) forever.
    assert resources[version_id]["DeletionPolicy"] == "Delete"
    alias = _only(synth_cold_start, "lambda", "AWS::Lambda::Alias")
    assert alias["Name"] == "live"
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # The URL serves the alias, never $LATEST: SnapStart and provisioned environments exist only there.
    assert _only(synth_cold_start, "lambda", "AWS::Lambda::Url")["Qualifier"] == "live"
    outputs = synth_cold_start.templates["lambda"]["Outputs"]
    assert set(outputs) >= set(names.OUTPUTS_BY_WAY["lambda"]) | {names.OUTPUT_ALIAS_NAME}
    assert outputs[names.OUTPUT_COLD_START]["Value"] == mode
    assert outputs[names.OUTPUT_ALIAS_NAME]["Value"] == "live"


def test_snapstart_and_provisioned_concurrency_each_in_its_own_mode(synth_cold_start: Synthesis) -> None:
    mode = synth_cold_start.context["lambdaColdStart"]
    function = _only(synth_cold_start, "lambda", "AWS::Lambda::Function")
    alias = _only(synth_cold_start, "lambda", "AWS::Lambda::Alias")
    outputs = synth_cold_start.templates["lambda"]["Outputs"]
    # AWS refuses the two on one version: each mode sets exactly one.
    if mode == "snapstart":
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert "ProvisionedConcurrencyConfig" not in alias
        assert names.OUTPUT_PROVISIONED_CONCURRENCY not in outputs
    else:
        assert "SnapStart" not in function
        assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
        assert outputs[names.OUTPUT_PROVISIONED_CONCURRENCY]["Value"] == "2"
    # SnapStart's "publish a version" warning is answered by the alias; no other warning appears.
    assert _warnings(synth_cold_start) == []


# ---------------------------------------------------------------- the context's other branch (second synth)
def test_arm64_reaches_every_stack(synth_alternative: Synthesis) -> None:
    alt = synth_alternative
    assert alt.context["architecture"] == "arm64"
    for way in names.WAYS:
        assert alt.templates[way]["Outputs"][names.OUTPUT_ARCHITECTURE]["Value"] == "arm64"
    for way in ("ecs", "lambda"):
        assert _image_asset(alt, way)["platform"] == "linux/arm64"
    assert _only(alt, "lambda", "AWS::Lambda::Function")["Architectures"] == ["arm64"]
    task = _only(alt, "ecs", "AWS::ECS::TaskDefinition")
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    data = _only(alt, "ec2", "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["InstanceType"] == sizing.EC2_INSTANCE_TYPE["arm64"]
    alt.template("ec2").has_parameter("*", {"Default": DEBIAN_AMI_PARAMETER.format(arch="arm64")})
    # The EC2 bundle's wheels follow: an arm64 instance installs aarch64 wheels, no index needed.
    wheels = [path.name for path in (_bundle(alt)[0] / WHEELS_DIR).glob("*.whl")]
    assert any(name.endswith("_aarch64.whl") for name in wheels)
    assert not any("x86_64" in name for name in wheels)


def _warnings(synth: Synthesis) -> list[tuple[str, str]]:
    """(construct path, text) of each warning synth reported (in the validation report, per cdk.json)."""
    return [
        (construct["constructPath"], violation["description"])
        for plugin in synth.validation_report()["pluginReports"]
        if plugin["pluginName"] == "Construct Annotations"
        for violation in plugin["violations"]
        if violation["severity"] == "warning"
        for construct in violation["violatingConstructs"]
    ]


def test_function_url_auth_none_is_opt_in_public_and_warned(
    synth: Synthesis, synth_alternative: Synthesis
) -> None:
    alt = synth_alternative
    assert alt.context["functionUrlAuth"] == "NONE"
    template = alt.template("lambda")
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    # Anyone may invoke, but only through the URL: "*" gets no plain lambda:Invoke API access.
    permissions = _resources(alt, "lambda", "AWS::Lambda::Permission")
    assert {(item["Action"], item["Principal"]) for item in permissions} == {
        ("lambda:InvokeFunctionUrl", "*"),
        ("lambda:InvokeFunction", "*"),
    }
    for item in permissions:
        assert item.get("FunctionUrlAuthType") == "NONE" or item.get("InvokedViaFunctionUrl") is True
    assert alt.templates["lambda"]["Outputs"][names.OUTPUT_FUNCTION_URL_AUTH]["Value"] == "NONE"
    # A number in the context still reserves (and caps) environments.
    function = _only(alt, "lambda", "AWS::Lambda::Function")
    assert function["ReservedConcurrentExecutions"] == int(alt.context["lambdaReservedConcurrency"]) == 10
    # Synth says what NONE exposes, and it is the only warning; the default synth has none at all.
    ((path, text),) = _warnings(alt)
    assert path == f"{names.STACK_NAMES['lambda']}/Function/FunctionUrl"
    assert "anyone with the URL can invoke" in text
    assert _warnings(synth) == []


# ---------------------------------------------------------------- context parsing (no synth)
def test_cdk_json_repeats_the_code_defaults() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert {key: context[key] for key in CONTEXT_DEFAULTS} == CONTEXT_DEFAULTS


def test_the_dockerfile_is_the_one_home_of_the_public_base_image() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    (base_image,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    naming_it = [
        name
        for name in tracked
        if name
        and (REPO_ROOT / name).is_file()
        and base_image in (REPO_ROOT / name).read_text(errors="replace")
    ]
    assert naming_it == ["Dockerfile"]
    assert dockerfile.count(base_image) == 1


def test_the_makefile_takes_the_ways_and_stack_names_from_names_py() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert [name for name in names.STACK_NAMES.values() if name in makefile] == []
    # `make -n` prints the cdk commands without running them.
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", *(f"deploy-{way}" for way in names.WAYS)],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    deployed = [line.split()[-1] for line in dry_run.splitlines() if line.startswith("npx")]
    assert deployed == [names.STACK_NAMES[way] for way in names.WAYS]


def test_settings_default_to_closed_ingress_x86_signed_url_and_no_reservation() -> None:
    settings = read_settings(cdk.App())
    assert settings.allowed_ingress_cidr == "127.0.0.1/32"
    assert settings.architecture == "x86_64"
    assert settings.function_url_auth == "AWS_IAM"
    assert settings.lambda_reserved_concurrency is None
    assert settings.lambda_cold_start == "on-demand"


def test_arm64_switches_every_architecture_knob_together() -> None:
    settings = read_settings(cdk.App(context={"architecture": "arm64"}))
    assert settings.lambda_architecture.name == "arm64"
    assert settings.lambda_architecture.docker_platform == settings.image_platform.platform == "linux/arm64"
    assert sizing.EC2_INSTANCE_TYPE[settings.architecture] == "t4g.small"


def test_context_values_are_parsed() -> None:
    settings = read_settings(
        cdk.App(
            context={
                "allowedIngressCidr": "0.0.0.0/0",
                "functionUrlAuth": "none",
                "lambdaReservedConcurrency": "10",
                "lambdaColdStart": "SnapStart",
                "lambdaProvisionedConcurrency": "3",
            }
        )
    )
    assert settings.allowed_ingress_cidr == "0.0.0.0/0"
    assert settings.function_url_auth == "NONE"
    assert settings.lambda_reserved_concurrency == 10
    assert (settings.lambda_cold_start, settings.lambda_provisioned_concurrency) == ("snapstart", 3)


@pytest.mark.parametrize(
    "context",
    [
        {"allowedIngressCidr": "203.0.113.7"},  # accepted: a bare address is a /32
        {"allowedIngressCidr": "2001:db8::/64"},
    ],
)
def test_good_cidrs_are_accepted(context: dict[str, str]) -> None:
    assert read_settings(cdk.App(context=context)).allowed_ingress_cidr


@pytest.mark.parametrize(
    "context",
    [
        {"allowedIngressCidr": "203.0.113.7/24"},  # host bits set: a typo more often than intent
        {"allowedIngressCidr": "my-laptop"},
        {"architecture": "aarch64"},
        {"functionUrlAuth": "public"},
        {"lambdaReservedConcurrency": "0"},
        {"lambdaColdStart": "warm"},
        {"lambdaProvisionedConcurrency": "0"},
    ],
)
def test_bad_context_fails_synth_with_a_reason(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(context))):
        read_settings(cdk.App(context=context))
