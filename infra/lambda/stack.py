"""The app as a function: the Dockerfile's `lambda` target behind a Lambda Function URL; on-demand
cold starts by default, the only mode whose idle cost is $0 (snapstart and provisioned: opt in).

Same FastAPI app, adapted by Mangum (serving/lambda_handler.py). Each execution environment imports
the app, and so loads the ONNX model, once during Lambda's init phase: that is the cold start the load
tests measure.

`-c lambdaColdStart=snapstart|provisioned` publishes a version on each deploy that changes the
function, points an alias at it and moves the Function URL to the alias: SnapStart restores a
snapshot of the version's initialized environment instead of running init (serving/lambda_handler.py
holds the hooks); provisioned concurrency keeps `lambdaProvisionedConcurrency` environments of it
initialized. Either way idle time is billed; docs/decision-guide.md weighs the three.

Note: `lambda` is a Python keyword, so this module is loaded with
``importlib.import_module("infra.lambda.stack")`` (see infra/app.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.common import app_image, names, sizing
from infra.common.context import Settings

# The alias the Function URL serves in the snapstart and provisioned modes.
LIVE_ALIAS = "live"


class LambdaStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        description = "One Model, Three Ways: the app as a container-image Lambda function with a URL"
        snapstart = settings.lambda_cold_start == "snapstart"
        provisioned = settings.lambda_cold_start == "provisioned"
        super().__init__(scope, construct_id, description=description, **kwargs)

        # Logs: our own log group, so retention is explicit and `cdk destroy` removes it.
        log_group = logs.LogGroup(
            self,
            "FunctionLogs",
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

        # An explicit role that may write to that one log group and nothing else (the default role
        # would carry the AWSLambdaBasicExecutionRole managed policy, which writes to any log group).
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="One Model Lambda: write its own logs, nothing else",
        )
        log_group.grant_write(role)

        # The function. `architecture` (what Lambda runs) and the image `platform` (what Docker builds)
        # come from the same context value, so they cannot disagree.
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="One Model, Three Ways: FastAPI + onnxruntime via Mangum",
            code=lambda_.DockerImageCode.from_image_asset(
                app_image.BUILD_CONTEXT,
                target="lambda",
                platform=settings.image_platform,
                exclude=app_image.NOT_IN_BUILD_CONTEXT,
            ),
            architecture=settings.lambda_architecture,
            # Memory buys CPU: this size is about one Fargate task's (sizing.lambda_vcpus), like for like.
            memory_size=sizing.LAMBDA_MEMORY_MB,
            # Above the 10 s init limit: an init that overruns is retried inside the first invoke.
            timeout=cdk.Duration.seconds(sizing.LAMBDA_TIMEOUT_SECONDS),
            # None by default, so any account can deploy it (docs/deploy.md: what a reservation needs).
            reserved_concurrent_executions=settings.lambda_reserved_concurrency,
            role=role,
            log_group=log_group,
            # SnapStart snapshots each published version once it is initialized (init runs then,
            # not on a request); the alias below publishes one.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snapstart else None,
            # A replaced version is deleted: each version SnapStart caches is billed while it exists.
            current_version_options=lambda_.VersionOptions(removal_policy=cdk.RemovalPolicy.DESTROY),
        )
        if snapstart:
            cdk.Annotations.of(function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish", "the alias below publishes a version"
            )

        # Alias (snapstart, provisioned): `current_version` is a new version whenever the function's
        # code or configuration changes, so each such deploy publishes one and moves the alias to it.
        # On-demand serves $LATEST, which the load tests' cold forcing resets (loadtests/aws/cold.py).
        alias = None
        if settings.lambda_cold_start != "on-demand":
            alias = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name=LIVE_ALIAS,
                version=function.current_version,
                provisioned_concurrent_executions=(
                    settings.lambda_provisioned_concurrency if provisioned else None
                ),
            )

        # Function URL, AWS_IAM by default: Lambda refuses (403) any request not SigV4-signed by a
        # principal of this account allowed to invoke it, before the function runs. NONE makes it
        # public, billed to this account (docs/deploy.md). In the alias modes it serves the alias.
        function_url = (alias or function).add_function_url(
            auth_type=lambda_.FunctionUrlAuthType[settings.function_url_auth]
        )
        if settings.function_url_auth == "NONE":
            cdk.Annotations.of(function_url).add_warning_v2(
                "one-model:public-function-url",
                "functionUrlAuth=NONE: anyone with the URL can invoke the function, billed to this "
                "account; lambdaReservedConcurrency bounds how many environments they can hold.",
            )

        # Outputs: what the load tests read (infra/common/names.py OUTPUTS_BY_WAY["lambda"]). The URL
        # ends with "/", which discovery strips like any base URL's.
        cdk.CfnOutput(self, names.OUTPUT_ENDPOINT_URL, value=function_url.url)
        cdk.CfnOutput(self, names.OUTPUT_WAY, value="lambda")
        cdk.CfnOutput(self, names.OUTPUT_ARCHITECTURE, value=settings.architecture)
        cdk.CfnOutput(self, names.OUTPUT_LOG_GROUP_NAME, value=log_group.log_group_name)
        cdk.CfnOutput(self, names.OUTPUT_FUNCTION_NAME, value=function.function_name)
        # The load tests sign their requests when this says AWS_IAM.
        cdk.CfnOutput(self, names.OUTPUT_FUNCTION_URL_AUTH, value=settings.function_url_auth)
        # `make compare` reads the mode, and where it must force or find fresh environments.
        cdk.CfnOutput(self, names.OUTPUT_COLD_START, value=settings.lambda_cold_start)
        if alias is not None:
            cdk.CfnOutput(self, names.OUTPUT_ALIAS_NAME, value=alias.alias_name)
        if provisioned:
            cdk.CfnOutput(
                self, names.OUTPUT_PROVISIONED_CONCURRENCY, value=str(settings.lambda_provisioned_concurrency)
            )
