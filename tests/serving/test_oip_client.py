"""The Open Inference Protocol with the client its users would use: tritonclient's
InferenceServerClient against `python -m serving` (a real uvicorn process on 127.0.0.1)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from infra.common.paths import REPO_ROOT
from infra.local.process import LOOPBACK, ManagedProcess, free_port
from tests.serving.oip_client import check_the_protocol


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env |= {"APP_HOST": LOOPBACK, "APP_PORT": str(port), "APP_WORKERS": "1"}
    log = tmp_path_factory.mktemp("oip") / "server.log"
    with ManagedProcess([sys.executable, "-m", "serving"], log, env=env, cwd=REPO_ROOT):
        url = f"{LOOPBACK}:{port}"
        client = triton.InferenceServerClient(url, connection_timeout=5, network_timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.is_server_ready():
                    break
            except (OSError, InferenceServerException):  # not listening yet
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        client.close()
        yield url


def test_tritonclient_speaks_the_protocol_with_the_app(
    server_url: str, metadata: dict[str, Any], holdout: dict[str, Any]
) -> None:
    check_the_protocol(server_url, metadata, np.asarray(holdout["rows"], dtype=np.float32))
