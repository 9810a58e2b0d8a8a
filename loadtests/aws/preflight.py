"""Before anything is scaled: every endpoint must answer GET /health from this machine.

The ALBs admit only ``allowedIngressCidr`` (``ALLOWED_CIDR``, closed by default), and the cold
scenario scales services to 0 before it waits 15-20 minutes for them to come back: an endpoint
this machine cannot reach must stop the run here, at once, in one line.
"""

from __future__ import annotations

from collections.abc import Mapping

from infra.common.names import Way
from loadtests.aws.discovery import Deployment
from loadtests.run import http_status
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
