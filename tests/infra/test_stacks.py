"""Each stack's essentials, asserted on the one session synth (aws_cdk.assertions), plus context parsing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from infra.common import names, shared, sizing
from infra.ec2.stack import DEBIAN_AMI_PARAMETER, USER_DATA_SCRIPT, render_user_data

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
    """The literal parts of an Fn::Join / Fn::Base64 expression, concatenated (tokens become '<ref>')."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Base64" in value:
        return _literal_text(value["Fn::Base64"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_literal_text(part) for part in parts)
    return "<ref>"


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
    assert stack_artifact["properties"]["tags"] == {"Project": shared.PROJECT_TAG, "Way": way}


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_alb_admits_only_the_allowed_cidr_on_port_80(synth: Synthesis, way: names.Way) -> None:
    synth.template(way).has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": "ALB: HTTP from the allowed CIDR only",
            "SecurityGroupIngress": [
                {
                    "CidrIp": synth.context["allowedIngressCidr"],
                    "FromPort": 80,
                    "ToPort": 80,
                    "IpProtocol": "tcp",
                }
            ],
        },
    )
    for group in _resources(synth, way, "AWS::EC2::SecurityGroup"):
        for rule in group.get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_target_group_checks_ready_on_the_app_port(synth: Synthesis, way: names.Way) -> None:
    synth.template(way).has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": sizing.READY_PATH, "Matcher": {"HttpCode": "200"}, "Port": Match.any_value()},
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
    data = _only(synth, "ec2", "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    user_data = _literal_text(data["UserData"])
    script = USER_DATA_SCRIPT.read_text()
    # Every line of the script is there, after the exports the stack fills in.
    assert user_data.startswith(script.partition("\n")[0] + "\n")
    assert user_data.endswith(script.partition("\n")[2])
    assert "export BUNDLE_URI=" in user_data
    assert f"export APP_PORT={sizing.APP_PORT}" in user_data
    assert len(user_data.encode()) < 16 * 1024  # EC2's limit on user data before base64


def test_render_user_data_quotes_values_after_the_shebang() -> None:
    rendered = render_user_data("#!/bin/bash\necho hi\n", {"A": "x y", "B": "s3://b/k.zip"})
    assert rendered.splitlines() == [
        "#!/bin/bash",
        "# ---- filled in by infra/ec2/stack.py",
        "export A='x y'",
        "export B=s3://b/k.zip",
        "# ----",
        "echo hi",
    ]


def test_ec2_asg_replaces_instances_the_alb_finds_unhealthy(synth: Synthesis) -> None:
    asg = _only(synth, "ec2", "AWS::AutoScaling::AutoScalingGroup")
    assert asg["MinSize"] == str(sizing.EC2_MIN_INSTANCES)
    assert asg["HealthCheckType"] == "ELB"
    assert asg["TargetGroupARNs"]
    # A new bundle rolls the instances instead of leaving the old app running.
    synth.template("ec2").has_resource(
        "AWS::AutoScaling::AutoScalingGroup",
        {"UpdatePolicy": {"AutoScalingRollingUpdate": Match.object_like({"MinInstancesInService": 1})}},
    )


def test_ec2_role_has_session_manager_and_reads_only_its_bundle(synth: Synthesis) -> None:
    roles = _resources(synth, "ec2", "AWS::IAM::Role")
    (role,) = (role for role in roles if "ec2.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"]))
    assert "AmazonSSMManagedInstanceCore" in json.dumps(role["ManagedPolicyArns"])
    (policy,) = _resources(synth, "ec2", "AWS::IAM::Policy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    # One object: the bundle's key in the asset bucket, with no wildcard anywhere in the ARN.
    (bundle,) = (
        asset
        for asset in synth.assets("ec2")["files"].values()
        if (synth.outdir / asset["source"]["path"] / "serving" / "app.py").is_file()
    )
    object_key = next(iter(bundle["destinations"].values()))["objectKey"]
    resource = _literal_text(statement["Resource"])
    assert resource.endswith(f"/{object_key}") and "*" not in resource


def test_ec2_instances_admit_only_the_alb(synth: Synthesis) -> None:
    ingress = _resources(synth, "ec2", "AWS::EC2::SecurityGroupIngress")
    assert ingress and all("SourceSecurityGroupId" in rule and "CidrIp" not in rule for rule in ingress)
    assert {rule["FromPort"] for rule in ingress} == {sizing.APP_PORT}


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


@pytest.mark.parametrize("way", ["ecs", "lambda"])
def test_logs_expire(synth: Synthesis, way: names.Way) -> None:
    log_group = _only(synth, way, "AWS::Logs::LogGroup")
    assert log_group["RetentionInDays"] == 7


@pytest.mark.parametrize(("way", "target"), [("ecs", "ecs"), ("lambda", "lambda")])
def test_image_asset_builds_the_right_target_for_the_right_platform(
    synth: Synthesis, way: names.Way, target: str
) -> None:
    source = _image_asset(synth, way)
    assert source["dockerBuildTarget"] == target
    assert source["platform"] == "linux/amd64"
    assert source["dockerBuildArgs"] == {"BASE_IMAGE": synth.context["baseImage"]}
    # Synth staged the build context without building it: the Dockerfile and the model are there,
    # the virtualenv is not.
    staged = synth.outdir / source["directory"]
    assert (staged / "Dockerfile").is_file() and (staged / "model" / "artifacts" / "model.onnx").is_file()
    assert not (staged / ".venv").exists()


# ---------------------------------------------------------------- lambda
def test_lambda_function_is_an_image_with_explicit_size_and_cost_guard(synth: Synthesis) -> None:
    function = _only(synth, "lambda", "AWS::Lambda::Function")
    assert function["PackageType"] == "Image"
    assert function["Architectures"] == ["x86_64"]
    assert (function["MemorySize"], function["Timeout"]) == (
        sizing.LAMBDA_MEMORY_MB,
        sizing.LAMBDA_TIMEOUT_SECONDS,
    )
    assert function["ReservedConcurrentExecutions"] == int(synth.context["lambdaReservedConcurrency"])
    assert "LogGroup" in function["LoggingConfig"]


def test_lambda_url_is_public_by_design(synth: Synthesis) -> None:
    synth.template("lambda").has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})


