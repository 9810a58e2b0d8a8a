"""Stop a deploy, bootstrap or destroy at once, with one clear line, when no AWS credentials work,
no region is set, or the account cannot take what the deploy asks for.

    python -m infra.common.credentials          # exit 0 and print the account, or exit 2 and say why
    python -m infra.common.credentials --quiet  # the same, printing nothing (`make diff` uses it)
    python -m infra.common.credentials --lambda-reserved-concurrency 10   # deploy-lambda, deploy-all
    python -m infra.common.credentials --allowed-cidr 203.0.113.7/32      # deploy-ec2/-ecs: warn if closed
    python -m infra.common.credentials --certificate-arn ARN --domain-name HOST  # with CERTIFICATE_ARN
    python -m infra.common.credentials --ecs-service-linked-role          # deploy-ecs, deploy-all
    python -m infra.common.credentials --lambda-cold-start provisioned --lambda-provisioned-concurrency 2

Without this, `cdk deploy` synthesizes, then fails deep inside the CLI with a long trace (no
credentials, no region), or CloudFormation fails the stack after the images were built and pushed
(a reservation the account cannot give; see infra.common.preflight). Instance-metadata (IMDS)
credentials are off unless AWS_EC2_METADATA_DISABLED=false is set: on a laptop the lookup would only
wait on a link-local address that is not there (and this repo's machines must not send traffic to it).
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.common.preflight import (
    PreflightFailed,
    check_certificate,
    check_lambda_provisioned,
    check_lambda_reservation,
    ensure_ecs_service_linked_role,
    ingress_warning,
)

EXIT_NO_CREDENTIALS = 2
EXIT_NO_REGION = 3
EXIT_WILL_NOT_FIT = 4
HINT = "set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION, then retry"
NO_REGION = (
    "No AWS region: set AWS_REGION (or a region in your AWS profile), then retry; "
    "cdk needs one to bootstrap and deploy."
)
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1})


class NoRegion(LookupError):
    pass


def aws_session(region: str | None = None) -> boto3.Session:
    """The SDK's session (AWS_PROFILE, ...), never consulting instance metadata unasked. The region:
    ``region``, else AWS_REGION (which the CDK CLI and the AWS CLI read, but boto3 does not), else
    the SDK's own (AWS_DEFAULT_REGION, the profile's)."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)


def caller_account(session: boto3.Session | None = None) -> str:
    """The account the current credentials belong to; raises when there are none, no region is set,
    or AWS rejects them."""
    session = session or aws_session()
    if session.get_credentials() is None:
        raise LookupError("no AWS credentials found")
    if not session.region_name:
        raise NoRegion(NO_REGION)
    sts = session.client("sts", config=CLIENT_CONFIG)
    return str(sts.get_caller_identity()["Account"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing, only set the exit code")
    parser.add_argument(
        "--lambda-reserved-concurrency",
        metavar="N|none|''",
        help="check that the account can reserve this many (empty: cdk.json's default)",
    )
    parser.add_argument(
        "--lambda-cold-start", metavar="MODE|''", help="with provisioned: check that the account can take it"
    )
    parser.add_argument("--lambda-provisioned-concurrency", metavar="N|''", help="empty: cdk.json's default")
    parser.add_argument(
        "--allowed-cidr", metavar="CIDR|''", help="warn when it admits nobody (empty: default)"
    )
    parser.add_argument("--certificate-arn", help="check it is ISSUED in the region and covers --domain-name")
    parser.add_argument("--domain-name", default="", help="the host name the certificate must cover")
    parser.add_argument(
        "--ecs-service-linked-role",
        action="store_true",
        help="create ECS's service-linked role if the account has none (a first ECS deploy needs it)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    session = aws_session()
    try:
        account = caller_account(session)
    except NoRegion as error:
        say(str(error))
        return EXIT_NO_REGION
    except (LookupError, BotoCoreError, ClientError) as error:
        say(f"No usable AWS credentials ({error}): {HINT}.")
        return EXIT_NO_CREDENTIALS
    if not args.quiet:
        print(f"AWS account {account} in {session.region_name}")
    try:
        if args.allowed_cidr is not None and (warning := ingress_warning(args.allowed_cidr)):
            say(warning)
    except PreflightFailed as error:
        say(str(error))
        return EXIT_WILL_NOT_FIT
    if args.certificate_arn:
        try:
            acm = session.client("acm", config=CLIENT_CONFIG)
            say(check_certificate(acm, args.certificate_arn, args.domain_name, str(session.region_name)))
        except PreflightFailed as error:
            say(str(error))
            return EXIT_WILL_NOT_FIT
        except (BotoCoreError, ClientError) as error:
            say(f"Could not read the certificate ({error}).")
            return EXIT_WILL_NOT_FIT
    if args.ecs_service_linked_role:
        try:
            say(ensure_ecs_service_linked_role(session.client("iam", config=CLIENT_CONFIG)))
        except (PreflightFailed, BotoCoreError) as error:
            say(str(error))
            return EXIT_WILL_NOT_FIT
    if args.lambda_reserved_concurrency is not None:
        try:
            lambda_client = session.client("lambda", config=CLIENT_CONFIG)
            cloudformation = session.client("cloudformation", config=CLIENT_CONFIG)
            say(check_lambda_reservation(lambda_client, cloudformation, args.lambda_reserved_concurrency))
            if args.lambda_cold_start is not None:
                provisioned = (args.lambda_cold_start, args.lambda_provisioned_concurrency)
                reservation = args.lambda_reserved_concurrency
                say(check_lambda_provisioned(lambda_client, cloudformation, *provisioned, reservation))
        except PreflightFailed as error:
            say(str(error))
            return EXIT_WILL_NOT_FIT
        except (BotoCoreError, ClientError) as error:
            say(f"Could not read the account's Lambda concurrency ({error}).")
            return EXIT_WILL_NOT_FIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
