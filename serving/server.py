"""The HTTP server: `python -m serving` runs the app under uvicorn with the one ``Settings``.

EC2's systemd unit and the ECS image both start the app with this command, so every server
setting (address, keep-alive, read timeouts, connection limit, shutdown grace) has one home:
``serving.config.Settings``, the worker count included (APP_WORKERS, else one per CPU this
process may use: ``serving.config.workers_for``). Lambda has no HTTP server: Mangum calls the
app per event (``serving.lambda_handler``).

The header read timeout lives in the HTTP protocol (``serving.http_protocol``), the body read
timeout in the app's middleware (``serving.middleware.body_timeout``), wherever the app runs.

With more than one worker, the workers share their metrics through a directory made empty at each
start (``metrics_directory``), so that ``/metrics`` sums over them (``serving.metrics``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import uvicorn

from serving.config import METRICS_DIR_VARIABLE, get_settings

APP = "serving.app:app"
# By import path, so that every worker process (workers > 1) can load it.
HTTP_PROTOCOL = "serving.http_protocol:HeaderTimeoutProtocol"


def main() -> None:
    settings = get_settings()
    if settings.workers > 1:
        os.environ[METRICS_DIR_VARIABLE] = str(metrics_directory(settings.port))  # the workers inherit it
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


def metrics_directory(port: int) -> Path:
    """This boot's directory for the workers' metric files, emptied: values a previous server left
    (prometheus-client's files outlive their processes) would otherwise be added to this one's.
    ``PROMETHEUS_MULTIPROC_DIR`` if set, else one per port under the temporary directory (one server
    per port, so two servers on a host never share it; systemd's PrivateTmp= gives the unit its own)."""
    configured = os.environ.get(METRICS_DIR_VARIABLE)
    directory = Path(configured) if configured else Path(tempfile.gettempdir()) / f"one-model-metrics-{port}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # only the files prometheus-client writes
        stale.unlink()
    return directory


if __name__ == "__main__":
    main()
