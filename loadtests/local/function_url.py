"""A local Lambda Function URL: HTTP in, payload-format-2.0 events to Lambda RIE environments, HTTP out.

The pool manages execution environments the way Lambda does:
- one request at a time per environment; a warm idle one is reused (the most recently used first);
- when every environment is busy a new one starts: a cold start (a new RIE container or process);
- at the concurrency limit the request is throttled with 429, as a Function URL does;
- environments idle for longer than ``idle_timeout`` are retired, and ``retire_all`` forces
  fresh ones (what an update of the function's configuration does on AWS): a busy environment
  takes no new request but finishes the one it runs before it stops, as on Lambda.

Each environment records its init: the time from starting it to its first invoke response,
and the ``Init Duration`` of the RIE's REPORT line.

Invoke URL of the RIE: POST http://127.0.0.1:PORT/2015-03-31/functions/function/invocations
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.types import Receive, Scope, Send

from loadtests.local.process import LOOPBACK, ManagedProcess, free_port
from loadtests.local.sigv4 import DEMO_IDENTITY, DEMO_REGION, Forbidden, Identity, verify

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
AUTH_TYPES = ("AWS_IAM", "NONE")  # a Function URL's AuthType
ADMIN_PREFIX = "/_local"
URL_ID = "local0functionurl0000000000000000"
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")
# The RIE logs the runtime's init as "INIT REPORT(durationMs: X)"; its REPORT line's
# "Init Duration" does not cover the handler's import, so it is only the fallback.
_INIT_DURATION = (
    re.compile(rb"INIT REPORT\(durationMs: ([0-9.]+)\)"),
    re.compile(rb"Init Duration: ([0-9.]+) ms"),
)


# ---------------------------------------------------------------- HTTP <-> Function URL event
def function_url_event(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    source_ip: str,
    caller: Identity | None = None,
) -> dict[str, Any]:
    """The event Lambda builds for a Function URL request (API Gateway HTTP API payload format 2.0);
    ``caller`` is the IAM identity that signed it when the URL's auth is AWS_IAM."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            merged[name] = f"{merged[name]},{value}" if name in merged else value
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
            "domainName": merged.get("host", f"{URL_ID}.lambda-url.local"),
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
        "isBase64Encoded": False,
    }
    if caller is not None:
        event["requestContext"]["accountId"] = caller.account_id
        event["requestContext"]["authorizer"] = caller.authorizer()
    if cookies:
        event["cookies"] = cookies
    if query:
        params: dict[str, list[str]] = {}
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            params.setdefault(key, []).append(value)
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if body:
        text = merged.get("content-type", "").lower().startswith(_TEXT_TYPES)
        event["body"] = body.decode() if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    return event


def http_response(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Turn the function's return value into an HTTP response, as the Function URL does."""
    if isinstance(result, dict) and "errorType" in result and "statusCode" not in result:
        return 502, [(b"content-type", b"application/json")], b'{"Message":"Internal Server Error"}'
    if not isinstance(result, dict) or "statusCode" not in result:
        # A value that is not a response object is returned as a JSON body with status 200.
        return 200, [(b"content-type", b"application/json")], json.dumps(result).encode()
    headers = [(k.lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name.lower().encode(), str(v).encode()) for v in values]
    headers += [(b"set-cookie", c.encode()) for c in result.get("cookies") or ()]
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, payload


# ---------------------------------------------------------------- execution environments
class Launcher(Protocol):
    """Starts one execution environment (an RIE serving the handler) listening on 127.0.0.1:port."""

    description: str

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess: ...

    def stop(self, env_id: str, process: ManagedProcess) -> None: ...


@dataclass
class ExecutionEnvironment:
    env_id: str
    port: int
    process: ManagedProcess
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    first_response_seconds: float | None = None
    init_duration_ms: float | None = None
    invocations: int = 0
    busy: bool = True
    last_used: float = field(default_factory=time.monotonic)
    retired_reason: str | None = None
    connection: http.client.HTTPConnection | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "pid": self.process.process.pid if self.process.process is not None else None,
            "started_at": self.started_wall,
            "first_response_seconds": self.first_response_seconds,
            "init_duration_ms": self.init_duration_ms,
            "invocations": self.invocations,
            "retired_reason": self.retired_reason,
        }


class Throttled(Exception):
    """Every environment is busy and the concurrency limit is reached."""


