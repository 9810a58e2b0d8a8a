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
from aws_cdk import aws_elasticloadbalancingv2_targets as elbv2_targets
from aws_cdk.assertions import Match, Template
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from infra.app import cli_environment
from infra.common import names, sizing
from infra.common.app_image import image_health_check
from infra.common.context import CONTEXT_DEFAULTS, read_settings
from infra.common.load_balanced import LoadBalancedNetwork
from infra.common.nag import enable_nag
from infra.common.paths import REPO_ROOT
from infra.ec2 import ami
from infra.ec2.bundle import WHEELS_DIR
from infra.ec2.stack import DEBIAN_AMI_PARAMETER, DEBIAN_ARCH, USER_DATA_SCRIPT, Ec2Stack, user_data_exports
from infra.ecs.stack import EcsStack

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


@pytest.mark.parametrize("synthesis", ["synth", "synth_alternative"])
@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_destroy_leaves_no_custom_resource_or_log_group_behind(
    way: names.Way, synthesis: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesis = request.getfixturevalue(synthesis)
    resources = synth.templates[way]["Resources"].values()
    # No Custom::VpcRestrictDefaultSG: its provider function's log group outlived every destroy.
    assert not [r["Type"] for r in resources if r["Type"].startswith("Custom::")]
    assert not [r for r in resources if r["Type"] == "AWS::Lambda::Function"]
    # The one log group is the app's, deleted with the stack.
    log_groups = [r for r in resources if r["Type"] == "AWS::Logs::LogGroup"]
    assert [group["DeletionPolicy"] for group in log_groups] == ["Delete"]


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
def test_alb_idle_timeout_is_explicit(synth: Synthesis, way: names.Way) -> None:
    (alb,) = _resources(synth, way, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {item["Key"]: item["Value"] for item in alb["LoadBalancerAttributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == str(sizing.ALB_IDLE_TIMEOUT_SECONDS)


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
    # With no account and region (no credentials) nothing can be looked up: the parameter is read at
    # deploy time. A deploy always has both, and pins the AMI instead (the test below).
    synth.template("ec2").has_parameter(
        "*",
        {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": DEBIAN_AMI_PARAMETER.format(arch="amd64"),
        },
    )


# What a first synth with credentials looks up and the CDK CLI writes to cdk.context.json.
ACCOUNT, REGION = "123456789012", "eu-west-1"
PINNED_AMI = {"x86_64": "ami-0123456789abcdef0", "arm64": "ami-0fedcba9876543210"}


def _pinned_context(architecture: str) -> dict[str, Any]:
    parameter = DEBIAN_AMI_PARAMETER.format(arch=DEBIAN_ARCH[architecture])
    return {
        f"ssm:account={ACCOUNT}:parameterName={parameter}:region={REGION}": PINNED_AMI[architecture],
        f"availability-zones:account={ACCOUNT}:region={REGION}": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
    }


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_a_deploy_pins_the_ami_that_cdk_context_json_holds(architecture: str, tmp_path: Path) -> None:
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context = {**cdk_json, "architecture": architecture, **_pinned_context(architecture)}
    app = cdk.App(context=context, outdir=str(tmp_path / "cdk.out"))
    environment = cdk.Environment(account=ACCOUNT, region=REGION)
    stack = Ec2Stack(
        app,
        names.STACK_NAMES["ec2"],
        settings=read_settings(app),
        bundle_staging_dir=tmp_path / "bundle",
        env=environment,
    )
    enable_nag(app)  # an unacknowledged cdk-nag finding fails this synth
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    # W3010 (literal zones): with an account, the VPC's zones come from CDK's lookup, pinned with the AMI.
    ignored = ["W3005", "W3010"]  # W3005 as in test_cfn_lint
    findings = lint(json.dumps(template), config=ManualArgs(regions=[REGION], ignore_checks=ignored))

    (launch_template,) = (
        r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::LaunchTemplate"
    )
    assert launch_template["Properties"]["LaunchTemplateData"]["ImageId"] == PINNED_AMI[architecture]
    # Nothing read at deploy time: a new Debian release changes nothing until `make refresh-ami`.
    debian = DEBIAN_AMI_PARAMETER.partition("{")[0]
    assert debian not in json.dumps(template.get("Parameters", {}))
    assert "missing" not in manifest  # everything came from the context: no lookup, no AWS call
    assert [str(finding) for finding in findings] == []  # cfn-lint clean, as the env-agnostic templates


def test_the_cdk_cli_s_account_and_region_reach_the_ec2_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("CDK_DEFAULT_REGION", REGION)
    assert (cli_environment().account, cli_environment().region) == (ACCOUNT, REGION)
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT")
    monkeypatch.delenv("CDK_DEFAULT_REGION")
    assert (cli_environment().account, cli_environment().region) == (None, None)  # tests, offline synth


def test_refresh_ami_forgets_only_the_pinned_amis(tmp_path: Path) -> None:
    context_file = tmp_path / "cdk.context.json"
    other = {
        "availability-zones:account=1:region=r": ["ra"],
        "ssm:account=1:parameterName=/mine:region=r": "x",
    }
    context_file.write_text(json.dumps({**other, **_pinned_context("x86_64"), **_pinned_context("arm64")}))

    forgotten = ami.forget(context_file)

    assert len(forgotten) == 2 and all(DEBIAN_AMI_PARAMETER.partition("{")[0] in key for key in forgotten)
    assert json.loads(context_file.read_text()) == {
        **other,
        f"availability-zones:account={ACCOUNT}:region={REGION}": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
    }


def test_the_committed_cdk_context_json_pins_nothing_yet() -> None:
    # CDK's cache: each account's first synth with credentials fills it in. Committed empty, it keeps
    # the tests and an offline `make synth` from depending on anyone's account.
    assert json.loads((REPO_ROOT / "cdk.context.json").read_text()) == {}


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


@pytest.mark.parametrize("synthesis", ["synth", "synth_alternative"])
def test_ec2_asg_lets_a_boot_use_its_whole_budget_before_judging_it(
    synthesis: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesis = request.getfixturevalue(synthesis)  # x86_64, then arm64
    asg = _only(synth, "ec2", "AWS::AutoScaling::AutoScalingGroup")
    budget = sizing.EC2_BOOT_SIGNAL_TIMEOUT_MINUTES * 60
    # ELB health checks start only once a first boot may have ended: no instance replaced mid-boot.
    assert asg["HealthCheckGracePeriod"] == budget
    # Target tracking leaves a booting instance's CPU out as long (unset: the 300 s default cooldown).
    assert asg["DefaultInstanceWarmup"] == budget
    (policy,) = _resources(synth, "ec2", "AWS::AutoScaling::ScalingPolicy")
    assert "EstimatedInstanceWarmup" not in policy  # so the group's warmup applies


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
    assert container["Environment"] == [{"Name": "APP_WORKERS", "Value": "1"}]  # 0.5 vCPU: one worker


# The task sizes Fargate accepts, CPU units: memory MiB ("Troubleshoot Amazon ECS task definition
# invalid CPU or memory errors", docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html,
# read 2026-12-04). The CDK does not check the pair; RegisterTaskDefinition refuses a wrong one.
FARGATE_SIZES = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4096 + 1, 1024)),
    1024: set(range(2048, 8192 + 1, 1024)),
    2048: set(range(4096, 16384 + 1, 1024)),
    4096: set(range(8192, 30720 + 1, 1024)),
    8192: set(range(16384, 61440 + 1, 4096)),
    16384: set(range(32768, 122880 + 1, 8192)),
}


def test_ecs_task_size_is_one_fargate_accepts() -> None:
    assert (sizing.FARGATE_CPU_UNITS, sizing.FARGATE_MEMORY_MIB) == (512, 1024)
    assert sizing.FARGATE_MEMORY_MIB in FARGATE_SIZES[sizing.FARGATE_CPU_UNITS]
    assert sizing.FARGATE_VCPUS == 0.5


def test_ecs_task_of_2_vcpus_runs_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2,048 CPU units with 4 GiB, a real Fargate size: the stack states the workers from the size.
    assert 4096 in FARGATE_SIZES[2048]
    for name, value in {"FARGATE_CPU_UNITS": 2048, "FARGATE_MEMORY_MIB": 4096, "FARGATE_VCPUS": 2.0}.items():
        monkeypatch.setattr(sizing, name, value)
    app = cdk.App()
    template = Template.from_stack(EcsStack(app, "Ecs", settings=read_settings(app)))
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "2048",
            "Memory": "4096",
            "ContainerDefinitions": [
                Match.object_like({"Environment": [{"Name": "APP_WORKERS", "Value": "2"}]})
            ],
        },
    )


