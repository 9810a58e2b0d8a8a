"""The ways, their stack names and stack-output keys: the contract between the CDK app and everything
that reads a deployed stack (the load tests call ``describe_stacks`` and look these keys up).

Kept free of aws_cdk on purpose: importing aws_cdk starts a Node.js process (jsii), and a load test
or the credential check should not pay for that just to read a few strings.
"""

from __future__ import annotations

import sys
from typing import Final, Literal

Way = Literal["ec2", "ecs", "lambda"]
WAYS: Final[tuple[Way, ...]] = ("ec2", "ecs", "lambda")

# The Lambda Function URL's auth type: AWS_IAM takes only requests SigV4-signed (service "lambda")
# by a principal of the account allowed lambda:InvokeFunctionUrl; NONE takes anyone's.
FunctionUrlAuth = Literal["AWS_IAM", "NONE"]

# How the Lambda stack meets a cold start (`-c lambdaColdStart=...`, infra/lambda/stack.py).
LambdaColdStart = Literal["on-demand", "snapstart", "provisioned"]
LAMBDA_COLD_STARTS: Final[tuple[LambdaColdStart, ...]] = ("on-demand", "snapstart", "provisioned")

# One CloudFormation stack per way; `make deploy-<way>` deploys STACK_NAMES[way] (read with main() below).
STACK_NAMES: Final[dict[Way, str]] = {
    "ec2": "OneModel-Ec2",
    "ecs": "OneModel-Ecs",
    "lambda": "OneModel-Lambda",
}
# Every stack is tagged Project=PROJECT_TAG and Way=<way> (CloudFormation copies them to its resources).
PROJECT_TAG: Final = "one-model-three-ways"

# Output keys. Every stack has ENDPOINT_URL (the base URL: append /predict, /ready ...; the Function URL
# ends with "/", which loadtests.aws.discovery strips),
# WAY and ARCHITECTURE (x86_64 or arm64: `make compare` prices what was deployed); the rest are the
# handles a load test needs to inspect, sign for or scale what it measures.
OUTPUT_ENDPOINT_URL: Final = "EndpointUrl"
OUTPUT_WAY: Final = "Way"
OUTPUT_ARCHITECTURE: Final = "Architecture"
OUTPUT_ASG_NAME: Final = "AutoScalingGroupName"  # ec2
OUTPUT_CLUSTER_NAME: Final = "ClusterName"  # ecs
OUTPUT_SERVICE_NAME: Final = "ServiceName"  # ecs
OUTPUT_FUNCTION_NAME: Final = "FunctionName"  # lambda
OUTPUT_FUNCTION_URL_AUTH: Final = "FunctionUrlAuthType"  # lambda: one of FunctionUrlAuth
OUTPUT_COLD_START: Final = "ColdStartMode"  # lambda: one of LambdaColdStart
OUTPUT_ALIAS_NAME: Final = "AliasName"  # lambda, snapstart and provisioned only: the alias the URL serves
OUTPUT_PROVISIONED_CONCURRENCY: Final = "ProvisionedConcurrency"  # lambda, provisioned only
OUTPUT_LOG_GROUP_NAME: Final = "LogGroupName"  # all three: where the app's log lines go
# ec2 and ecs with a certificate (certificateArn): EndpointUrl is then https://<DomainName>, the host
# name the certificate covers, which the user's DNS points at LoadBalancerDnsName.
OUTPUT_DOMAIN_NAME: Final = "DomainName"
OUTPUT_LOAD_BALANCER_DNS_NAME: Final = "LoadBalancerDnsName"

_EVERY_WAY: Final = (OUTPUT_ENDPOINT_URL, OUTPUT_WAY, OUTPUT_ARCHITECTURE, OUTPUT_LOG_GROUP_NAME)
OUTPUTS_BY_WAY: Final[dict[Way, tuple[str, ...]]] = {
    "ec2": (*_EVERY_WAY, OUTPUT_ASG_NAME),
    "ecs": (*_EVERY_WAY, OUTPUT_CLUSTER_NAME, OUTPUT_SERVICE_NAME),
    "lambda": (*_EVERY_WAY, OUTPUT_FUNCTION_NAME, OUTPUT_FUNCTION_URL_AUTH, OUTPUT_COLD_START),
}


def main(argv: list[str]) -> int:
    """For the Makefile: no arguments print the ways, ways print their stack names."""
    names: dict[str, str] = {way: name for way, name in STACK_NAMES.items() if way in argv}
    if len(names) < len(set(argv)):
        print(f"unknown way in {argv}: use {' '.join(WAYS)}", file=sys.stderr)
        return 2
    print(" ".join(names[way] for way in argv) if argv else " ".join(WAYS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
