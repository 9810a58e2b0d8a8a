"""cfn-lint finds no error or warning in any synthesized template (one CDK-made pattern excepted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from infra.common import names

if TYPE_CHECKING:
    from tests.infra.cdk_fixtures import Synthesis

pytest_plugins = ("tests.infra.cdk_fixtures",)


# W3005 "DependsOn already enforced by a Ref/GetAtt": CDK's own constructs (the Lambda role, the ECS
# listener) add an explicit DependsOn beside the implicit one. Redundant, harmless, and not ours to
# remove without escape hatches into CDK internals.
IGNORED = ["W3005"]


def _lint(synthesis: Synthesis, way: names.Way) -> list[str]:
    template = (synthesis.outdir / f"{names.STACK_NAMES[way]}.template.json").read_text()
    return [
        str(match)
        for match in lint(template, config=ManualArgs(regions=["us-east-1"], ignore_checks=IGNORED))
    ]


@pytest.mark.parametrize("way", names.WAYS)
def test_template_is_cfn_lint_clean(synth: Synthesis, way: names.Way) -> None:
    assert _lint(synth, way) == []


@pytest.mark.parametrize("way", names.WAYS)
def test_other_context_branch_template_is_cfn_lint_clean(
    synth_alternative: Synthesis, way: names.Way
) -> None:
    assert _lint(synth_alternative, way) == []


def test_each_cold_start_mode_template_is_cfn_lint_clean(synth_cold_start: Synthesis) -> None:
    assert _lint(synth_cold_start, "lambda") == []
