"""408 for a request body that does not arrive in time (the header timeout is uvicorn's part:
``serving.http_protocol``). Under Mangum the whole body comes with the event: nothing to time.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeout(HTTPException):
    """Raised from ``receive`` (see ``BodyTooLarge``); the rest of the body may still be on its
    way, so the answer closes the connection rather than read it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"request body not received within {seconds:g} s", {"connection": "close"})


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.deadlines = _BodyDeadlines(timeout_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "aws.event" in scope:
            await self.app(scope, receive, send)
            return
        body = _TimedBody(receive, self.deadlines)
        try:
            await self.app(scope, body.receive, send)
        finally:
            body.done()


class _TimedBody:
    """A request body read within its deadline, counted from the first read. When the deadline
    passes during a read, that read is cancelled and raises BodyTimeout; when it passes between
    reads, the next read raises it."""

    __slots__ = ("_deadlines", "_expired", "_reading", "_receive", "_task", "_timeout_seconds")

    def __init__(self, receive: Receive, deadlines: _BodyDeadlines) -> None:
        self._receive = receive
        self._deadlines: _BodyDeadlines | None = deadlines
        self._timeout_seconds = deadlines.timeout
        self._task: asyncio.Task[object] | None = None
        self._reading = False
        self._expired = False

    async def receive(self) -> Message:
        if self._expired:
            raise BodyTimeout(self._timeout_seconds)
        if self._task is None and self._deadlines is not None:
            self._task = asyncio.current_task()
            self._deadlines.watch(self)
        self._reading = True
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._expired and self._task is not None and self._task.uncancel() == 0:
                raise BodyTimeout(self._timeout_seconds) from None  # our cancellation, and nobody else's
            raise
        finally:
            self._reading = False
        if message["type"] != "http.request" or not message.get("more_body", False):
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
        self.pending: dict[_TimedBody, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def watch(self, body: _TimedBody) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # the first request on this loop: start checking it
            self.loop = loop
            loop.call_later(self.interval, self._check, loop)
        self.pending[body] = loop.time() + self.timeout

    def unwatch(self, body: _TimedBody) -> None:
        self.pending.pop(body, None)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self.loop:
            return  # requests run on another loop now, which has its own check
        now = loop.time()
        for body in [body for body, deadline in self.pending.items() if deadline <= now]:
            del self.pending[body]
            body.expire()
        loop.call_later(self.interval, self._check, loop)
