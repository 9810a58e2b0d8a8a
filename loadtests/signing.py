"""The client side of a Function URL with auth ``AWS_IAM``: every request signed with SigV4
(botocore's ``SigV4Auth``, service ``lambda``) by the caller's credentials, in the function's region.

Only the Lambda way needs this: the ALBs take plain HTTP. Signing is client-side CPU work per
request (a canonical request, a SHA-256 of the body, five HMACs), so the load test times it and the
report shows it beside the latencies, which do not include it.

A Locust run is told to sign by ``LOADTEST_SIGV4_REGION`` in its environment; its user takes the
credentials from the SDK's usual chain in the Locust process (refreshed as they expire). The demo
signs with the local Function URL's fixed fake identity (``infra.local.function_url.sigv4.DEMO_IDENTITY``),
passed to Locust as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.local.function_url.sigv4 import DEMO_IDENTITY, DEMO_REGION, SERVICE

REGION_VARIABLE = "LOADTEST_SIGV4_REGION"
AUTH_NONE, AUTH_IAM = "NONE", "AWS_IAM"
# Credentials from the environment, never from instance metadata (see infra/common/credentials.py).
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@dataclass(frozen=True)
class Auth:
    """How a target is called: plain (``NONE``) or SigV4-signed (``AWS_IAM``) in ``region``.
    ``credentials`` None means the SDK's own chain (the caller's); set for the demo's fake identity."""

    type: str = AUTH_NONE
    region: str | None = None
    credentials: Credentials | None = None

    @property
    def signs(self) -> bool:
        return self.type == AUTH_IAM

    def locust_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """Locust's environment: ``base`` plus what its user needs to sign like this."""
        env = {k: v for k, v in base.items() if k != REGION_VARIABLE}
        env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        if not self.signs:
            return env
        env[REGION_VARIABLE] = str(self.region)
        if self.credentials is not None:
            env = {k: v for k, v in env.items() if k not in _CREDENTIAL_VARIABLES}
            env["AWS_ACCESS_KEY_ID"] = self.credentials.access_key
            env["AWS_SECRET_ACCESS_KEY"] = self.credentials.secret_key
            if self.credentials.token:
                env["AWS_SESSION_TOKEN"] = self.credentials.token
        return env


NO_AUTH = Auth()
DEMO_AUTH = Auth(
    AUTH_IAM, DEMO_REGION, Credentials(DEMO_IDENTITY.access_key_id, DEMO_IDENTITY.secret_access_key)
)


def caller_credentials() -> Credentials:
    """The caller's credentials from the SDK's chain (AWS_PROFILE, the environment, SSO ...), never
    from instance metadata unless AWS_EC2_METADATA_DISABLED=false; refreshable ones refresh when read."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise LookupError("no AWS credentials to sign the Function URL requests with")
    return credentials


def signed_headers(
    credentials: Credentials, region: str, method: str, url: str, body: bytes, headers: Mapping[str, str]
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, Authorization (and X-Amz-Security-Token) for this request."""
    # Host is signed, so it is set here rather than left to the HTTP client to add as it likes.
    request = AWSRequest(method=method, url=url, data=body, headers={"Host": host_header(url), **headers})
    SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(request)
    return dict(request.headers.items())


def timed_signed_headers(
    credentials: Credentials, region: str, method: str, url: str, body: bytes, headers: Mapping[str, str]
) -> tuple[dict[str, str], float]:
    """``signed_headers`` and the milliseconds it took (the client-side cost of AWS_IAM)."""
    started = time.perf_counter()
    sent = signed_headers(credentials, region, method, url, body, headers)
    return sent, (time.perf_counter() - started) * 1000


def request(
    auth: Auth, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> urllib.request.Request:
    """A urllib request, signed when ``auth`` says so (the orchestrators' /health and /ready probes)."""
    plain = dict(headers or {})
    if auth.signs:
        credentials = auth.credentials or caller_credentials()
        plain = signed_headers(credentials, str(auth.region), method, url, body, plain)
    return urllib.request.Request(url, data=body or None, headers=plain, method=method)


def host_header(url: str) -> str:
    """What an HTTP/1.1 client sends as Host: the host, and the port unless it is the scheme's default."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    return host if parts.port in (None, default) else f"{host}:{parts.port}"
