"""How each way starts the app: the one definition the local runners use.

The deployed recipes say the same, and tests/infra/test_local_commands.py proves it by reading
them: the EC2 unit's ExecStart and Environment= lines, and the Dockerfile's ENV, CMD and
ENTRYPOINT. Nothing here reads those files at run time.

ec2     ``<venv>/bin/python -m serving`` with RUNTIME_ENVIRONMENT (the unit)
ecs     ``python -m serving`` with RUNTIME_ENVIRONMENT (the image's CMD and ENV)
lambda  ``python -m awslambdaric serving.lambda_handler.handler`` (the image's ENTRYPOINT and CMD)

The server takes every setting from APP_* (serving.config.Settings); the worker count is
APP_WORKERS where a platform hides its CPUs (Fargate), else the server counts them itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from infra.common.paths import REPO_ROOT
from infra.local.process import LOOPBACK

# The interpreter of this checkout's venv: the host processes run with what `make venv` installed.
VENV_PYTHON: Final = str(Path(os.environ.get("VIRTUAL_ENV") or REPO_ROOT / ".venv") / "bin" / "python")
SERVER_MODULE: Final = "serving"
RUNTIME_CLIENT_MODULE: Final = "awslambdaric"
LAMBDA_HANDLER: Final = "serving.lambda_handler.handler"

# What the unit and the image both set besides the address: unbuffered log lines, no bytecode
# writes (a read-only root), and no onnxruntime telemetry id in $HOME.
RUNTIME_ENVIRONMENT: Final[dict[str, str]] = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "ORT_DISABLE_TELEMETRY": "1",
}


def server_command(python: str) -> list[str]:
    """ec2 and ecs: the app's own server entry point (serving/__main__.py)."""
    return [python, "-m", SERVER_MODULE]


def lambda_command(python: str) -> list[str]:
    """lambda: the runtime interface client, polling the Runtime API for events for the handler."""
    return [python, "-m", RUNTIME_CLIENT_MODULE, LAMBDA_HANDLER]


def server_environment(port: int, workers: int | None = None) -> dict[str, str]:
    """The server's variables on this machine: 127.0.0.1:port, and ``workers`` when given."""
    env = {**RUNTIME_ENVIRONMENT, "APP_HOST": LOOPBACK, "APP_PORT": str(port)}
    return env if workers is None else {**env, "APP_WORKERS": str(workers)}
