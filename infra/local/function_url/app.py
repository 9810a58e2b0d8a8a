"""The local Function URL's front door: a plain ASGI app under uvicorn on 127.0.0.1.

Every request becomes one Function URL event (``events.py``) invoked on the environment pool
(``pool.py``), and the function's result goes back as HTTP, with the Function URL's own answers
where AWS gives them: 429 at the concurrency limit, 502 when an environment fails, and with auth
``AWS_IAM`` 403 for a request not SigV4-signed by a known identity (``sigv4.py``; the demo's fake
one by default), which never reaches the function.

``/_local/environments`` (GET), ``/_local/reports`` (GET: each invoke's RIE REPORT line) and
``/_local/retire`` (POST, forces cold starts) are the orchestrator's handles, not part of a
Function URL. Given a certificate (``make demo TLS=1``) the same app also answers HTTPS on a second
port, as the real Function URL answers only HTTPS.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from infra.common.names import FunctionUrlAuth
from infra.local.function_url.events import function_url_event, http_response
from infra.local.function_url.pool import EnvironmentPool, Throttled
from infra.local.function_url.sigv4 import DEMO_IDENTITY, DEMO_REGION, Forbidden, Identity, verify
from infra.local.process import LOOPBACK

AUTH_TYPES: tuple[FunctionUrlAuth, ...] = ("AWS_IAM", "NONE")
ADMIN_PREFIX = "/_local"
JSON = (b"content-type", b"application/json")


class FunctionUrlApp:
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
        # One thread per request in flight, up to the concurrency limit (the pool throttles the rest
        # at once), so the limit is the pool's and not the size of asyncio's default executor.
        self.invokers = ThreadPoolExecutor(pool.concurrency_limit + 1, thread_name_prefix="invoke")
        self.reap_every = reap_every
        self.auth_type = auth_type
        self.region = region
        self.identities = {identity.access_key_id: identity for identity in identities}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].startswith(ADMIN_PREFIX):
            await self._admin(scope, send)
        elif scope["type"] == "http":
            await self._invoke(scope, receive, send)

    async def _invoke(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        query = scope["query_string"].decode()
        try:
            caller = self._caller(scope, query, body)
        except Forbidden as denied:
            denial = json.dumps({"Message": str(denied)}).encode()
            await _respond(send, 403, [(b"x-amzn-errortype", b"AccessDeniedException"), JSON], denial)
            return
        client = scope.get("client") or (LOOPBACK, 0)
        event = function_url_event(
            scope["method"], scope["path"], body, query=query, headers=scope["headers"],
            source_ip=client[0], caller=caller,
        )  # fmt: skip
        try:
            result, _ = await asyncio.get_running_loop().run_in_executor(
                self.invokers, self.pool.invoke, event
            )
            status, headers, payload = http_response(result)
        except Throttled:
            status, headers, payload = 429, [JSON], b'{"Message":"Rate Exceeded."}'
        except Exception as error:  # the environment died or timed out: the Function URL answers 502
            message = {"Message": f"Internal Server Error ({type(error).__name__})"}
            status, headers, payload = 502, [JSON], json.dumps(message).encode()
        await _respond(send, status, headers, payload)

    def _caller(self, scope: Scope, query: str, body: bytes) -> Identity | None:
        """Who signed the request (AWS_IAM), or None (NONE); Forbidden when it is not signed right."""
        if self.auth_type == "NONE":
            return None
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        return verify(scope["method"], raw_path, query, scope["headers"], body, self.identities, self.region)

    async def _admin(self, scope: Scope, send: Send) -> None:
        if scope["path"] == f"{ADMIN_PREFIX}/reports":
            reports = await asyncio.to_thread(self.pool.platform_reports)
            await _respond(send, 200, [JSON], json.dumps({"reports": reports}).encode())
            return
        if scope["method"] == "POST" and scope["path"] == f"{ADMIN_PREFIX}/retire":
            await asyncio.to_thread(self.pool.retire_all, "forced cold start")
        state: dict[str, Any] = {
            "environments": self.pool.environments(),
            "throttles": self.pool.throttles,
            "concurrency_limit": self.pool.concurrency_limit,
            "idle_timeout_seconds": self.pool.idle_timeout,
            "launcher": self.pool.launcher.description,
        }
        await _respond(send, 200, [JSON], json.dumps(state).encode())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Idle environments are retired every ``reap_every`` seconds; all of them at shutdown."""
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
                self.invokers.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self.reap_every)
            await asyncio.to_thread(self.pool.retire_idle)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
    headers = [h for h in headers if h[0] != b"content-length"]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def serve(pool: EnvironmentPool, port: int, auth_type: str = "NONE", tls: TlsListener | None = None) -> None:
    """Serve the Function URL on 127.0.0.1:port until SIGINT/SIGTERM; environments stop on shutdown.
    With ``tls`` the same app (one pool) also answers HTTPS on ``tls.port``, as the real URL does."""
    app = FunctionUrlApp(pool, auth_type=auth_type)
    options: dict[str, Any] = dict(
        host=LOOPBACK, log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    if tls is None:
        uvicorn.run(app, port=port, lifespan="on", **options)
        return
    plain = uvicorn.Server(uvicorn.Config(app, port=port, lifespan="on", **options))
    # lifespan off: the plain server's lifespan already reaps and retires the one pool.
    secure = uvicorn.Config(
        app, port=tls.port, lifespan="off", ssl_certfile=tls.cert, ssl_keyfile=tls.key, **options
    )
    asyncio.run(_serve_together(plain, uvicorn.Server(secure)))


@dataclass(frozen=True)
class TlsListener:
    port: int
    cert: str
    key: str


async def _serve_together(*servers: uvicorn.Server) -> None:
    """Run the servers until one stops (a signal reaches only the last one installed), then stop all."""
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)
