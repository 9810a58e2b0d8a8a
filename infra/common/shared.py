"""What the three stacks share: context settings, sizing, network, load balancer, tags, outputs, cdk-nag.

Each stack file reads as a worked example; everything here is the part they would otherwise copy.
Names the outside world reads (stack names, output keys) live in ``infra.common.names``, which does not
import aws_cdk.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct, IConstruct

from infra.common.names import OUTPUTS_BY_WAY, STACK_NAMES, FunctionUrlAuth, Way
from infra.common.sizing import ALB_IDLE_TIMEOUT_SECONDS, DEFAULT_ARCHITECTURE, Architecture

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
PROJECT_TAG: Final = "one-model-three-ways"

# ---------------------------------------------------------------- context (`-c key=value` or cdk.json)
# cdk.json repeats these defaults in its "context" block, so `cdk synth` shows them; a test keeps them equal.
CONTEXT_DEFAULTS: Final[dict[str, str]] = {
    # Closed by default: 127.0.0.1/32 can never reach a load balancer from outside, so a forgotten
    # `-c allowedIngressCidr=<your ip>/32` gives an unreachable endpoint, never a public one.
    "allowedIngressCidr": "127.0.0.1/32",
    "architecture": DEFAULT_ARCHITECTURE,
    "baseImage": "python:3.11-slim-bookworm",
    # AWS_IAM: only SigV4-signed requests from the account reach the function. NONE opens the URL to
    # anyone who has it (see infra/lambda/stack.py for what that exposes).
    "functionUrlAuth": "AWS_IAM",
    # A number caps the function's environments (and reserves them out of the account's pool);
    # "none" deploys on any account: AWS keeps 100 unreserved, and new accounts may have only 10.
    "lambdaReservedConcurrency": "none",
}


@dataclass(frozen=True)
class Settings:
    allowed_ingress_cidr: str
    architecture: Architecture
    base_image: str
    function_url_auth: FunctionUrlAuth
    lambda_reserved_concurrency: int | None

    @property
    def ingress_is_world(self) -> bool:
        return ipaddress.ip_network(self.allowed_ingress_cidr).prefixlen == 0

    @property
    def ingress_peer(self) -> ec2.IPeer:
        network = ipaddress.ip_network(self.allowed_ingress_cidr)
        return ec2.Peer.ipv4(str(network)) if network.version == 4 else ec2.Peer.ipv6(str(network))


def _context(scope: Construct, key: str) -> str:
    value = scope.node.try_get_context(key)
    return CONTEXT_DEFAULTS[key] if value is None else str(value).strip()


def _parse_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        raise ValueError(
            f"allowedIngressCidr={value!r} is not a CIDR such as 203.0.113.7/32: {error}"
        ) from None


def _parse_architecture(value: str) -> Architecture:
    if value == "x86_64":
        return "x86_64"
    if value == "arm64":
        return "arm64"
    raise ValueError(f"architecture={value!r}: use x86_64 or arm64")


def _parse_function_url_auth(value: str) -> FunctionUrlAuth:
    if value.upper() == "AWS_IAM":
        return "AWS_IAM"
    if value.upper() == "NONE":
        return "NONE"
    raise ValueError(f"functionUrlAuth={value!r}: use AWS_IAM or NONE")


def _parse_reserved_concurrency(value: str) -> int | None:
    if value.lower() == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"lambdaReservedConcurrency={value!r}: use a positive integer or 'none'")
    return int(value)


def read_settings(scope: Construct) -> Settings:
    """Parse and validate the context once, failing synth with a one-line reason on a bad value."""
    return Settings(
        allowed_ingress_cidr=_parse_cidr(_context(scope, "allowedIngressCidr")),
        architecture=_parse_architecture(_context(scope, "architecture")),
        base_image=_context(scope, "baseImage"),
        function_url_auth=_parse_function_url_auth(_context(scope, "functionUrlAuth")),
        lambda_reserved_concurrency=_parse_reserved_concurrency(_context(scope, "lambdaReservedConcurrency")),
    )


# ---------------------------------------------------------------- sizing: infra/common/sizing.py
LOG_RETENTION: Final = logs.RetentionDays.ONE_WEEK


def lambda_architecture(settings: Settings) -> lambda_.Architecture:
    return lambda_.Architecture.ARM_64 if settings.architecture == "arm64" else lambda_.Architecture.X86_64


def ecs_cpu_architecture(settings: Settings) -> ecs.CpuArchitecture:
    return ecs.CpuArchitecture.ARM64 if settings.architecture == "arm64" else ecs.CpuArchitecture.X86_64


def image_platform(settings: Settings) -> ecr_assets.Platform:
    """The image must be built for the CPU it runs on, whatever machine runs `cdk deploy`."""
    return (
        ecr_assets.Platform.LINUX_ARM64
        if settings.architecture == "arm64"
        else ecr_assets.Platform.LINUX_AMD64
    )


# ---------------------------------------------------------------- container images (the repo-root Dockerfile)
# Synth does not build images: it only copies this context into cdk.out and hashes it; `cdk deploy` builds
# and pushes. Leaving out the heavy, irrelevant folders keeps that copy small and the hash stable.
# (A .dockerignore at the repo root, if present, is applied on top of this list.)
DOCKER_CONTEXT_EXCLUDES: Final = [
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    ".cache",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "**/__pycache__",
    "*.egg-info",
    "bench",
    "build",
    "dist",
    "loadtests",
    "reports",
    "tests",
    ".pip-build*",  # a local build's pip config (infra/local/docker.py), present only while it builds
]


def image_asset_options(settings: Settings, target: Literal["ecs", "lambda"]) -> dict[str, Any]:
    """Keyword arguments for ecs.ContainerImage.from_asset and lambda.DockerImageCode.from_image_asset."""
    return {
        "directory": str(REPO_ROOT),
        "target": target,
        "platform": image_platform(settings),
        "build_args": {"BASE_IMAGE": settings.base_image},
        "exclude": DOCKER_CONTEXT_EXCLUDES,
    }


# ---------------------------------------------------------------- stacks, tags, outputs
def stack_props(way: Way, description: str) -> dict[str, Any]:
    """Name, description and tags for a way's stack (CloudFormation propagates stack tags to resources)."""
    return {
        "stack_name": STACK_NAMES[way],
        "description": f"One Model, Three Ways: {description}",
        "tags": {"Project": PROJECT_TAG, "Way": way},
    }


