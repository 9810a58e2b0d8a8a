"""The local Function URL's translation, checked against the real handler: the events it builds
are what Mangum accepts as Function URL (payload 2.0) events, and its responses map back to HTTP."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

from loadtests.local.function_url import function_url_event, http_response
from serving.lambda_handler import handler


def invoke(event: dict) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = http_response(handler(event, SimpleNamespace()))
    return status, {name.decode(): value.decode() for name, value in headers}, body


def test_a_predict_request_round_trips_through_the_lambda_handler(holdout: dict) -> None:
    body = json.dumps({"instances": holdout["rows"][:3]}).encode()
    headers = [(b"host", b"127.0.0.1:9"), (b"content-type", b"application/json"), (b"x-request-id", b"abc")]
    event = function_url_event("POST", "/predict", "", headers, body, "127.0.0.1")

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
    assert response_headers["x-cold-start"] in {"true", "false"}


def test_query_strings_repeated_headers_cookies_and_binary_bodies_follow_the_format() -> None:
    headers = [
        (b"Accept", b"a"),
        (b"accept", b"b"),
        (b"cookie", b"x=1; y=2"),
        (b"content-type", b"image/png"),
    ]
    event = function_url_event("PUT", "/p", "k=1&k=2&z=", headers, b"\x00\x01", "10.0.0.1")
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
    event = function_url_event("GET", "/nope", "", [(b"host", b"h")], b"", "127.0.0.1")
    status, _, payload = invoke(event)
    assert status == 404 and "detail" in json.loads(payload)
