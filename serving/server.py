"""The HTTP server: `python -m serving` runs the app under uvicorn with the one ``Settings``.

EC2's systemd unit and the ECS image both start the app with this command, so every server
setting (address, keep-alive, shutdown grace) has one home: ``serving.config.Settings``.
The worker count is uvicorn's own ``WEB_CONCURRENCY``, which each way sets from its vCPUs.
Lambda has no HTTP server: Mangum calls the app per event (``serving.lambda_handler``).
"""

from __future__ import annotations

import uvicorn

from serving.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "serving.app:app",
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        access_log=False,  # the app writes one JSON line per request itself
    )


if __name__ == "__main__":
    main()
