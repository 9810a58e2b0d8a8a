"""checkov's two ALB TLS checks on the synthesized templates: CKV_AWS_2 (HTTPS, or a redirect to it)
and CKV_AWS_103 (TLS 1.2 at least). The certificate variant passes both on every listener; the plain
default fails them, which is what the synth warning says.

checkov runs from its own venv (`make checkov`; its pins clash with the project's), offline
(``--skip-download``: no call to its vendor's platform).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infra.common import names
from infra.common.paths import REPO_ROOT

if TYPE_CHECKING:
    from tests.infra.cdk_fixtures import Synthesis

pytest_plugins = ("tests.infra.cdk_fixtures",)

CHECKOV = REPO_ROOT / ".cache" / "checkov" / "bin" / "checkov"  # `make checkov`
TLS_CHECKS = ("CKV_AWS_2", "CKV_AWS_103")
LOAD_BALANCED: tuple[names.Way, ...] = ("ec2", "ecs")


def _checkov(templates: list[Path]) -> dict[str, set[tuple[str, str, str]]]:
    """{"passed"|"failed": {(check, "<folder>/<template file>", listener logical id)}} for TLS_CHECKS."""
    if not CHECKOV.exists():
        pytest.fail(f"no checkov at {CHECKOV}: `make checkov` installs it")
    command = [str(CHECKOV), "--skip-download", "--framework", "cloudformation", "-o", "json"]
    command += ["--check", ",".join(TLS_CHECKS)]
    for template in templates:
        command += ["-f", str(template)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode in (0, 1), run.stderr  # 1: some check failed
    results = json.loads(run.stdout)["results"]
    return {
        outcome: {
            (item["check_id"], _short(Path(item["file_path"])), item["resource"].rsplit(".", 1)[-1])
            for item in results.get(f"{outcome}_checks", [])
        }
        for outcome in ("passed", "failed")
    }


def _short(template: Path) -> str:
    return f"{template.parent.name}/{template.name}"


def _listeners(synthesis: Synthesis) -> set[tuple[str, str]]:
    """(template, listener logical id) of every ALB listener in the ec2 and ecs templates."""
    return {
        (_short(synthesis.outdir / f"{names.STACK_NAMES[way]}.template.json"), key)
        for way in LOAD_BALANCED
        for key, res in synthesis.templates[way]["Resources"].items()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    }


def test_checkov_tls_checks_pass_with_a_certificate_and_fail_without(
    synth: Synthesis, synth_alternative: Synthesis
) -> None:
    templates = [
        synthesis.outdir / f"{names.STACK_NAMES[way]}.template.json"
        for synthesis in (synth, synth_alternative)
        for way in LOAD_BALANCED
    ]
    found = _checkov(templates)
    # With a certificate (the other branch): two listeners per stack (443, and 80 redirecting), both
    # checks passed on each.
    with_certificate = {
        (check, *listener) for listener in _listeners(synth_alternative) for check in TLS_CHECKS
    }
    assert len(with_certificate) == 8
    # Plain HTTP (the default): port 80 forwarding fails both, as the synth warning says.
    plain = {(check, *listener) for listener in _listeners(synth) for check in TLS_CHECKS}
    assert len(plain) == 4
    assert found == {"passed": with_certificate, "failed": plain}
