"""The local Function URL, checked against the real handler: the events it builds are what Mangum
accepts as Function URL (payload 2.0) events, its responses map back to HTTP, and with auth AWS_IAM
it checks SigV4 signatures as AWS does (over HTTP on 127.0.0.1): unsigned, tampered or mis-signed
requests get 403 without reaching the function, and requests botocore signed with the demo's
identity get through, also from a real Locust run."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from unittest import mock

import pytest
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.common.paths import REPO_ROOT
from infra.local.function_url import sigv4
from infra.local.function_url.app import FunctionUrlApp
from infra.local.function_url.events import function_url_event, http_response
from infra.local.function_url.pool import EnvironmentPool
from infra.local.function_url.sigv4 import DEMO_IDENTITY, DEMO_REGION, Identity
from infra.local.process import LOOPBACK, free_port
from loadtests.analysis import load_samples
from loadtests.comparison import run_scenario, wait_until_ready
from loadtests.locust_run import LoadSettings
from loadtests.signing import NO_AUTH, host_header, signed_headers
from serving.lambda_handler import handler


def invoke(event: dict) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = http_response(handler(event, SimpleNamespace()))
    return status, {name.decode(): value.decode() for name, value in headers}, body


def test_a_predict_request_round_trips_through_the_lambda_handler(holdout: dict) -> None:
    body = json.dumps({"instances": holdout["rows"][:3]}).encode()
    headers = [(b"host", b"127.0.0.1:9"), (b"content-type", b"application/json"), (b"x-request-id", b"abc")]
    event = function_url_event("POST", "/predict", body, headers=headers)

    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/predict",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "",
    }
    status, response_headers, payload = invoke(event)
    assert status == 200
    assert len(json.loads(payload)["predictions"]) == 3
    assert response_headers["x-request-id"] == "abc"
    assert invoke(event)[1]["x-cold-start"] == "false"  # this process has served one already


def shape(value: Any) -> Any:
    """An event's keys, nested; the header and query maps are free-form, so only their presence counts."""
    if not isinstance(value, dict):
        return None
    return {key: None if key in FREE_FORM else shape(item) for key, item in value.items()}


FREE_FORM = {"headers", "queryStringParameters"}
DOCUMENTED_EVENT = REPO_ROOT / "tests" / "serving" / "events" / "function_url.json"


def test_a_full_event_has_the_documented_shape() -> None:
    """Every field of AWS's documented Function URL event, and none besides (caller, query, cookie, body)."""
    headers = {"content-type": "application/json", "cookie": "a=1"}
    event = function_url_event("POST", "/p", b"{}", query="q=1", headers=headers, caller=DEMO_IDENTITY)

    assert shape(event) == shape(json.loads(DOCUMENTED_EVENT.read_text()))


def test_query_strings_repeated_headers_cookies_and_binary_bodies_follow_the_format() -> None:
    headers = [
        (b"Accept", b"a"),
        (b"accept", b"b"),
        (b"cookie", b"x=1; y=2"),
        (b"content-type", b"image/png"),
    ]
    event = function_url_event(
        "PUT", "/p", b"\x00\x01", query="k=1&k=2&z=", headers=headers, source_ip="10.0.0.1"
    )
    assert event["headers"]["accept"] == "a,b"
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["queryStringParameters"] == {"k": "1,2", "z": ""}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\x01"


def test_errors_and_non_response_values_map_like_a_function_url() -> None:
    assert http_response({"errorType": "RuntimeError", "errorMessage": "boom"})[0] == 502
    assert http_response({"answer": 42}) == (200, [(b"content-type", b"application/json")], b'{"answer": 42}')
    status, headers, body = http_response(
        {
            "statusCode": 201,
            "headers": {"X-A": "1"},
            "cookies": ["c=1"],
            "body": "aGk=",
            "isBase64Encoded": True,
        }
    )
    assert (status, body) == (201, b"hi")
    assert (b"x-a", b"1") in headers and (b"set-cookie", b"c=1") in headers