class EnvironmentPool:
    def __init__(
        self,
        launcher: Launcher,
        log_dir: Path,
        concurrency_limit: int = 10,
        idle_timeout: float = 300.0,
        init_timeout: float = 60.0,
        invoke_timeout: float = 60.0,
    ) -> None:
        self.launcher = launcher
        self.log_dir = log_dir
        self.concurrency_limit = concurrency_limit
        self.idle_timeout = idle_timeout
        self.init_timeout = init_timeout
        self.invoke_timeout = invoke_timeout
        self.active: list[ExecutionEnvironment] = []
        self.retiring: list[ExecutionEnvironment] = []  # no new requests; stop once the current one ends
        self.retired: list[ExecutionEnvironment] = []
        self.throttles = 0
        # acquire/release run on the event loop, retire_all in another thread (it waits on releases)
        self._lock = threading.Condition()
        self._serial = 0

    # -- the request path
    async def invoke(self, event: dict[str, Any]) -> tuple[Any, bool]:
        """Run one event on a free environment; returns (result, whether it was a cold start)."""
        env, cold = self._acquire()
        try:
            if cold:
                await asyncio.to_thread(self._launch, env)
            result = await asyncio.to_thread(self._post, env, event, cold)
            return result, cold
        except BaseException:
            self._retire(env, "failed")
            raise
        finally:
            self._release(env)

    def _acquire(self) -> tuple[ExecutionEnvironment, bool]:
        with self._lock:
            # An environment whose process died while idle is gone: Lambda never routes to it.
            for env in [e for e in self.active if not e.busy and not e.process.running()]:
                self.active.remove(env)
                env.retired_reason = "died"
                self.retired.append(env)
            idle = [env for env in self.active if not env.busy]
            if idle:
                env = max(idle, key=lambda e: e.last_used)
                env.busy = True
                return env, False
            if len(self.active) + len(self.retiring) >= self.concurrency_limit:
                self.throttles += 1
                raise Throttled
            self._serial += 1
            env_id = f"env-{self._serial:03d}"
            port = free_port()
            log_path = self.log_dir / f"{env_id}.log"
            env = ExecutionEnvironment(env_id, port, ManagedProcess([], log_path), log_path)
            self.active.append(env)
            return env, True

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            env.busy = False
            env.last_used = time.monotonic()
            self._lock.notify_all()

    def _launch(self, env: ExecutionEnvironment) -> None:
        env.started_at, env.started_wall = time.monotonic(), time.time()
        env.process = self.launcher.start(env.env_id, env.port, env.log_path)
        self._wait_until_listening(env)

    def _wait_until_listening(self, env: ExecutionEnvironment) -> None:
        """Probe with a GET (the RIE answers 404) before the first invoke: Docker's port proxy
        accepts connections before the RIE inside listens, and an invoke sent then can get lost."""
        deadline = time.monotonic() + self.init_timeout
        while time.monotonic() < deadline and env.process.running():
            probe = http.client.HTTPConnection(LOOPBACK, env.port, timeout=1.0)
            try:
                probe.request("GET", "/")
                probe.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.02)
            finally:
                probe.close()
        raise RuntimeError(f"{env.env_id} did not listen on {env.port}; see {env.log_path}")

    def _post(self, env: ExecutionEnvironment, event: dict[str, Any], first: bool) -> Any:
        if env.connection is None:
            env.connection = http.client.HTTPConnection(LOOPBACK, env.port, timeout=self.invoke_timeout)
        headers = {"content-type": "application/json"}
        env.connection.request("POST", INVOKE_PATH, body=json.dumps(event).encode(), headers=headers)
        payload = env.connection.getresponse().read()
        env.invocations += 1
        if first:
            env.first_response_seconds = time.monotonic() - env.started_at
            env.init_duration_ms = read_init_duration(env.log_path)
        return json.loads(payload) if payload else None

    # -- lifecycle
    def retire_idle(self) -> int:
        now = time.monotonic()
        with self._lock:
            expired = [e for e in self.active if not e.busy and now - e.last_used > self.idle_timeout]
        for env in expired:
            self._retire(env, "idle timeout")
        return len(expired)

    def retire_all(self, reason: str = "forced") -> None:
        """Stop every environment, so the next requests meet fresh ones (cold starts). None takes
        a new request from now on; a busy one finishes its request first (up to the invoke timeout)."""
        with self._lock:
            environments = list(self.active)
            self.active.clear()
            self.retiring += environments
        deadline = time.monotonic() + self.invoke_timeout
        while environments:  # each one as soon as it is idle; at the deadline, whatever is left
            with self._lock:
                done = [env for env in environments if not env.busy]
                if not done and (remaining := deadline - time.monotonic()) > 0:
                    self._lock.wait(remaining)
                    continue
            for env in done or list(environments):
                self._stop(env, reason)
                environments.remove(env)

    def _retire(self, env: ExecutionEnvironment, reason: str) -> None:
        with self._lock:
            if env not in self.active:
                return  # retired already, or retiring (``retire_all`` stops it)
            self.active.remove(env)
        self._stop(env, reason)

    def _stop(self, env: ExecutionEnvironment, reason: str) -> None:
        with self._lock:
            if env in self.retiring:
                self.retiring.remove(env)
            env.retired_reason = reason
            self.retired.append(env)
        if env.connection is not None:
            env.connection.close()
        self.launcher.stop(env.env_id, env.process)

    def environments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [env.summary() for env in [*self.retired, *self.retiring, *self.active]]