def add_outputs(stack: cdk.Stack, way: Way, values: dict[str, str]) -> None:
    """Emit exactly the output keys infra.common.names promises for this way (the load tests rely on them)."""
    expected = set(OUTPUTS_BY_WAY[way])
    if set(values) != expected:
        raise ValueError(f"{way} outputs {sorted(values)} differ from the contract {sorted(expected)}")
    for key, value in values.items():
        cdk.CfnOutput(stack, key, value=value)


# ---------------------------------------------------------------- network and load balancer
def public_vpc(scope: Construct) -> ec2.Vpc:
    """Two AZs, public subnets only, no NAT gateway.

    A NAT gateway costs ~$33/month per AZ before a single byte moves; the ALB needs two AZs anyway.
    The instances and tasks get public IPs for their outbound calls (S3, ECR, SSM, CloudWatch) and
    their security groups admit nothing but the load balancer, so the public IP opens no inbound path.
    The price: each public IPv4 address is billed (~$3.65/month) and there is no private tier.
    """
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    acknowledge(
        vpc,
        "AwsSolutions-VPC7",
        "No VPC flow logs: the VPC holds only the ALB and the app (no data stores) and lives for a "
        "benchmark; flow logs would bill per GB ingested for load-test traffic.",
    )
    return vpc


def public_alb(scope: Construct, vpc: ec2.IVpc, settings: Settings) -> elbv2.ApplicationLoadBalancer:
    """An internet-facing ALB that admits HTTP only from the allowed CIDR.

    Its idle timeout is set, not left to AWS's default, because the app's keep-alive must outlast it
    (serving.config.Settings.keep_alive_seconds): then the ALB closes idle connections first and never
    reuses one the server is closing, which would be a 502.
    """
    security_group = ec2.SecurityGroup(
        scope, "AlbSecurityGroup", vpc=vpc, description="ALB: HTTP from the allowed CIDR only"
    )
    security_group.add_ingress_rule(settings.ingress_peer, ec2.Port.tcp(80), "HTTP from allowedIngressCidr")
    alb = elbv2.ApplicationLoadBalancer(
        scope,
        "Alb",
        vpc=vpc,
        internet_facing=True,
        security_group=security_group,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        drop_invalid_header_fields=True,
        idle_timeout=cdk.Duration.seconds(ALB_IDLE_TIMEOUT_SECONDS),
    )
    acknowledge(
        alb,
        "AwsSolutions-ELB2",
        "No ALB access logs: a short-lived benchmark endpoint whose load tests would fill a bucket per "
        "request; the app logs one line per request itself, to CloudWatch Logs on every way.",
    )
    if settings.ingress_is_world:
        acknowledge(
            security_group,
            "AwsSolutions-EC23",
            "The operator passed allowedIngressCidr=0.0.0.0/0 on purpose; the default admits nobody.",
        )
    return alb


def http_endpoint(alb: elbv2.ApplicationLoadBalancer) -> str:
    return f"http://{alb.load_balancer_dns_name}"


# ---------------------------------------------------------------- cdk-nag
NAG_PACK: Final = "AwsSolutions"


def enable_nag(app: cdk.App) -> None:
    """AwsSolutions checks run at every synth; an unacknowledged finding fails it (cdk-nag 3.x plugin)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on one construct (and its children), with the reason in the code."""
    if len(reason.split()) < 5:
        raise ValueError(f"{rule_id}: an acknowledgement needs a real reason")
    # cdk-nag 3 reports each finding under "<pack>::<rule>"; an id without the pack prefix is taken
    # for a construct annotation and would not match.
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{NAG_PACK}::{rule_id}", reason=reason))