def test_an_unknown_route_is_the_app_s_404_not_the_adapter_s(holdout: dict) -> None:
    event = function_url_event("GET", "/nope")
    status, _, payload = invoke(event)
    assert status == 404 and "detail" in json.loads(payload)


# ---------------------------------------------------------------- auth AWS_IAM: SigV4, checked as AWS does
class InProcessFunction:
    """Stands in for the EnvironmentPool behind the Function URL: one environment running the real
    handler in this process (what is under test is the auth in front of the pool)."""

    concurrency_limit = 1
    idle_timeout = 300.0
    throttles = 0
    launcher = SimpleNamespace(description="the handler in the test process")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        # Mangum needs an event loop in the thread that calls it.
        self.executor = ThreadPoolExecutor(
            1, initializer=lambda: asyncio.set_event_loop(asyncio.new_event_loop())
        )

    def invoke(self, event: dict[str, Any]) -> tuple[Any, bool]:
        self.events.append(event)
        result = self.executor.submit(handler, event, SimpleNamespace()).result()
        return result, len(self.events) == 1

    def environments(self) -> list[dict[str, Any]]:
        return []

    def retire_all(self, reason: str = "forced") -> None:
        pass

    def retire_idle(self) -> int:
        return 0


@contextlib.contextmanager
def serve_function_url(
    auth_type: str, identities: tuple[Identity, ...] = (DEMO_IDENTITY,), region: str = DEMO_REGION
) -> Iterator[tuple[str, InProcessFunction]]:
    """The local Function URL on 127.0.0.1 (uvicorn in a thread) in front of ``InProcessFunction``."""
    function = InProcessFunction()
    app = FunctionUrlApp(
        cast(EnvironmentPool, function), auth_type=auth_type, region=region, identities=identities
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the Function URL did not start"
        time.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{port}", function
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        function.executor.shutdown()


@pytest.fixture
def iam_url() -> Iterator[tuple[str, InProcessFunction]]:
    with serve_function_url("AWS_IAM") as served:
        yield served


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def demo_signed(
    url: str, body: bytes, credentials: Credentials | None = None, region: str = DEMO_REGION
) -> dict[str, str]:
    return signed_headers(credentials or DEMO_CREDENTIALS, region, "POST", url, body, JSON)


DEMO_CREDENTIALS = Credentials(DEMO_IDENTITY.access_key_id, DEMO_IDENTITY.secret_access_key)
JSON = {"content-type": "application/json"}


def test_the_checker_reproduces_the_published_sigv4_test_vector() -> None:
    """AWS's SigV4 test suite, get-vanilla: the checker is independent of botocore, and agrees with AWS."""
    headers = {"host": ["example.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]}
    canonical = sigv4.canonical_request(
        "GET", "/", "", headers, ["host", "x-amz-date"], sigv4._payload_hash({}, b"")
    )
    signature = sigv4.signature(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z", "us-east-1", "service", canonical
    )
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_an_unsigned_request_gets_403_and_never_reaches_the_function(
    iam_url: tuple[str, InProcessFunction], holdout: dict
) -> None:
    url, function = iam_url
    status, answer = post(f"{url}/predict", json.dumps({"instances": holdout["rows"][:1]}).encode(), JSON)
    assert (status, answer) == (403, {"Message": "Forbidden"})
    assert function.events == []


def test_a_signed_request_gets_through_with_the_caller_in_the_event(
    iam_url: tuple[str, InProcessFunction], holdout: dict
) -> None:
    url, function = iam_url
    body = json.dumps({"instances": holdout["rows"][:2]}).encode()
    status, answer = post(f"{url}/predict", body, demo_signed(f"{url}/predict", body))
    assert status == 200 and len(answer["predictions"]) == 2
    (event,) = function.events
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == DEMO_IDENTITY.access_key_id
    assert event["requestContext"]["accountId"] == DEMO_IDENTITY.account_id


MISMATCH = "The request signature we calculated does not match"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("body changed after signing", MISMATCH),
        ("signed header changed", MISMATCH),
        ("wrong secret key", MISMATCH),
        ("unknown access key", "The security token included in the request is invalid."),
        ("signed ten minutes ago", "Signature expired"),
        ("scoped to another region", "/eu-west-1/lambda/aws4_request"),
        ("scoped to another service", "/us-east-1/execute-api/aws4_request"),
        ("signature truncated", "Authorization header requires AWS4-HMAC-SHA256"),
    ],
)
def test_a_tampered_or_mis_signed_request_gets_403(
    tamper: str, reason: str, iam_url: tuple[str, InProcessFunction], holdout: dict
) -> None:
    url, function = iam_url
    target = f"{url}/predict"
    body = json.dumps({"instances": holdout["rows"][:1]}).encode()
    sent = body
    if tamper == "wrong secret key":
        headers = demo_signed(target, body, Credentials(DEMO_IDENTITY.access_key_id, "not-the-secret"))
    elif tamper == "unknown access key":
        headers = demo_signed(
            target, body, Credentials("AKIAUNKNOWN000000000", DEMO_IDENTITY.secret_access_key)
        )
    elif tamper == "scoped to another region":
        headers = demo_signed(target, body, region="eu-west-1")
    elif tamper == "signed ten minutes ago":
        with mock.patch(
            "botocore.auth.get_current_datetime",
            return_value=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10),
        ):
            headers = demo_signed(target, body)
    elif tamper == "scoped to another service":
        request = AWSRequest("POST", target, data=body, headers={"host": host_header(target), **JSON})
        SigV4Auth(DEMO_CREDENTIALS, "execute-api", DEMO_REGION).add_auth(request)
        headers = dict(request.headers.items())
    else:
        headers = demo_signed(target, body)
        if tamper == "body changed after signing":
            sent = body.replace(b"[", b"[ ", 1)
        elif tamper == "signed header changed":
            headers["content-type"] = "application/json; charset=utf-8"
        elif tamper == "signature truncated":
            headers["Authorization"] = headers["Authorization"][:-1]
    status, answer = post(target, sent, headers)
    assert status == 403 and reason in answer["Message"], answer
    assert function.events == []


