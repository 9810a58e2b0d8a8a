"""CDK entry point: one app, three stacks, one per way of shipping the same FastAPI app.

    npx cdk synth                      # what `make synth` runs (cdk.json: .venv/bin/python -m infra.app)
    npx cdk deploy OneModel-Lambda     # or `make deploy-lambda`

Context (`-c key=value`, defaults in cdk.json): allowedIngressCidr, architecture, functionUrlAuth,
lambdaReservedConcurrency, lambdaColdStart, lambdaProvisionedConcurrency, certificateArn and domainName
(HTTPS on the ALBs); see infra/common/context.py.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import aws_cdk as cdk

from infra.common.context import read_settings
from infra.common.nag import enable_nag
from infra.common.names import PROJECT_TAG, STACK_NAMES
from infra.ec2.stack import Ec2Stack
from infra.ecs.stack import EcsStack

# `lambda` is a Python keyword, so `from infra.lambda.stack import LambdaStack` is a syntax error.
# The folder keeps the name the issue, the Makefile and the README use for this way; importlib
# loads it like any other module. mypy needs no setting for it: it checks infra/lambda/stack.py as
# the module infra.lambda.stack (only the import statement is out of reach, hence importlib).
LambdaStack = importlib.import_module("infra.lambda.stack").LambdaStack


def cli_environment() -> cdk.Environment:
    """The account and region the CDK CLI resolved from your credentials (CDK_DEFAULT_*), or neither
    (no credentials: the tests, an offline `make synth`): the EC2 stack pins its AMI only with both."""
    return cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    )


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Add the three stacks and the cdk-nag checks to ``app`` (tests pass their own App).

    Each stack is named and tagged for its way (CloudFormation copies stack tags to the resources).
    """
    app = app or cdk.App()
    settings = read_settings(app)
    Ec2Stack(
        app,
        STACK_NAMES["ec2"],
        settings=settings,
        bundle_staging_dir=Path(app.outdir) / "ec2-bundle-source",
        tags={"Project": PROJECT_TAG, "Way": "ec2"},
        env=cli_environment(),
    )
    EcsStack(app, STACK_NAMES["ecs"], settings=settings, tags={"Project": PROJECT_TAG, "Way": "ecs"})
    LambdaStack(app, STACK_NAMES["lambda"], settings=settings, tags={"Project": PROJECT_TAG, "Way": "lambda"})
    enable_nag(app)
    return app


if __name__ == "__main__":
    build_app().synth()
