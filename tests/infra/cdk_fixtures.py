"""One CDK synth per test session, shared by test_stacks, test_nag and test_cfn_lint, plus one of
the context's other branch (arm64, a public Function URL, a reservation) for the tests that ask.

Test modules load this with ``pytest_plugins = ("tests.infra.cdk_fixtures",)``, which registers the
fixture once (one synth), and import from it only under TYPE_CHECKING (an earlier import would keep
pytest from rewriting this plugin's asserts).

Synth needs neither a Docker engine nor AWS. Image assets are only copied into the cloud assembly
and hashed; `cdk deploy` builds them (checked by hand: `CDK_DOCKER=/bin/false npx cdk synth` works).
Without the CDK CLI's account and region (CDK_DEFAULT_*, unset here) the stacks are
environment-agnostic and make no context lookups (test_stacks checks the manifest asks for none), so
synth makes no AWS call and needs no credentials, fake or real. (With them, the EC2 stack pins its AMI
from cdk.context.json; test_stacks synthesizes that case with the context filled in.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from infra.app import LambdaStack, build_app
from infra.common.context import read_settings
from infra.common.nag import enable_nag
from infra.common.names import STACK_NAMES, Way
from infra.common.paths import REPO_ROOT


def cdk_json_context() -> dict[str, Any]:
    """The feature flags and context defaults `npx cdk synth` would pass, so tests synth the same app."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    context: dict[str, Any]
    templates: dict[Way, dict[str, Any]]

    def template(self, way: Way) -> assertions.Template:
        return assertions.Template.from_json(self.templates[way])

    def assets(self, way: Way) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.outdir / f"{STACK_NAMES[way]}.assets.json").read_text())
        return manifest

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.outdir / "manifest.json").read_text())
        return manifest


def _unacknowledged(outdir: Path) -> str:
    report = json.loads((outdir / "validation-report.json").read_text())
    return "\n".join(
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    )


def _synthesize(outdir: Path, context: dict[str, Any]) -> Synthesis:
    app = build_app(cdk.App(outdir=str(outdir), context=context))
    try:
        assembly = app.synth()
    except RuntimeError as error:  # jsii surfaces cdk-nag's "ValidationFailed" as RuntimeError
        pytest.fail(f"synth failed: {error}\nunacknowledged cdk-nag findings:\n{_unacknowledged(outdir)}")
    templates = {way: assembly.get_stack_by_name(name).template for way, name in STACK_NAMES.items()}
    return Synthesis(outdir=outdir, context=context, templates=templates)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    """The app as `npx cdk synth` builds it with cdk.json's defaults."""
    yield _synthesize(tmp_path_factory.mktemp("cdk.out"), cdk_json_context())


# Every non-default branch of the context at once: `-c architecture=arm64 -c functionUrlAuth=NONE
# -c lambdaReservedConcurrency=10 -c certificateArn=... -c domainName=...` (HTTPS on the ALBs).
ALTERNATIVE_CONTEXT: dict[str, str] = {
    "architecture": "arm64",
    "functionUrlAuth": "NONE",
    "lambdaReservedConcurrency": "10",
    "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "domainName": "predict.example.com",
}


@pytest.fixture(scope="session")
def synth_alternative(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    """The app with ALTERNATIVE_CONTEXT on top of cdk.json's (a second synth: only where it is asked for)."""
    yield _synthesize(tmp_path_factory.mktemp("cdk.out.alt"), {**cdk_json_context(), **ALTERNATIVE_CONTEXT})


# The Lambda cold-start modes besides the default on-demand (`-c lambdaColdStart=...`), each synthesized
# with the Lambda stack alone (the other stacks read none of it) and cdk-nag, as build_app adds it.
COLD_START_CONTEXTS: dict[str, dict[str, str]] = {
    "snapstart": {"lambdaColdStart": "snapstart"},
    "provisioned": {"lambdaColdStart": "provisioned", "lambdaProvisionedConcurrency": "2"},
}


def _synthesize_lambda(outdir: Path, context: dict[str, Any]) -> Synthesis:
    app = cdk.App(outdir=str(outdir), context=context)
    LambdaStack(app, STACK_NAMES["lambda"], settings=read_settings(app))
    enable_nag(app)
    try:
        assembly = app.synth()
    except RuntimeError as error:
        pytest.fail(f"synth failed: {error}\nunacknowledged cdk-nag findings:\n{_unacknowledged(outdir)}")
    template = assembly.get_stack_by_name(STACK_NAMES["lambda"]).template
    return Synthesis(outdir=outdir, context=context, templates={"lambda": template})


@pytest.fixture(scope="session", params=sorted(COLD_START_CONTEXTS))
def synth_cold_start(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The Lambda stack in one of COLD_START_CONTEXTS' modes (one synth per mode per session)."""
    context = {**cdk_json_context(), **COLD_START_CONTEXTS[request.param]}
    return _synthesize_lambda(tmp_path_factory.mktemp(f"cdk.out.{request.param}"), context)
