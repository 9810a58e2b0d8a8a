"""The account checks a deploy makes before anything is built: what would otherwise fail late, after
the images are built and pushed, or deploy something nobody can reach.

- Lambda reserved concurrency: AWS keeps 100 executions unreserved, so a function may reserve at
  most ``UnreservedConcurrentExecutions - 100`` (``lambda:GetAccountSettings``). New accounts often
  have a total of 10, where any reservation fails the stack.
- Lambda provisioned concurrency (``lambdaColdStart=provisioned``): it counts against the function's
  reservation, else against the same unreserved pool, minus the same 100.
- ALB ingress: with ``allowedIngressCidr`` left at its closed default the load balancers admit
  nobody; the deploy works, but `make compare` cannot reach it. An IPv6 CIDR is refused: the ALBs
  are IPv4-only, so its rule would admit nobody either (the CDK app refuses it with the same line).
- ALB certificate (``certificateArn``): an ALB takes only an ACM certificate of its own region, and
  only an ISSUED one (``acm:DescribeCertificate``); otherwise CloudFormation fails the listener after
  the images are built, and rolls the stack back.
- ECS's service-linked role: the first ECS cluster in an account makes ECS create it during the
  call, and CloudFormation often fails with "Unable to assume the service linked role"; creating it
  first (once, "already exists" is fine) avoids that.

Kept free of aws_cdk (like ``infra.common.names``): it runs before `cdk` is started. The defaults
come from cdk.json's context block, which the CDK app reads too (a test keeps them equal).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from infra.common.names import OUTPUT_FUNCTION_NAME, STACK_NAMES
from infra.common.paths import REPO_ROOT

CDK_JSON = REPO_ROOT / "cdk.json"
# The unreserved executions AWS always keeps for functions without a reservation.
UNRESERVED_MINIMUM = 100


class PreflightFailed(Exception):
    """The deploy would fail: the message is the one line to print."""


def context_default(key: str) -> str:
    """The CDK app's default for a context key, as cdk.json states it."""
    return str(json.loads(CDK_JSON.read_text())["context"][key])


def requested_reservation(value: str | None) -> int | None:
    """LAMBDA_RESERVED_CONCURRENCY (empty: cdk.json's default) as a number, or None for 'none'."""
    text = (value or context_default("lambdaReservedConcurrency")).strip()
    if text.lower() == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        raise PreflightFailed(f"LAMBDA_RESERVED_CONCURRENCY={text!r}: use a positive integer or 'none'.")
    return int(text)


