"""The HTTP server: `python -m serving` runs the app under uvicorn with the one ``Settings``.

EC2's systemd unit and the ECS image both start the app with this command, so every server
setting (address, keep-alive, read timeouts, connection limit, shutdown grace) has one home:
``serving.config.Settings``, the worker count included (APP_WORKERS, else one per CPU this
process may use: ``serving.config.workers_for``). Lambda has no HTTP server: Mangum calls the
app per event (``serving.lambda_handler``).

The header read timeout lives in the HTTP protocol (``serving.http_protocol``), the body read
timeout in the app's middleware (``serving.middleware.body_timeout``), wherever the app runs.
"""

from __future__ import annotations

import uvicorn

from serving.config import get_settings

APP = "serving.app:app"
# By import path, so that every worker process (workers > 1) can load it.
HTTP_PROTOCOL = "serving.http_protocol:HeaderTimeoutProtocol"


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        APP,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=HTTP_PROTOCOL,
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # Connections beyond this get a 503 from uvicorn instead of a reset by the kernel.
        limit_concurrency=settings.limit_concurrency,
        access_log=False,  # the app writes one JSON line per request itself
    )


if __name__ == "__main__":
    main()
