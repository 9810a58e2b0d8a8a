"""The request middleware: cold flag, request ids, the JSON log line."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.observability import ServingMiddleware, configure_logging


def _tiny_app() -> Starlette:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/health", hello)])
    app.add_middleware(ServingMiddleware, model_version="v-test", max_body_bytes=1024)
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
    assert lines[0] | {"duration_ms": 0} == {
        "level": "INFO",
        "logger": "serving",
        "msg": "request",
        "request_id": "abc",
        "method": "GET",
        "path": "/health",
        "status": 200,
        "duration_ms": 0,
        "cold": True,
    }
    assert response.headers["x-model-version"] == "v-test"


def test_oversized_or_non_ascii_request_ids_are_replaced() -> None:
    with TestClient(_tiny_app()) as client:
        long_id = client.get("/health", headers={"x-request-id": "x" * 500}).headers["x-request-id"]
    assert len(long_id) == 32
