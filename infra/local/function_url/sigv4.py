"""AWS Signature Version 4 checked the way a Function URL with auth ``AWS_IAM`` checks it, for the
local Function URL: the demo's one fixed fake identity is the only caller it knows.

Written from the SigV4 specification with hashlib and hmac, not with botocore's signer: the load
tests sign with botocore, and a checker built from the same code would agree with any mistake it
made. A request passes when its ``Authorization`` header names a known access key, a credential
scope of this region and the ``lambda`` service, a timestamp within five minutes, signed headers
that include ``host``, and a signature that matches the canonical request (method, path, query,
signed headers, SHA-256 of the body). Anything else gets 403, as on AWS. Presigned query strings
(``X-Amz-Signature=...``) are not accepted here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "lambda"
MAX_CLOCK_SKEW = timedelta(minutes=5)
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM} Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Identity:
    """An IAM principal: its access key pair and what a Function URL event says about the caller."""

    access_key_id: str
    secret_access_key: str
    account_id: str
    user_arn: str
    user_id: str
    session_token: str | None = None  # temporary credentials also send X-Amz-Security-Token

    def authorizer(self) -> dict[str, object]:
        """``requestContext.authorizer`` of a Function URL event for a request this identity signed."""
        return {
            "iam": {
                "accessKey": self.access_key_id,
                "accountId": self.account_id,
                "callerId": self.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        }


# The demo's caller, defined once: `make demo`'s Locust runs sign with it and the local Function URL
# accepts it. Fake by construction (an access key id no AWS account has), and useless anywhere else.
DEMO_IDENTITY = Identity(
    access_key_id="AKIAONEMODELDEMO0000",
    secret_access_key="one-model-three-ways/local-demo/not-a-secret",
    account_id="000000000000",
    user_arn="arn:aws:iam::000000000000:user/one-model-demo",
    user_id="AIDAONEMODELDEMO0000",
)
DEMO_REGION = "us-east-1"


class Forbidden(Exception):
    """The request is not signed, or not signed right: the Function URL answers 403 with this message."""


def verify(
    method: str,
    raw_path: str,
    query: str,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    identities: Mapping[str, Identity],
    region: str,
    now: datetime | None = None,
) -> Identity:
    """The identity that signed this request; raises Forbidden when it is not a valid signature."""
    by_name = _header_map(headers)
    authorization = by_name.get("authorization")
    if authorization is None:
        raise Forbidden("Forbidden")
    match = _AUTHORIZATION.match(" ".join(authorization))
    if match is None:
        raise Forbidden(
            f"Authorization header requires {ALGORITHM} with Credential, SignedHeaders, Signature."
        )
    access_key, _, scope = match["credential"].partition("/")
    identity = identities.get(access_key)
    if identity is None:
        raise Forbidden("The security token included in the request is invalid.")
    timestamp = _timestamp(by_name, now or datetime.now(UTC))
    expected_scope = f"{timestamp[:8]}/{region}/{SERVICE}/aws4_request"
    if scope != expected_scope:
        raise Forbidden(f"Credential should be scoped to {expected_scope}, not {scope}.")
    signed = match["signed"].split(";")
    if "host" not in signed or signed != sorted(set(signed)):
        raise Forbidden("SignedHeaders must be sorted, unique, and include host.")
    if by_name.get("x-amz-security-token", [None]) != [identity.session_token]:
        raise Forbidden("The security token included in the request is invalid.")
    canonical = canonical_request(method, raw_path, query, by_name, signed, _payload_hash(by_name, body))
    expected = signature(identity.secret_access_key, timestamp, region, SERVICE, canonical)
    if not hmac.compare_digest(expected, match["signature"]):
        raise Forbidden(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return identity


def canonical_request(
    method: str, raw_path: str, query: str, headers: Mapping[str, list[str]], signed: list[str], payload: str
) -> str:
    missing = [name for name in signed if name not in headers]
    if missing:
        raise Forbidden(f"Signed headers {missing} are not in the request.")
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(value.split()) for value in headers[name])}\n" for name in signed
    )
    return "\n".join(
        [
            method.upper(),
            quote(_remove_dot_segments(raw_path) or "/", safe="/~"),
            "&".join(sorted(query.split("&"))) if query else "",
            canonical_headers,
            ";".join(signed),
            payload,
        ]
    )


def signature(secret: str, timestamp: str, region: str, service: str, canonical: str) -> str:
    """The hex signature of a canonical request: the string to sign, HMAC'd with the derived key."""
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (timestamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _header_map(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return by_name


def _timestamp(headers: Mapping[str, list[str]], now: datetime) -> str:
    values = headers.get("x-amz-date")
    if not values:
        raise Forbidden("The request must carry an X-Amz-Date header.")
    try:
        signed_at = datetime.strptime(values[0], TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Forbidden(f"X-Amz-Date {values[0]!r} is not of the form {TIMESTAMP_FORMAT}.") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise Forbidden(
            f"Signature expired: {values[0]} is not within 5 minutes of {now:{TIMESTAMP_FORMAT}}."
        )
    return values[0]


def _payload_hash(headers: Mapping[str, list[str]], body: bytes) -> str:
    actual = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256")
    if declared and declared[0] != actual:
        raise Forbidden("The provided 'x-amz-content-sha256' header does not match what was computed.")
    return actual


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, with empty segments dropped too, as SigV4 normalizes paths (not for S3)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing if path.startswith("/") else "/".join(segments) + trailing