def test_with_auth_none_anyone_gets_through(holdout: dict) -> None:
    with serve_function_url("NONE") as (url, function):
        body = json.dumps({"instances": holdout["rows"][:1]}).encode()
        status, answer = post(f"{url}/predict", body, JSON)
    assert status == 200 and len(answer["predictions"]) == 1
    assert "authorizer" not in function.events[0]["requestContext"]


@pytest.mark.load
def test_the_demo_s_locust_run_signs_with_the_demo_identity_and_gets_through(
    iam_url: tuple[str, InProcessFunction], tmp_path: Path
) -> None:
    """`make demo`'s path: run_scenario waits for /ready (signed), then a real Locust run signs
    every request with the demo's fake credentials; the local URL checks and lets each through."""
    url, function = iam_url
    settings = LoadSettings(steady_users=2, ramp_seconds=1, hold_seconds=2)
    steady = run_scenario("lambda", "steady", url, tmp_path, settings)

    samples = load_samples(tmp_path / "lambda" / "steady")
    assert samples and all(s["status"] == 200 for s in samples)
    assert all(s["sign_ms"] > 0 for s in samples)
    assert steady["errors"] == 0 and steady["signing_ms"]["requests"] == steady["requests"] > 0
    assert function.events[0]["rawPath"] == "/ready"  # the readiness probe, signed too
    assert all(e["requestContext"]["authorizer"]["iam"]["accessKey"] == DEMO_IDENTITY.access_key_id
               for e in function.events)  # fmt: skip


def test_an_unsigned_ready_probe_stops_at_once_instead_of_waiting() -> None:
    with serve_function_url("AWS_IAM") as (url, _), pytest.raises(PermissionError, match="403"):
        wait_until_ready(url, NO_AUTH, timeout=60, sleep=lambda _: None)
