"""Per-request plumbing as one plain ASGI middleware: request id, cold flag, body size and
read-time limits, Prometheus metrics and one JSON log line.

Plain ASGI rather than ``BaseHTTPMiddleware``: the latter adds a task and a memory stream
per request, which costs more than this model's whole inference.

Metric labels come from bounded sets, whatever a client sends: the method from
``METRIC_METHODS`` (else "other") and the route from the route that matched (Starlette puts
it in ``scope["route"]``; its ``path`` is the template), else "other". A client that goes
away before its request is answered is recorded as 499 (nginx's "client closed request").
"""

from __future__ import annotations

import asyncio
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
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRIC_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"  # the label of any method or route outside the bounded sets
CLIENT_CLOSED_REQUEST = 499
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


class BodyTimeout(Exception):
    pass


class ServingMiddleware:
    """Wraps every HTTP request; the first one this process serves is flagged cold."""

    def __init__(
        self, app: ASGIApp, *, model_version: str, max_body_bytes: int, body_timeout_seconds: float = 10.0
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.body_deadlines = _BodyDeadlines(body_timeout_seconds)
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
        # Mangum passes the whole body, from the Lambda event, at the first read: nothing to time.
        deadlines = None if "aws.event" in scope else self.body_deadlines
        body = _GuardedBody(receive, self.max_body_bytes, deadlines)

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
            await self.app(scope, body.receive, send_with_headers)
        except BodyTooLarge:
            if response_started:
                raise
            await _send_json(
                send_with_headers, 413, {"detail": f"request body exceeds {self.max_body_bytes} bytes"}
            )
        except BodyTimeout:
            if response_started:
                raise
            # The rest of the body may still be on its way: close rather than read it.
            detail = f"request body not received within {self.body_timeout_seconds:g} s"
            await _send_json(send_with_headers, 408, {"detail": detail}, close=True)
        except ClientDisconnect:
            if response_started:
                raise
            # Nobody is left to answer, and nothing went wrong here: no traceback, no 500.
        finally:
            body.done()
            if body.client_gone and not response_started:
                status = CLIENT_CLOSED_REQUEST
            self._record(scope, status, time.perf_counter() - started, request_id, cold)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float, request_id: str, cold: bool) -> None:
        route = scope.get("route")
        method = scope["method"]
        requests, request_seconds = _request_metrics(
            getattr(route, "path", OTHER), method if method in METRIC_METHODS else OTHER, status
        )
        requests.inc()
        request_seconds.observe(seconds)
        if log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": method,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "cold": cold,
            }
            _log_request(fields)


class _GuardedBody:
    """The request body within its size limit and, given deadlines, its time limit (from the
    first read). When the deadline passes during a read, that read is cancelled and raises
    BodyTimeout; when it passes between reads, the next read raises it."""

    __slots__ = (
        "_deadlines",
        "_expired",
        "_max_bytes",
        "_reading",
        "_receive",
        "_received",
        "_task",
        "client_gone",
    )

    def __init__(self, receive: Receive, max_bytes: int, deadlines: _BodyDeadlines | None) -> None:
        self._receive = receive
        self._max_bytes = max_bytes
        self._deadlines = deadlines
        self._received = 0
        self._task: asyncio.Task[Any] | None = None
        self._reading = False
        self._expired = False
        self.client_gone = False

    async def receive(self) -> Message:
        if self._expired:
            raise BodyTimeout
        if self._task is None and self._deadlines is not None:
            self._task = asyncio.current_task()
            self._deadlines.watch(self)
        self._reading = True
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._expired and self._task is not None and self._task.uncancel() == 0:
                raise BodyTimeout from None  # our cancellation, and nobody else's
            raise
        finally:
            self._reading = False
        if message["type"] == "http.disconnect":
            self.client_gone = True
            return message
        self._received += len(message.get("body", b""))
        if self._received > self._max_bytes:
            raise BodyTooLarge
        if not message.get("more_body", False):
            self.done()
        return message

    def done(self) -> None:
        """The body is in, or the request is over: its deadline no longer applies."""
        if self._deadlines is not None:
            self._deadlines.unwatch(self)
            self._deadlines = None

    def expire(self) -> None:
        self._expired = True
        if self._reading and self._task is not None:
            self._task.cancel()


class _BodyDeadlines:
    """The deadlines of the request bodies still being read, checked by one repeating timer
    per event loop rather than a timer per request (which costs a few percent of a /predict
    call). A body is cut off between ``timeout`` and ``timeout + interval`` after its first read.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.interval = min(1.0, timeout / 4)
        self.pending: dict[_GuardedBody, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def watch(self, body: _GuardedBody) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # the first request on this loop: start checking it
            self.loop = loop
            loop.call_later(self.interval, self._check, loop)
        self.pending[body] = loop.time() + self.timeout

    def unwatch(self, body: _GuardedBody) -> None:
        self.pending.pop(body, None)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self.loop:
            return  # requests run on another loop now, which has its own check
        now = loop.time()
        for body in [body for body, deadline in self.pending.items() if deadline <= now]:
            del self.pending[body]
            body.expire()
        loop.call_later(self.interval, self._check, loop)


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


async def _send_json(send: Send, status: int, content: dict[str, Any], close: bool = False) -> None:
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