def read_init_duration(log_path: Path, wait_seconds: float = 1.0) -> float | None:
    """The init duration the RIE logs after the first invoke (the line may land a moment later)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with contextlib.suppress(OSError):
            log = log_path.read_bytes()
            for pattern in _INIT_DURATION:
                if match := pattern.search(log):
                    return float(match.group(1))
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


# ---------------------------------------------------------------- the HTTP front door
class FunctionUrlApp:
    """A plain ASGI app: every request becomes one invoke on the pool. With auth ``AWS_IAM`` a request
    must be SigV4-signed by a known identity (``loadtests.local.sigv4``; the demo's fake one by
    default) or it gets 403 without reaching the function, as on AWS."""

    def __init__(
        self,
        pool: EnvironmentPool,
        reap_every: float = 1.0,
        auth_type: str = "NONE",
        region: str = DEMO_REGION,
        identities: tuple[Identity, ...] = (DEMO_IDENTITY,),
    ) -> None:
        if auth_type not in AUTH_TYPES:
            raise ValueError(f"auth_type={auth_type!r}: use one of {AUTH_TYPES}")
        self.pool = pool
        self.reap_every = reap_every
        self.auth_type = auth_type
        self.region = region
        self.identities = {identity.access_key_id: identity for identity in identities}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            await self._admin(scope, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        client = scope.get("client") or (LOOPBACK, 0)
        query = scope["query_string"].decode()
        try:
            caller = self._caller(scope, query, body)
        except Forbidden as denied:
            await self._respond(send, 403, [(b"x-amzn-errortype", b"AccessDeniedException")], denied)
            return
        event = function_url_event(
            scope["method"], scope["path"], query, scope["headers"], body, client[0], caller
        )
        try:
            result, _ = await self.pool.invoke(event)
            status, headers, payload = http_response(result)
        except Throttled:
            status, headers = 429, [(b"content-type", b"application/json")]
            payload = b'{"Message":"Rate Exceeded."}'
        except Exception as error:  # the environment died or timed out: the Function URL answers 502
            status, headers = 502, [(b"content-type", b"application/json")]
            payload = json.dumps({"Message": f"Internal Server Error ({type(error).__name__})"}).encode()
        headers = [h for h in headers if h[0] != b"content-length"]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _caller(self, scope: Scope, query: str, body: bytes) -> Identity | None:
        """Who signed the request (AWS_IAM), or None (NONE); Forbidden when it is not signed right."""
        if self.auth_type == "NONE":
            return None
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        return verify(scope["method"], raw_path, query, scope["headers"], body, self.identities, self.region)

    @staticmethod
    async def _respond(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], message: Exception
    ) -> None:
        payload = json.dumps({"Message": str(message)}).encode()
        headers = [
            *headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _admin(self, scope: Scope, send: Send) -> None:
        """The orchestrator's handles (not part of a Function URL): force cold starts, read the pool."""
        if scope["method"] == "POST" and scope["path"] == f"{ADMIN_PREFIX}/retire":
            await asyncio.to_thread(self.pool.retire_all, "forced cold start")
        payload = json.dumps(
            {
                "environments": self.pool.environments(),
                "throttles": self.pool.throttles,
                "concurrency_limit": self.pool.concurrency_limit,
                "idle_timeout_seconds": self.pool.idle_timeout,
                "launcher": self.pool.launcher.description,
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        reaper: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                reaper = asyncio.create_task(self._reap())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if reaper is not None:
                    reaper.cancel()
                await asyncio.to_thread(self.pool.retire_all, "shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self.reap_every)
            await asyncio.to_thread(self.pool.retire_idle)


def serve(pool: EnvironmentPool, port: int, auth_type: str = "NONE") -> None:
    """Serve the Function URL on 127.0.0.1:port until SIGINT/SIGTERM; environments stop on shutdown."""
    uvicorn.run(
        FunctionUrlApp(pool, auth_type=auth_type),
        host=LOOPBACK,
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
