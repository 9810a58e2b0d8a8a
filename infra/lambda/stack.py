"""The app as a function: the Dockerfile's `lambda` target behind a Lambda Function URL.

Same FastAPI app, adapted by Mangum (serving/lambda_handler.py). Each execution environment imports
the app, and so loads the ONNX model, once during Lambda's init phase: that is the cold start the load
tests measure.

Note: `lambda` is a Python keyword, so this module is loaded with
``importlib.import_module("infra.lambda.stack")`` (see infra/app.py).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.common import names, shared, sizing


class LambdaStack(cdk.Stack):
    def __init__(self, scope: Construct, settings: shared.Settings) -> None:
        super().__init__(
            scope,
            names.STACK_NAMES["lambda"],
            **shared.stack_props(
                "lambda", "the app as a container-image Lambda function with a Function URL"
            ),
        )

        # Logs: our own log group, so retention is explicit and `cdk destroy` removes it.
        log_group = logs.LogGroup(
            self,
            "FunctionLogs",
            retention=shared.LOG_RETENTION,
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

        # The function. `architecture` (what Lambda runs) and the image `platform` (what Docker builds,
        # set in shared.image_asset_options) come from the same context value, so they cannot disagree.
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="One Model, Three Ways: FastAPI + onnxruntime via Mangum",
            code=lambda_.DockerImageCode.from_image_asset(**shared.image_asset_options(settings, "lambda")),
            architecture=shared.lambda_architecture(settings),
            # 1024 MB: CPU is allotted in proportion to memory, and 1024 MB (~0.58 vCPU) is about one
            # Fargate task's 0.5 vCPU, so the per-request numbers compare like for like. The process
            # needs ~250 MB (Python + onnxruntime + the model); the rest is bought for CPU.
            memory_size=sizing.LAMBDA_MEMORY_MB,
            # 15 s: a prediction takes milliseconds; the timeout only bounds what a stuck request costs.
            # It is above the 10 s init limit, because an init that overruns is retried inside the
            # first invoke and counts against this timeout.
            timeout=cdk.Duration.seconds(sizing.LAMBDA_TIMEOUT_SECONDS),
            # The cost guard for a public URL: at most this many environments exist at once, so the
            # worst case is bounded (10 x 1 GB x 3600 s = 36,000 GB-s, about $0.60/hour on x86 at list
            # price, plus requests). Excess requests get HTTP 429, which the load tests report.
            reserved_concurrent_executions=settings.lambda_reserved_concurrency,
            role=role,
            log_group=log_group,
        )

        # Function URL, auth NONE, on purpose: the load tests send the same plain HTTP request to all
        # three ways, and SigV4 signing would add client-side work to only one of them. The URL cannot
        # be limited by source IP (the ALBs can), so the reserved concurrency above is the guard, and
        # the stack is meant to be destroyed after the benchmark (`make destroy-lambda`).
        function_url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)

        shared.add_outputs(
            self,
            "lambda",
            {
                # The URL ends with "/"; the contract is a base URL without it, like the ALB ones.
                names.OUTPUT_ENDPOINT_URL: "https://" + cdk.Fn.select(2, cdk.Fn.split("/", function_url.url)),
                names.OUTPUT_WAY: "lambda",
                names.OUTPUT_FUNCTION_NAME: function.function_name,
                names.OUTPUT_LOG_GROUP_NAME: log_group.log_group_name,
            },
        )
