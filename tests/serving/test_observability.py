"""The request middleware, each on a bare Starlette app: the cold flag, request ids, the JSON
log line, bounded metric labels and clients that go away (telemetry); the body read timeout."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message

from serving.logs import configure_logging
from serving.middleware.body_timeout import BodyTimeoutMiddleware
from serving.middleware.telemetry import TelemetryMiddleware


def _tiny_app() -> Starlette:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/health", hello)])
    app.add_middleware(TelemetryMiddleware, model_version="v-test")
    return app


def test_only_the_first_request_a_process_serves_is_cold() -> None:
    with TestClient(_tiny_app()) as client:
        flags = [client.get("/health").headers["x-cold-start"] for _ in range(3)]
    assert flags == ["true", "false", "false"]


def test_each_request_logs_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    with TestClient(_tiny_app()) as client:
        response = client.get("/health", headers={"x-request-id": "abc"})

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", lines[0]["time"])  # ISO 8601, UTC
    assert lines[0] | {"duration_ms": 0, "time": "t"} == {
        "level": "INFO",
        "logger": "serving",
        "msg": "request",
        "time": "t",
        "request_id": "abc",
        "method": "GET",
        "path": "/health",
        "status": 200,
        "duration_ms": 0,
        "cold": True,
    }
    assert response.headers["x-model-version"] == "v-test"


def _sampled_app(rate: float) -> Starlette:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    async def broken(_: object) -> PlainTextResponse:
        return PlainTextResponse("no", status_code=503)

    app = Starlette(routes=[Route("/health", hello), Route("/broken", broken)])
    app.add_middleware(TelemetryMiddleware, model_version="v-test", log_sample_rate=rate)
    return app


def _logged_paths(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr().out.splitlines()
    return [json.loads(line)["path"] for line in out if line.startswith("{")]


def test_sample_rate_zero_logs_no_request_line_but_every_server_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    with TestClient(_sampled_app(0.0)) as client:
        statuses = [client.get("/health").status_code for _ in range(20)]
        statuses.append(client.get("/broken").status_code)

    assert statuses == [200] * 20 + [503]  # the answers do not change, only the log
    assert _logged_paths(capsys) == ["/broken"]


def test_a_fractional_sample_rate_logs_that_share_of_requests(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging("INFO")
    draws = iter([0.05, 0.5, 0.95, 0.2] * 5)  # random.random(), as the middleware draws it
    monkeypatch.setattr("serving.middleware.telemetry.random.random", lambda: next(draws))
    with TestClient(_sampled_app(0.25)) as client:
        for _ in range(20):
            client.get("/health")

    assert len(_logged_paths(capsys)) == 10  # the draws below 0.25: 0.05 and 0.2, 5 times each


def test_oversized_or_non_ascii_request_ids_are_replaced() -> None:
    with TestClient(_tiny_app()) as client:
        long_id = client.get("/health", headers={"x-request-id": "x" * 500}).headers["x-request-id"]
    assert len(long_id) == 32


def _labelled_app() -> Starlette:
    async def item(_: object) -> PlainTextResponse:
        return PlainTextResponse("item")

    app = Starlette(routes=[Route("/items/{item_id}", item)])
    app.add_middleware(TelemetryMiddleware, model_version="v-test")
    return app


def test_the_route_label_is_the_matched_template_and_unknown_values_are_other() -> None:
    with TestClient(_labelled_app()) as client:
        for item_id in range(3):
            assert client.get(f"/items/{item_id}").status_code == 200
        assert client.request("BREW", "/items/1").status_code == 405
        assert client.get("/nowhere/7").status_code == 404

    samples = {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"])
        for metric in REGISTRY.collect()
        if metric.name == "http_requests"
        for sample in metric.samples
        if sample.name == "http_requests_total"
    }
    assert {
        ("/items/{item_id}", "GET", "200"),
        ("/items/{item_id}", "other", "405"),
        ("other", "GET", "404"),
    } <= samples
    assert not any(route.startswith("/items/") and route != "/items/{item_id}" for route, _, _ in samples)
    assert not any(method == "BREW" for _, method, _ in samples)


def _call(app: Any, receive: Any) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": [], "query_string": b""}
    # A loop of its own: asyncio.run would leave the thread with none for Mangum's tests after these.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app(scope, receive, send))
    finally:
        loop.close()
    return sent


def _reads_body_app(body_timeout_seconds: float) -> Starlette:
    async def upload(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{len(await request.body())} bytes")

    app = Starlette(routes=[Route("/upload", upload, methods=["POST"])])
    app.add_middleware(BodyTimeoutMiddleware, timeout_seconds=body_timeout_seconds)
    app.add_middleware(TelemetryMiddleware, model_version="v-test")
    return app


def test_a_body_that_stops_arriving_gets_408_and_the_connection_is_closed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    messages = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.sleep(60)  # the rest never comes
        raise AssertionError("not cut off")

    sent = _call(_reads_body_app(body_timeout_seconds=0.05), receive)

    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert '"status":408' in capsys.readouterr().out


def test_a_client_gone_before_the_body_arrived_is_a_499_and_nothing_is_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    sent = _call(_reads_body_app(body_timeout_seconds=10), receive)

    assert sent == []  # nobody to answer
    assert '"status":499' in capsys.readouterr().out
