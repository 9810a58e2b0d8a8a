"""Endpoints and resource names from the stacks' CloudFormation outputs (``describe_stacks``).

The stack names and output keys are the CDK app's contract in ``infra.common.names``. A stack is
usable in any stable state, including after a rolled-back update (``UPDATE_ROLLBACK_COMPLETE``:
the previous, working version is what runs); one that is changing or failed is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from infra.common.names import (
    LAMBDA_COLD_STARTS,
    OUTPUT_ARCHITECTURE,
    OUTPUT_COLD_START,
    OUTPUT_ENDPOINT_URL,
    OUTPUT_FUNCTION_URL_AUTH,
    OUTPUTS_BY_WAY,
    STACK_NAMES,
    Way,
)
from loadtests.tls import is_https

# Every status in which the stack's resources are settled and are what its last good template says.
STABLE_STATUSES: Final = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)


class StackNotReady(RuntimeError):
    """The stack is missing, changing, failed, or lacks an output the contract promises."""


@dataclass(frozen=True)
class Deployment:
    way: Way
    stack_name: str
    outputs: dict[str, str]

    @property
    def endpoint_url(self) -> str:
        return self.outputs[OUTPUT_ENDPOINT_URL].rstrip("/")

    @property
    def https(self) -> bool:
        """Whether the endpoint is HTTPS: a Function URL always; an ALB stack deployed with a certificate,
        whose EndpointUrl is then https://<DomainName> (the load tests measure what it says)."""
        return is_https(self.endpoint_url)

    @property
    def architecture(self) -> str:
        return self.outputs[OUTPUT_ARCHITECTURE]

    @property
    def cold_start(self) -> str | None:
        """The Lambda stack's cold-start mode (on-demand, snapstart, provisioned); None for the others."""
        if self.way != "lambda":
            return None
        mode = self.outputs.get(OUTPUT_COLD_START, "on-demand")
        if mode not in LAMBDA_COLD_STARTS:
            raise StackNotReady(f"{self.stack_name} names an unknown cold-start mode {mode!r}: redeploy it.")
        return mode

    @property
    def signed(self) -> bool:
        """Whether requests must be SigV4-signed: a Function URL with auth AWS_IAM."""
        return self.outputs.get(OUTPUT_FUNCTION_URL_AUTH) == "AWS_IAM"


def refusal(stack_name: str, status: str) -> str | None:
    """Why a stack in ``status`` cannot be measured (one line), or None when it can."""
    if status in STABLE_STATUSES:
        return None
    if status.endswith("_IN_PROGRESS"):
        return f"{stack_name} is {status}: wait until it is stable, then retry."
    return (
        f"{stack_name} is {status}, not a usable deployment: see its events in the CloudFormation "
        "console, redeploy it (make deploy-<way>) or destroy it, then retry."
    )


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise StackNotReady(f"{stack_name}: {error}. Deploy it first (make deploy-<way>).") from error
    stack = stacks[0]
    if reason := refusal(stack_name, stack["StackStatus"]):
        raise StackNotReady(reason)
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def discover(way: Way, cloudformation: Any) -> Deployment:
    stack_name = STACK_NAMES[way]
    outputs = stack_outputs(cloudformation, stack_name)
    missing = [key for key in OUTPUTS_BY_WAY[way] if key not in outputs]
    if missing:
        raise StackNotReady(f"{stack_name} lacks outputs {missing}: redeploy it (make deploy-{way}).")
    return Deployment(way, stack_name, outputs)