# ---------------------------------------------------------------- context parsing (no synth)
def test_cdk_json_repeats_the_code_defaults() -> None:
    context = json.loads((shared.REPO_ROOT / "cdk.json").read_text())["context"]
    assert {key: context[key] for key in shared.CONTEXT_DEFAULTS} == shared.CONTEXT_DEFAULTS


def test_settings_default_to_closed_ingress_and_x86() -> None:
    settings = shared.read_settings(cdk.App())
    assert settings.allowed_ingress_cidr == "127.0.0.1/32" and not settings.ingress_is_world
    assert settings.architecture == "x86_64"
    assert settings.lambda_reserved_concurrency == 10


def test_arm64_switches_every_architecture_knob_together() -> None:
    settings = shared.read_settings(cdk.App(context={"architecture": "arm64"}))
    assert shared.lambda_architecture(settings).name == "arm64"
    assert shared.lambda_architecture(settings).docker_platform == shared.image_platform(settings).platform
    assert shared.image_platform(settings).platform == "linux/arm64"
    assert sizing.EC2_INSTANCE_TYPE[settings.architecture] == "t4g.small"


def test_context_values_are_parsed() -> None:
    settings = shared.read_settings(
        cdk.App(context={"allowedIngressCidr": "0.0.0.0/0", "lambdaReservedConcurrency": "none"})
    )
    assert settings.ingress_is_world
    assert settings.lambda_reserved_concurrency is None


@pytest.mark.parametrize(
    "context",
    [
        {"allowedIngressCidr": "203.0.113.7"},  # accepted: a bare address is a /32
        {"allowedIngressCidr": "2001:db8::/64"},
    ],
)
def test_good_cidrs_are_accepted(context: dict[str, str]) -> None:
    assert shared.read_settings(cdk.App(context=context)).allowed_ingress_cidr


@pytest.mark.parametrize(
    "context",
    [
        {"allowedIngressCidr": "203.0.113.7/24"},  # host bits set: a typo more often than intent
        {"allowedIngressCidr": "my-laptop"},
        {"architecture": "aarch64"},
        {"lambdaReservedConcurrency": "0"},
    ],
)
def test_bad_context_fails_synth_with_a_reason(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(context))):
        shared.read_settings(cdk.App(context=context))
