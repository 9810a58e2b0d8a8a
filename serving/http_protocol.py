"""uvicorn's httptools protocol with a header read timeout, which uvicorn does not have.

A connection that sends nothing, or trickles its request line and headers, would otherwise
hold a slot (and a file descriptor) for as long as it likes. A timer is armed when the
connection is made, and when data leaves a request's headers incomplete (so a request whose
headers come in one piece, the usual case, costs no timer); it is cancelled when the headers
are complete. If it fires first, a request that had begun gets 408, and the connection is
closed either way. Between requests the keep-alive timeout applies instead.

``serving.server`` passes this class to uvicorn by its import path (``Config(http=...)``, the
documented way to choose the protocol). Only the server imports it: the Lambda handler never
loads uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from serving.config import get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = get_settings().header_timeout_seconds
        self.header_timer: asyncio.TimerHandle | None = None
        self.request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_timer = self.loop.call_later(self.header_timeout, self.header_timeout_handler)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.request_begun and self.header_timer is None and not self.transport.is_closing():
            self.header_timer = self.loop.call_later(self.header_timeout, self.header_timeout_handler)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.request_begun = True

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self.request_begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def header_timeout_handler(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.request_begun:
            self.logger.warning("Request headers not complete within %g s: 408.", self.header_timeout)
            self.transport.write(STATUS_LINE[408] + b"content-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.close()
