"""The CDK app's settings: its context (`-c key=value`, defaults in cdk.json), parsed and checked once.

A bad value fails synth with a one-line reason, before any construct is built.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.common.names import LAMBDA_COLD_STARTS, FunctionUrlAuth, LambdaColdStart
from infra.common.preflight import ipv6_refusal
from infra.common.sizing import DEFAULT_ARCHITECTURE, Architecture

# cdk.json repeats these defaults in its "context" block, so `cdk synth` shows them; a test keeps them equal.
CONTEXT_DEFAULTS: Final[dict[str, str]] = {
    # Closed by default: 127.0.0.1/32 can never reach a load balancer from outside, so a forgotten
    # `-c allowedIngressCidr=<your ip>/32` gives an unreachable endpoint, never a public one.
    "allowedIngressCidr": "127.0.0.1/32",
    "architecture": DEFAULT_ARCHITECTURE,
    # AWS_IAM: only SigV4-signed requests from the account reach the function. NONE opens the URL to
    # anyone who has it (see infra/lambda/stack.py for what that exposes).
    "functionUrlAuth": "AWS_IAM",
    # A number caps the function's environments (and reserves them out of the account's pool);
    # "none" deploys on any account: AWS keeps 100 unreserved, and new accounts may have only 10.
    "lambdaReservedConcurrency": "none",
    # An ACM certificate's ARN gives both ALBs an HTTPS listener (HTTP redirects to it); domainName is
    # the host name it covers, which the user's DNS points at the ALB. Empty: plain HTTP, warned at synth.
    "certificateArn": "",
    "domainName": "",
    # How Lambda meets a cold start: on-demand (init on the first request; $0 while idle), snapstart
    # (restore a snapshot of the initialized version) or provisioned (N environments kept initialized).
    "lambdaColdStart": "on-demand",
    # The environments `lambdaColdStart=provisioned` keeps initialized (billed by the hour).
    "lambdaProvisionedConcurrency": "1",
}

# arn:<partition>:acm:<region>:<account>:certificate/<id>; the deploy preflight checks region and status.
CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+")
# A DNS host name of at least two labels (RFC 1123); a wildcard certificate still serves one name here.
HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


@dataclass(frozen=True)
class Https:
    """An ALB's HTTPS: the ACM certificate and the host name it covers (the endpoint's name)."""

    certificate_arn: str
    domain_name: str


@dataclass(frozen=True)
class Settings:
    allowed_ingress_cidr: str
    architecture: Architecture
    function_url_auth: FunctionUrlAuth
    lambda_reserved_concurrency: int | None
    https: Https | None = None  # None: the ALBs listen on plain HTTP only
    lambda_cold_start: LambdaColdStart = "on-demand"
    lambda_provisioned_concurrency: int = 1

    # One `architecture` sets what each service runs and what Docker builds, so they cannot disagree.
    @property
    def image_platform(self) -> ecr_assets.Platform:
        arm = self.architecture == "arm64"
        return ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64

    @property
    def ecs_cpu_architecture(self) -> ecs.CpuArchitecture:
        return ecs.CpuArchitecture.ARM64 if self.architecture == "arm64" else ecs.CpuArchitecture.X86_64

    @property
    def lambda_architecture(self) -> lambda_.Architecture:
        arm = self.architecture == "arm64"
        return lambda_.Architecture.ARM_64 if arm else lambda_.Architecture.X86_64


def read_settings(scope: Construct) -> Settings:
    """Parse and validate the context once, failing synth with a one-line reason on a bad value."""
    return Settings(
        allowed_ingress_cidr=_parse_cidr(_context(scope, "allowedIngressCidr")),
        architecture=_parse_architecture(_context(scope, "architecture")),
        function_url_auth=_parse_function_url_auth(_context(scope, "functionUrlAuth")),
        lambda_reserved_concurrency=_parse_reserved_concurrency(_context(scope, "lambdaReservedConcurrency")),
        https=_parse_https(_context(scope, "certificateArn"), _context(scope, "domainName")),
        lambda_cold_start=_parse_cold_start(_context(scope, "lambdaColdStart")),
        lambda_provisioned_concurrency=_parse_provisioned_concurrency(
            _context(scope, "lambdaProvisionedConcurrency")
        ),
    )


def _context(scope: Construct, key: str) -> str:
    value = scope.node.try_get_context(key)
    return CONTEXT_DEFAULTS[key] if value is None else str(value).strip()


def _parse_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"allowedIngressCidr={value!r} is not a CIDR such as 203.0.113.7/32: {error}"
        ) from None
    if refusal := ipv6_refusal(value):  # an IPv6 rule on an IPv4-only ALB would admit nobody, silently
        raise ValueError(refusal)
    return str(network)


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


def _parse_https(certificate_arn: str, domain_name: str) -> Https | None:
    """Both or neither: a certificate serves a host name, and the ALB's own DNS name is never on it."""
    if not certificate_arn and not domain_name:
        return None
    if not CERTIFICATE_ARN.fullmatch(certificate_arn):
        raise ValueError(
            f"certificateArn={certificate_arn!r}: use an ACM certificate ARN "
            "(arn:aws:acm:<region>:<account>:certificate/<id>) together with domainName"
        )
    name = domain_name.lower().rstrip(".")
    if not HOST_NAME.fullmatch(name):
        raise ValueError(
            f"domainName={domain_name!r}: use the host name the certificate covers, such as "
            "api.example.com (your DNS points it at the load balancer)"
        )
    return Https(certificate_arn, name)


def _parse_cold_start(value: str) -> LambdaColdStart:
    for mode in LAMBDA_COLD_STARTS:
        if value.lower() == mode:
            return mode
    raise ValueError(f"lambdaColdStart={value!r}: use {', '.join(LAMBDA_COLD_STARTS)}")


def _parse_provisioned_concurrency(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"lambdaProvisionedConcurrency={value!r}: use a positive integer")
    return int(value)
