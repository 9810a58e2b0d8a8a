"""Per-request plumbing as one plain ASGI middleware: request id, cold flag, body limit,
Prometheus metrics and one JSON log line.

Plain ASGI rather than ``BaseHTTPMiddleware``: the latter adds a task and a memory stream
per request, which costs more than this model's whole inference.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KNOWN_ROUTES = frozenset(
    {"/predict", "/health", "/ready", "/metadata", "/metrics", "/docs", "/redoc", "/openapi.json"}
)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route, method and status.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time in the app per request.",
    ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "model_inference_seconds", "onnxruntime run time per /predict call.", buckets=_LATENCY_BUCKETS
)
BATCH_ROWS = Histogram("model_batch_rows", "Rows per /predict call.", buckets=(1, 2, 8, 32, 128, 512, 1000))
COLD_STARTS = Counter("process_cold_starts_total", "Requests that were the first this process served.")

log = logging.getLogger("serving")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


_configured: list[logging.StreamHandler[Any]] = []  # the handler configure_logging installed


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False
    _configured[:] = [handler]


def _log_request(fields: dict[str, Any]) -> None:
    """The per-request line: the exact bytes JsonFormatter would write, without the LogRecord.

    A LogRecord (caller lookup, thread and process names) and a Formatter cost more than
    the model's inference; this writes the same line through the same handler's stream.
    Any other logging set-up gets the ordinary ``log.info``.
    """
    handler = _plain_json_handler()
    if handler is None:
        log.info("request", extra={"fields": fields})
        return
    line = orjson.dumps({"level": "INFO", "logger": log.name, "msg": "request", **fields}).decode()
    with handler.lock or nullcontext():
        handler.stream.write(line + handler.terminator)
        handler.flush()


def _plain_json_handler() -> logging.StreamHandler[Any] | None:
    """configure_logging's handler if it is still the only one and nothing filters records."""
    if log.handlers != _configured or log.filters:
        return None
    handler = _configured[0]
    return handler if not handler.filters and handler.level <= logging.INFO else None


class BodyTooLarge(Exception):
    pass


class ServingMiddleware:
    """Wraps every HTTP request; the first one this process serves is flagged cold."""

    def __init__(self, app: ASGIApp, *, model_version: str, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.served_any = False
        self.static_headers = [(b"x-model-version", model_version.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cold = not self.served_any
        self.served_any = True
        if cold:
            COLD_STARTS.inc()
        request_id = _request_id(scope["headers"])
        extra_headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-cold-start", b"true" if cold else b"false"),
            *self.static_headers,
        ]
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        try:
            if _declared_length(scope["headers"]) > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, self._limited(receive), send_with_headers)
        except BodyTooLarge:
            if response_started:
                raise
            await _send_json(
                send_with_headers, 413, {"detail": f"request body exceeds {self.max_body_bytes} bytes"}
            )
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id, cold)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise BodyTooLarge
            return message

        return limited_receive

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float, request_id: str, cold: bool) -> None:
        path = scope["path"]
        route = path if path in KNOWN_ROUTES else "unmatched"
        requests, request_seconds = _request_metrics(route, scope["method"], status)
        requests.inc()
        request_seconds.observe(seconds)
        if log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "cold": cold,
            }
            _log_request(fields)


@lru_cache(maxsize=512)
def _request_metrics(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    """The labelled children, looked up once per (route, method, status) instead of per request."""
    return REQUESTS.labels(route, method, str(status)), REQUEST_SECONDS.labels(route, str(status))


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """Keep a caller's id (a load balancer's or a client's) if it is sane, else make one."""
    for name, value in headers:
        if name == b"x-request-id" and 0 < len(value) <= 128 and value.isascii():
            return value.decode()
    return uuid.uuid4().hex


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
