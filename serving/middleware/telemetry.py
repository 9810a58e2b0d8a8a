"""What every HTTP request records and announces: a request id, the cold flag and the model
version as response headers; a Prometheus count and duration; one JSON log line (for a share
``log_sample_rate`` of the requests, and for every server error). On Lambda the line also carries
the invocation's ``aws_request_id`` (Mangum puts the context in ``scope["aws.context"]``), the id
Lambda's own log lines and REPORT line carry.

The first request a process serves is flagged cold, the first after a SnapStart restore
``restored`` (serving.environment). Metric labels come from bounded sets,
whatever a client sends: the method from ``METRIC_METHODS`` (else "other") and the route from
the route that matched (Starlette puts it in ``scope["route"]``; its ``path`` is the template),
else "other". A client that goes away before its request is answered is recorded as 499
(nginx's "client closed request"), and nothing is raised: nobody is left to answer.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterable
from functools import lru_cache

from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import environment
from serving.environment import ColdFlag
from serving.logs import log
from serving.metrics import COLD_STARTS, REQUEST_SECONDS, REQUESTS, RESTORES

METRIC_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"  # the label of any method or route outside the bounded sets
CLIENT_CLOSED_REQUEST = 499
# The log keeps its booleans; a restore is logged as the string "restored".
_LOGGED_COLD: dict[ColdFlag, bool | str] = {"true": True, "false": False, "restored": "restored"}


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, model_version: str, log_sample_rate: float = 1.0) -> None:
        self.app = app
        self.model_version_header = (b"x-model-version", model_version.encode())
        self.served_any = False
        self.log_sample_rate = log_sample_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cold = _cold_flag(self.served_any)
        self.served_any = True
        request_id = _request_id(scope["headers"])
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-cold-start", cold.encode()),
            self.model_version_header,
        ]
        status = 500
        response_started = client_gone = False

        async def receive_noting_disconnect() -> Message:
            nonlocal client_gone
            message = await receive()
            if message["type"] == "http.disconnect" and not response_started:
                client_gone = True
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        try:
            await self.app(scope, receive_noting_disconnect, send_with_headers)
        except ClientDisconnect:
            if response_started:
                raise
        finally:
            if client_gone:
                status = CLIENT_CLOSED_REQUEST
            logged = status >= 500 or random.random() < self.log_sample_rate
            _record(scope, status, time.perf_counter() - started, request_id, cold, logged)


def _cold_flag(served_any: bool) -> ColdFlag:
    """``restored`` first after a restore, ``true`` on a process's first request, else ``false``."""
    if environment.take_restore():
        RESTORES.inc()
        return environment.RESTORED
    if served_any:
        return "false"
    COLD_STARTS.inc()
    return "true"


def _record(scope: Scope, status: int, seconds: float, request_id: str, cold: ColdFlag, logged: bool) -> None:
    method = scope["method"]
    requests, request_seconds = _request_metrics(
        getattr(scope.get("route"), "path", OTHER), method if method in METRIC_METHODS else OTHER, status
    )
    requests.inc()
    request_seconds.observe(seconds)
    if logged and log.isEnabledFor(logging.INFO):
        fields = {
            "request_id": request_id,
            "method": method,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "cold": _LOGGED_COLD[cold],
        }
        if (context := scope.get("aws.context")) is not None:
            fields["aws_request_id"] = context.aws_request_id
        log.info("request", extra={"fields": fields})


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