def current_reservation(lambda_client: Any, cloudformation: Any) -> int:
    """What the deployed function (if any) reserves already: a redeploy may reuse it."""
    try:
        stack = cloudformation.describe_stacks(StackName=STACK_NAMES["lambda"])["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return 0  # not deployed yet
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    function_name = outputs.get(OUTPUT_FUNCTION_NAME)
    if not function_name:
        return 0
    try:
        answer = lambda_client.get_function_concurrency(FunctionName=function_name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return 0
    return int(answer.get("ReservedConcurrentExecutions") or 0)


def check_lambda_reservation(lambda_client: Any, cloudformation: Any, value: str | None) -> str:
    """One line saying the reservation fits; PreflightFailed with one line when it cannot."""
    requested = requested_reservation(value)
    if requested is None:
        return "Lambda: no reserved concurrency requested (the function shares the account's pool)."
    limits = lambda_client.get_account_settings()["AccountLimit"]
    total, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
    reservable = unreserved + current_reservation(lambda_client, cloudformation) - UNRESERVED_MINIMUM
    if requested > reservable:
        raise PreflightFailed(
            f"Lambda reserved concurrency {requested} cannot fit this account: its concurrency is "
            f"{total} ({unreserved} unreserved) and AWS keeps {UNRESERVED_MINIMUM} unreserved, so at "
            f"most {max(reservable, 0)} can be reserved. Deploy with LAMBDA_RESERVED_CONCURRENCY=none "
            "or ask AWS for a higher 'Concurrent executions' quota."
        )
    return f"Lambda: reserving {requested} of the {reservable} reservable executions."


def ingress_warning(value: str | None) -> str | None:
    """A warning when ALLOWED_CIDR (empty: cdk.json's default) admits nobody from outside;
    PreflightFailed when it is IPv6."""
    text = (value or context_default("allowedIngressCidr")).strip()
    if refusal := ipv6_refusal(text):
        raise PreflightFailed(refusal)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None  # the CDK app rejects it with its own one-line reason
    if network.is_loopback or network.is_link_local:
        return (
            f"Warning: ALLOWED_CIDR is {text}, closed: the load balancer will admit nobody and "
            "`make compare` cannot reach it. Deploy with ALLOWED_CIDR=<your public ip>/32."
        )
    return None


def check_certificate(acm: Any, certificate_arn: str, domain_name: str, region: str) -> str:
    """One line saying the certificate suits the ALBs; PreflightFailed with one line when it does not:
    another region, not found, not ISSUED, or not covering ``domain_name``."""
    arn_region = certificate_arn.split(":")[3] if certificate_arn.count(":") >= 5 else ""
    if arn_region != region:
        raise PreflightFailed(
            f"CERTIFICATE_ARN is in {arn_region or 'no region'}, the stacks deploy to {region}: an ALB "
            f"takes only a certificate from its own region; request or import one in {region}."
        )
    try:
        certificate = acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"]
    except acm.exceptions.ResourceNotFoundException:
        raise PreflightFailed(f"CERTIFICATE_ARN {certificate_arn} does not exist in this account.") from None
    status = certificate["Status"]
    if status != "ISSUED":
        raise PreflightFailed(
            f"Certificate {certificate['DomainName']} is {status}, not ISSUED: an ALB cannot serve it "
            "(a DNS-validated one is issued once its validation record resolves)."
        )
    names = [certificate["DomainName"], *certificate.get("SubjectAlternativeNames", [])]
    if not any(covers(name, domain_name) for name in names):
        raise PreflightFailed(
            f"Certificate {certificate['DomainName']} does not cover DOMAIN_NAME={domain_name!r} "
            f"(it names {', '.join(sorted(set(names)))})."
        )
    return f"HTTPS: certificate for {domain_name} is ISSUED in {region}."


def covers(certificate_name: str, host: str) -> bool:
    """Whether a certificate name (``*.example.com`` covers one label) matches ``host``."""
    pattern, host = certificate_name.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == host


def ipv6_refusal(value: str) -> str | None:
    """The one line refusing an IPv6 ``allowedIngressCidr`` (the ALBs are IPv4-only), else None."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None  # not a CIDR at all: the CDK app says so
    if network.version == 4:
        return None
    return (
        f"allowedIngressCidr={value!r} is IPv6, but the load balancers are IPv4-only: "
        "pass your public IPv4 address as ALLOWED_CIDR=<address>/32"
    )


ECS_SERVICE = "ecs.amazonaws.com"
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"  # the name IAM gives it


def ensure_ecs_service_linked_role(iam: Any) -> str:
    """Create ECS's service-linked role unless the account has it; one line saying which.

    IAM answers a second creation with InvalidInput "... has been taken in this account": the role
    is there, which is all the deploy needs. Any other refusal is PreflightFailed, naming the fix.
    """
    try:
        iam.create_service_linked_role(AWSServiceName=ECS_SERVICE)
    except iam.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "InvalidInput" and "has been taken" in str(error):
            return f"ECS: the service-linked role {ECS_SERVICE_LINKED_ROLE} exists."
        raise PreflightFailed(
            f"Could not create ECS's service-linked role ({error}); without it the first ECS deploy in "
            f"an account often fails. Ask an administrator to run: aws iam create-service-linked-role "
            f"--aws-service-name {ECS_SERVICE}"
        ) from None
    return f"ECS: created the service-linked role {ECS_SERVICE_LINKED_ROLE} (new account)."


def requested_provisioned(mode: str | None, value: str | None) -> int | None:
    """LAMBDA_PROVISIONED_CONCURRENCY as a number when LAMBDA_COLD_START (empty: cdk.json's) is
    provisioned; None in the other modes, which provision nothing."""
    mode_text = (mode or context_default("lambdaColdStart")).strip().lower()
    if mode_text != "provisioned":
        return None
    text = (value or context_default("lambdaProvisionedConcurrency")).strip()
    if not text.isdigit() or int(text) < 1:
        raise PreflightFailed(f"LAMBDA_PROVISIONED_CONCURRENCY={text!r}: use a positive integer.")
    return int(text)


def current_provisioned(lambda_client: Any, cloudformation: Any) -> int:
    """What the deployed function (if any) provisions already: a redeploy may reuse it."""
    try:
        stack = cloudformation.describe_stacks(StackName=STACK_NAMES["lambda"])["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return 0  # not deployed yet
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if not (function_name := outputs.get(OUTPUT_FUNCTION_NAME)):
        return 0
    configs = lambda_client.list_provisioned_concurrency_configs(FunctionName=function_name)
    items = configs.get("ProvisionedConcurrencyConfigs", [])
    return sum(int(item.get("RequestedProvisionedConcurrentExecutions") or 0) for item in items)


def check_lambda_provisioned(
    lambda_client: Any, cloudformation: Any, mode: str | None, value: str | None, reservation: str | None
) -> str:
    """One line saying the provisioned concurrency fits; PreflightFailed with one line when it cannot.

    Provisioned environments count against the function's reservation, if it has one, else against
    the account's unreserved pool, of which AWS keeps UNRESERVED_MINIMUM for everything else.
    """
    requested = requested_provisioned(mode, value)
    if requested is None:
        return "Lambda: no provisioned concurrency requested."
    reserved = requested_reservation(reservation)
    if reserved is not None:
        if requested > reserved:
            raise PreflightFailed(
                f"Lambda provisioned concurrency {requested} exceeds the function's reserved concurrency "
                f"{reserved}: lower LAMBDA_PROVISIONED_CONCURRENCY or raise LAMBDA_RESERVED_CONCURRENCY."
            )
        return f"Lambda: provisioning {requested} of the function's {reserved} reserved executions."
    limits = lambda_client.get_account_settings()["AccountLimit"]
    total, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
    available = unreserved + current_provisioned(lambda_client, cloudformation) - UNRESERVED_MINIMUM
    if requested > available:
        raise PreflightFailed(
            f"Lambda provisioned concurrency {requested} cannot fit this account: its concurrency is "
            f"{total} ({unreserved} unreserved) and AWS keeps {UNRESERVED_MINIMUM} unreserved, so at "
            f"most {max(available, 0)} can be provisioned. Deploy with LAMBDA_COLD_START=snapstart or "
            "on-demand, or ask AWS for a higher 'Concurrent executions' quota."
        )
    return f"Lambda: provisioning {requested} of the {available} available executions (billed hourly)."