def test_ecs_stop_timeout_is_explicit(synth: Synthesis) -> None:
    (container,) = _only(synth, "ecs", "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert container["StopTimeout"] == sizing.ECS_STOP_TIMEOUT_SECONDS


def test_ecs_service_rolls_back_failed_deployments(synth: Synthesis) -> None:
    service = _only(synth, "ecs", "AWS::ECS::Service")
    breaker = service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"


@pytest.mark.parametrize("synthesis", ["synth", "synth_alternative"])
def test_ecs_service_leaves_its_task_count_to_auto_scaling(
    synthesis: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesis = request.getfixturevalue(synthesis)
    # No DesiredCount: CloudFormation starts the service at 1 and an update keeps a scaled-out count.
    assert "DesiredCount" not in _only(synth, "ecs", "AWS::ECS::Service")
    assert _only(synth, "ecs", "AWS::ApplicationAutoScaling::ScalableTarget")["MinCapacity"] >= 1


@pytest.mark.parametrize("synthesis", ["synth", "synth_alternative"])
def test_ecs_task_declares_the_image_s_health_check(synthesis: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesis = request.getfixturevalue(synthesis)
    (container,) = _only(synth, "ecs", "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    health = image_health_check()
    # ECS ignores an image's HEALTHCHECK: the task repeats the Dockerfile's, command and timings.
    assert json.dumps(health.command) in dockerfile
    assert f"http://127.0.0.1:{sizing.APP_PORT}{sizing.READY_PATH}" in " ".join(health.command)
    assert container["HealthCheck"] == {
        "Command": ["CMD", *health.command],
        "Interval": health.interval,
        "Timeout": health.timeout,
        "StartPeriod": health.start_period,
        "Retries": health.retries,
    }
    assert re.search(
        rf"HEALTHCHECK --interval={health.interval}s --timeout={health.timeout}s "
        rf"--start-period={health.start_period}s --retries={health.retries}",
        dockerfile,
    )


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
    # The default synth warns only that the ALBs speak plain HTTP (see the HTTPS tests below).
    assert [path for path, _ in _warnings(synth)] == [
        f"{names.STACK_NAMES[w]}/Web/Alb" for w in ("ec2", "ecs")
    ]


# ---------------------------------------------------------------- HTTPS on the ALBs (both synths)
# The two outputs only an ALB stack with a certificate has.
OUTPUTS_WITH_HTTPS = (names.OUTPUT_DOMAIN_NAME, names.OUTPUT_LOAD_BALANCER_DNS_NAME)


def _listeners(synth: Synthesis, way: names.Way) -> dict[int, dict[str, Any]]:
    listeners = _resources(synth, way, "AWS::ElasticLoadBalancingV2::Listener")
    return {listener["Port"]: listener for listener in listeners}


def _alb_ingress_ports(synth: Synthesis, way: names.Way) -> dict[int, str]:
    (alb,) = _resources(synth, way, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    ((alb_group_id, _),) = (group["Fn::GetAtt"] for group in alb["SecurityGroups"])
    rules = synth.templates[way]["Resources"][alb_group_id]["Properties"]["SecurityGroupIngress"]
    assert all(rule["FromPort"] == rule["ToPort"] and rule["IpProtocol"] == "tcp" for rule in rules)
    return {rule["FromPort"]: rule["CidrIp"] for rule in rules}


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_without_a_certificate_the_alb_serves_plain_http_and_synth_warns(
    synth: Synthesis, way: names.Way
) -> None:
    assert synth.context["architecture"] == "x86_64" and not synth.context["certificateArn"]
    listeners = _listeners(synth, way)
    assert set(listeners) == {80}
    assert listeners[80]["Protocol"] == "HTTP"
    assert [action["Type"] for action in listeners[80]["DefaultActions"]] == ["forward"]
    assert _alb_ingress_ports(synth, way) == {80: synth.context["allowedIngressCidr"]}
    url = _literal_text(synth.templates[way]["Outputs"][names.OUTPUT_ENDPOINT_URL]["Value"])
    assert url.startswith("http://")
    assert not set(OUTPUTS_WITH_HTTPS) & set(synth.templates[way]["Outputs"])
    (text,) = (text for path, text in _warnings(synth) if path == f"{names.STACK_NAMES[way]}/Web/Alb")
    assert "plain HTTP" in text and "CERTIFICATE_ARN" in text


@pytest.mark.parametrize("way", ["ec2", "ecs"])
def test_with_a_certificate_the_alb_serves_https_only_and_http_redirects(
    synth_alternative: Synthesis, way: names.Way
) -> None:
    alt = synth_alternative
    assert alt.context["architecture"] == "arm64"
    listeners = _listeners(alt, way)
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": alt.context["certificateArn"]}]
    # One of ELB's named policies: TLS 1.2 the minimum, TLS 1.3 offered.
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    (forward,) = https["DefaultActions"]
    assert forward == {
        "Type": "forward",
        "TargetGroupArn": {"Ref": _logical_id(alt, way, "AWS::ElasticLoadBalancingV2::TargetGroup")},
    }
    # Port 80 answers every request with a permanent redirect to the same URL over HTTPS, nothing else.
    assert listeners[80]["Protocol"] == "HTTP"
    assert listeners[80]["DefaultActions"] == [
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    ]
    cidr = alt.context["allowedIngressCidr"]
    assert _alb_ingress_ports(alt, way) == {80: cidr, 443: cidr}
    outputs = alt.templates[way]["Outputs"]
    assert outputs[names.OUTPUT_ENDPOINT_URL]["Value"] == f"https://{alt.context['domainName']}"
    assert outputs[names.OUTPUT_DOMAIN_NAME]["Value"] == alt.context["domainName"]
    alb = _logical_id(alt, way, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert outputs[names.OUTPUT_LOAD_BALANCER_DNS_NAME]["Value"] == {"Fn::GetAtt": [alb, "DNSName"]}
    assert set(outputs) == {*names.OUTPUTS_BY_WAY[way], *OUTPUTS_WITH_HTTPS}
    assert not [path for path, _ in _warnings(alt) if path.endswith("/Web/Alb")]


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
@pytest.mark.parametrize("certificate", [False, True])
def test_the_shared_alb_follows_the_certificate_alone_at_either_architecture(
    architecture: str, certificate: bool
) -> None:
    """The two synths above cover x86_64 without and arm64 with a certificate; the network construct
    both stacks share is built here from the context for all four pairs (a small synth, no assets)."""
    context = {"architecture": architecture}
    if certificate:
        context |= {"certificateArn": CERTIFICATE, "domainName": "predict.example.com"}
    settings = read_settings(cdk.App(context=context))
    stack = cdk.Stack(cdk.App(), "Web")
    web = LoadBalancedNetwork(
        stack, "Web", allowed_ingress_cidr=settings.allowed_ingress_cidr, https=settings.https
    )
    web.target_group.add_target(elbv2_targets.IpTarget("10.0.0.1"))
    template = Template.from_stack(stack).to_json()
    listeners = {
        res["Properties"]["Port"]: res["Properties"]
        for res in template["Resources"].values()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    }
    (group,) = (
        res["Properties"]
        for res in template["Resources"].values()
        if res["Type"] == "AWS::EC2::SecurityGroup" and "SecurityGroupIngress" in res["Properties"]
    )
    ports = sorted(rule["FromPort"] for rule in group["SecurityGroupIngress"])
    if certificate:
        assert set(listeners) == {80, 443} and ports == [80, 443]
        assert listeners[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
        assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
        assert web.url == "https://predict.example.com"
    else:
        assert set(listeners) == {80} and ports == [80]
        assert listeners[80]["DefaultActions"][0]["Type"] == "forward"
        assert web.url.startswith("http://")


def test_both_listeners_keep_their_construct_ids_so_adding_a_certificate_updates_in_place(
    synth: Synthesis, synth_alternative: Synthesis
) -> None:
    # A replaced port-80 listener would be created beside the old one first, and clash on the port.
    def port_80(synthesis: Synthesis) -> str:
        resources = synthesis.templates["ecs"]["Resources"].items()
        (logical_id,) = (
            key
            for key, res in resources
            if res["Type"].endswith("::Listener") and res["Properties"]["Port"] == 80
        )
        return logical_id

    assert port_80(synth) == port_80(synth_alternative)


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
        {"allowedIngressCidr": "0.0.0.0/0"},
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


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def test_a_certificate_and_its_host_name_give_https_settings() -> None:
    assert read_settings(cdk.App()).https is None
    context = {"certificateArn": CERTIFICATE, "domainName": "Predict.Example.com."}
    https = read_settings(cdk.App(context=context)).https
    assert https is not None
    assert (https.certificate_arn, https.domain_name) == (CERTIFICATE, "predict.example.com")


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"certificateArn": CERTIFICATE}, "domainName"),  # the ALB's own name is on no certificate
        ({"domainName": "predict.example.com"}, "certificateArn"),
        (
            {
                "certificateArn": "arn:aws:iam::123456789012:server-certificate/x",
                "domainName": "a.example.com",
            },
            "certificateArn",
        ),
        ({"certificateArn": CERTIFICATE, "domainName": "https://predict.example.com"}, "domainName"),
        ({"certificateArn": CERTIFICATE, "domainName": "localhost"}, "domainName"),
    ],
)
def test_bad_https_context_fails_synth_with_a_reason(context: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_settings(cdk.App(context=context))


@pytest.mark.parametrize("cidr", ["2001:db8::/64", "2001:db8::7", "::/0"])
def test_an_ipv6_cidr_is_refused_naming_the_fix(cidr: str) -> None:
    # The ALBs are IPv4-only: an IPv6 rule would deploy fine and admit nobody.
    with pytest.raises(ValueError, match=r"IPv6.*IPv4-only.*ALLOWED_CIDR=<address>/32") as refused:
        read_settings(cdk.App(context={"allowedIngressCidr": cidr}))
    assert len(str(refused.value).splitlines()) == 1
