"""A Function URL request as the event Lambda hands the function, and its result back as HTTP.

The one home of the Function URL event builder (payload format 2.0, AWS's documented shape:
tests/serving/events/function_url.json): the local Function URL builds its events here, and so do
the bench and the tests that invoke the handler or the Lambda image directly.

A body is passed as text when its content type is textual, else base64-encoded with
``isBase64Encoded`` set, as a Function URL does (a binary inference request, for one).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from infra.local.function_url.sigv4 import DEMO_REGION, Identity

URL_ID = "local0functionurl0000000000000000"
DOMAIN = f"{URL_ID}.lambda-url.{DEMO_REGION}.on.aws"
TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")
Headers = Mapping[str, str] | Iterable[tuple[bytes, bytes]]
HttpResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


def function_url_event(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    headers: Headers | None = None,
    source_ip: str = "127.0.0.1",
    caller: Identity | None = None,
) -> dict[str, Any]:
    """The event Lambda builds for one Function URL request.

    ``headers`` are the request's (name/value pairs as an ASGI server has them, or a mapping);
    without them, what a client's request to the URL carries. ``caller`` is the IAM identity that
    signed the request when the URL's auth is AWS_IAM.
    """
    merged, cookies = _merge(headers if headers is not None else _client_headers(body, source_ip))
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "authentication": None,
            "domainName": merged.get("host", DOMAIN),
            "domainPrefix": URL_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "pathParameters": None,
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    if caller is not None:
        event["requestContext"]["accountId"] = caller.account_id
        event["requestContext"]["authorizer"] = caller.authorizer()
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = _query_parameters(query)
    if body:
        text = merged.get("content-type", "").lower().startswith(TEXT_TYPES)
        event["body"] = body.decode() if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    return event


def _client_headers(body: bytes, source_ip: str) -> dict[str, str]:
    headers = {
        "host": DOMAIN,
        "user-agent": "one-model-local",
        "accept": "*/*",
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body:
        headers |= {"content-type": "application/json", "content-length": str(len(body))}
    return headers


def _merge(headers: Headers) -> tuple[dict[str, str], list[str]]:
    """Lower-cased names, repeated headers joined with commas, cookies apart: the event's form."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in pairs:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        if name == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        else:
            merged[name] = f"{merged[name]},{value}" if name in merged else value
    return merged, cookies


def _query_parameters(query: str) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        params.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in params.items()}


def http_response(result: Any) -> HttpResponse:
    """The function's return value as the HTTP response the Function URL sends."""
    if isinstance(result, dict) and "errorType" in result and "statusCode" not in result:
        return 502, [(b"content-type", b"application/json")], b'{"Message":"Internal Server Error"}'
    if not isinstance(result, dict) or "statusCode" not in result:
        # A value that is not a response object is returned as a JSON body with status 200.
        return 200, [(b"content-type", b"application/json")], json.dumps(result).encode()
    headers = [(k.lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name.lower().encode(), str(v).encode()) for v in values]
    headers += [(b"set-cookie", cookie.encode()) for cookie in result.get("cookies") or ()]
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, payload
