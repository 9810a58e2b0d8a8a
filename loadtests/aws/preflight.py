"""Before anything is scaled: every endpoint must answer GET /health from this machine, and the
Lambda function must be allowed as many environments at once as the load has users.

The ALBs admit only ``allowedIngressCidr`` (``ALLOWED_CIDR``, closed by default), and the cold
scenario scales services to 0 before it waits 15-20 minutes for them to come back: an endpoint
this machine cannot reach must stop the run here, at once, in one line.

Each Locust user keeps at most one request in flight, so Lambda needs up to one environment per
user. Past the function's reserved concurrency, or the account's unreserved concurrency (low in
a new account), Lambda answers 429: the run would measure the account's quota, not Lambda. The
Lambda runs are capped at the limit, and the run says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from infra.common.names import Way
from loadtests.aws.discovery import Deployment
from loadtests.comparison import http_status
from loadtests.locust_run import LoadSettings
from loadtests.signing import Auth

HEALTH_PATH = "/health"


class EndpointsUnreachable(RuntimeError):
    """One or more endpoints did not answer /health with 200: the message is one line."""


def check_endpoints(
    deployments: Mapping[Way, Deployment], auths: Mapping[Way, Auth], timeout: float = 10.0
) -> None:
    failures = []
    for way, deployment in deployments.items():
        url = f"{deployment.endpoint_url}{HEALTH_PATH}"
        status = http_status(url, auths[way], timeout)
        if status != 200:
            failures.append(f"{way} ({url}: {'no answer' if status is None else f'HTTP {status}'})")
    if failures:
        raise EndpointsUnreachable(
            f"Cannot reach {', '.join(failures)} from here. The load balancers admit only ALLOWED_CIDR: "
            "redeploy with ALLOWED_CIDR=<this machine's public ip>/32 (make deploy-ec2 deploy-ecs "
            "ALLOWED_CIDR=...); a Function URL with auth AWS_IAM needs credentials allowed "
            "lambda:InvokeFunctionUrl and lambda:InvokeFunction. Nothing was scaled."
        )


class NoLambdaConcurrency(RuntimeError):
    """The function may run no environment at all (reserved concurrency 0): the message is one line."""


def lambda_concurrency(lambda_client: Any, function_name: str) -> tuple[int, str]:
    """How many environments the function may run at once, and which limit says so."""
    reserved = lambda_client.get_function_concurrency(FunctionName=function_name)
    if reserved.get("ReservedConcurrentExecutions") is not None:
        limit = int(reserved["ReservedConcurrentExecutions"])
        return limit, f"the function's reserved concurrency ({limit})"
    account = lambda_client.get_account_settings()["AccountLimit"]
    unreserved = int(account["UnreservedConcurrentExecutions"])
    total = account["ConcurrentExecutions"]
    return unreserved, f"the account's unreserved concurrency ({unreserved} of {total})"


def cap_lambda_load(
    lambda_client: Any, function_name: str, settings: LoadSettings
) -> tuple[LoadSettings, str | None]:
    """The load settings for the Lambda runs: capped at the function's concurrency, with a line
    saying why; unchanged (and None) when every user fits."""
    limit, source = lambda_concurrency(lambda_client, function_name)
    if limit < 1:
        raise NoLambdaConcurrency(
            f"lambda: {source} lets the function run nothing: every request would get 429. Raise it "
            "(LAMBDA_RESERVED_CONCURRENCY=... make deploy-lambda) before make compare."
        )
    if max(settings.steady_users, settings.burst_users) <= limit:
        return settings, None
    capped = replace(
        settings, steady_users=min(settings.steady_users, limit), burst_users=min(settings.burst_users, limit)
    )
    return capped, (
        f"lambda: {source} allows {limit} environments at once, fewer than the "
        f"{settings.steady_users} steady / {settings.burst_users} burst users, which would be throttled "
        f"(429): Lambda runs with {capped.steady_users} / {capped.burst_users}. A new account's quota "
        "is low; Service Quotas raises it."
    )
