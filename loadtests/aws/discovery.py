"""Endpoints and resource names from the stacks' CloudFormation outputs (``describe_stacks``).

The stack names and output keys are the CDK app's contract in ``infra.common.names``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.common.names import OUTPUT_ENDPOINT_URL, OUTPUTS_BY_WAY, STACK_NAMES, Way


class StackNotReady(RuntimeError):
    """The stack is missing, not in a complete state, or lacks an output the contract promises."""


@dataclass(frozen=True)
class Deployment:
    way: Way
    stack_name: str
    outputs: dict[str, str]

    @property
    def endpoint_url(self) -> str:
        return self.outputs[OUTPUT_ENDPOINT_URL].rstrip("/")


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise StackNotReady(f"{stack_name}: {error}. Deploy it first (make deploy-<way>).") from error
    stack = stacks[0]
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        raise StackNotReady(f"{stack_name} is {stack['StackStatus']}")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def discover(way: Way, cloudformation: Any) -> Deployment:
    stack_name = STACK_NAMES[way]
    outputs = stack_outputs(cloudformation, stack_name)
    missing = [key for key in OUTPUTS_BY_WAY[way] if key not in outputs]
    if missing:
        raise StackNotReady(f"{stack_name} lacks outputs {missing}")
    return Deployment(way, stack_name, outputs)
