"""cdk-nag's AwsSolutions checks at every synth, and the one way to accept a finding: with its reason."""

from __future__ import annotations

from typing import Final

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

NAG_PACK: Final = "AwsSolutions"


def enable_nag(app: cdk.App) -> None:
    """An unacknowledged finding fails synth (cdk-nag 3.x is a CDK validation plugin)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on one construct (and its children), with the reason in the code."""
    if len(reason.split()) < 5:
        raise ValueError(f"{rule_id}: an acknowledgement needs a real reason")
    # cdk-nag 3 reports each finding under "<pack>::<rule>"; an id without the pack prefix is taken
    # for a construct annotation and would not match.
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{NAG_PACK}::{rule_id}", reason=reason))
