"""cdk-nag AwsSolutions: zero unacknowledged findings, and every acknowledgement reviewed and reasoned.

The session synth already fails on any unacknowledged finding (cdk-nag 3 is a CDK validation plugin);
these tests read the validation report it wrote to pin down exactly what was accepted and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.common.names import STACK_NAMES

if TYPE_CHECKING:
    from tests.infra.cdk_fixtures import Synthesis

pytest_plugins = ("tests.infra.cdk_fixtures",)

# (rule, construct the acknowledgement sits on). A new finding or a dropped fix changes this set,
# so the change has to be looked at here, in review.
EC2, ECS = STACK_NAMES["ec2"], STACK_NAMES["ecs"]
EXPECTED_ACKNOWLEDGEMENTS = {
    ("AwsSolutions-VPC7", f"{EC2}/Web/Vpc"),
    ("AwsSolutions-ELB2", f"{EC2}/Web/Alb"),
    ("AwsSolutions-AS3", f"{EC2}/Asg"),
    (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
        f"{EC2}/InstanceRole",
    ),
    ("AwsSolutions-VPC7", f"{ECS}/Web/Vpc"),
    ("AwsSolutions-ELB2", f"{ECS}/Web/Alb"),
    ("AwsSolutions-ECS4", f"{ECS}/Cluster"),
    ("AwsSolutions-ECS2", f"{ECS}/TaskDefinition"),
    ("AwsSolutions-IAM5[Resource::*]", f"{ECS}/TaskDefinition"),
}


def _aws_solutions(synth: Synthesis) -> dict[str, Any]:
    (report,) = (r for r in synth.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions")
    return report


def test_aws_solutions_ran_and_passed(synth: Synthesis) -> None:
    report = _aws_solutions(synth)
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledgement_is_expected_and_carries_a_reason(synth: Synthesis) -> None:
    suppressed = _aws_solutions(synth)["suppressedViolations"]
    assert {(item["ruleName"], item["acknowledgedAt"]) for item in suppressed} == EXPECTED_ACKNOWLEDGEMENTS
    for item in suppressed:
        assert len(item["reason"].split()) >= 5, item


def test_the_other_context_branch_passes_with_the_same_acknowledgements(synth_alternative: Synthesis) -> None:
    # arm64, a public Function URL and a reservation change resources, not what cdk-nag accepts.
    report = _aws_solutions(synth_alternative)
    assert (report["conclusion"], report["violations"]) == ("success", [])
    suppressed = report["suppressedViolations"]
    assert {(item["ruleName"], item["acknowledgedAt"]) for item in suppressed} == EXPECTED_ACKNOWLEDGEMENTS


def test_each_cold_start_mode_passes_with_no_acknowledgement_of_its_own(synth_cold_start: Synthesis) -> None:
    # A version, an alias, SnapStart or provisioned concurrency add nothing cdk-nag objects to: the
    # fixture's synth fails on any unacknowledged finding, and the report lists no finding at all.
    reports = synth_cold_start.validation_report()["pluginReports"]
    assert [r for r in reports if r.get("violations") or r.get("suppressedViolations")] == []
