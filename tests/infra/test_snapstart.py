"""SnapStart's lifecycle, run for real: the real `lambda` image and its real awslambdaric, driven by
infra/local/snapstart.py (a stand-in for the Runtime API's SnapStart calls, on loopback) through
init, the snapshot point (the container frozen there with `docker pause`), the restore and invokes.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from infra.common.paths import REPO_ROOT
from infra.local.docker import container_limits
from infra.local.function_url.events import function_url_event
from tests.infra.conftest import (
    Container,
    StartContainer,
    docker,
    expected_labels,
    holdout_rows,
    predict_body,
)

STAND_IN = REPO_ROOT / "infra" / "local" / "snapstart.py"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def _control(container: Container, path: str, timeout: float = 120) -> httpx.Response:
    url = container.url(8080, path)
    deadline = time.monotonic() + 30
    while True:  # the server needs a moment before it listens
        try:
            return httpx.get(url, timeout=timeout)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"the stand-in never answered; logs:\n{container.logs()[-4000:]}")
            time.sleep(0.2)


def _invoke(container: Container, event: dict[str, Any]) -> tuple[dict[str, Any], httpx.Headers]:
    response = httpx.post(container.url(8080, INVOKE_PATH), json=event, timeout=120)
    assert response.status_code == 200, container.logs()[-4000:]
    assert response.headers["x-outcome"] == "response", response.text
    result: dict[str, Any] = response.json()
    return result, response.headers


def _predict_here(rows: list[list[float]]) -> list[dict[str, Any]]:
    """What the app's /predict answers in this process, for the same rows."""
    from serving.app import app

    with TestClient(app) as client:
        response = client.post(
            "/predict", content=predict_body(rows), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


def _app_log(container: Container) -> list[dict[str, Any]]:
    """The app's JSON log lines, in order."""
    return [json.loads(line) for line in container.logs().splitlines() if line.startswith('{"level"')]


@pytest.fixture(scope="module")
def snapstart_container(lambda_image: str, start_container: StartContainer) -> Container:
    def config(key: str) -> list[str]:
        value: list[str] = json.loads(
            docker("image", "inspect", "--format", f"{{{{json .Config.{key}}}}}", lambda_image).stdout
        )
        return value

    command = config("Entrypoint") + config("Cmd")
    return start_container(
        *container_limits(),
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--volume",
        f"{STAND_IN}:/snapstart.py:ro",
        "--publish",
        "127.0.0.1::8080",
        "--entrypoint",
        "python",
        lambda_image,
        "/snapstart.py",
        "--port",
        "8080",
        "--",
        *command,
    )


@pytest.mark.docker
def test_snapstart_lifecycle_runs_the_hooks_in_order_and_restores_a_warmed_app(
    snapstart_container: Container,
) -> None:
    container = snapstart_container
    rows = holdout_rows()[:5]

    # Init, then the snapshot point: the before-snapshot hook ran, the after-restore hook not yet.
    snapshot = _control(container, "/snapshot")
    assert snapshot.status_code == 200, container.logs()[-4000:]
    assert [line["msg"] for line in _app_log(container)] == ["before_snapshot"]
    assert _control(container, "/calls").json() == ["restore/next"]
    docker("pause", container.id)  # frozen at the snapshot point, as Lambda freezes it
    docker("unpause", container.id)

    # The first invoke restores: the after-restore hook runs before the runtime asks for it.
    first, headers = _invoke(container, function_url_event("POST", "/predict", predict_body(rows)))
    second, _ = _invoke(container, function_url_event("GET", "/ready"))

    assert first["statusCode"] == 200
    predictions = json.loads(first["body"])["predictions"]
    assert [p["label"] for p in predictions] == expected_labels(rows)
    assert predictions == _predict_here(rows)  # labels and probabilities, as /predict answers them
    assert first["headers"]["x-cold-start"] == "restored"
    assert second["headers"]["x-cold-start"] == "false"
    assert float(headers["x-restore-duration-ms"]) > 0
    log = _app_log(container)
    assert [line["msg"] for line in log] == ["before_snapshot", "after_restore", "request", "request"]
    assert [line["cold"] for line in log if line["msg"] == "request"] == ["restored", False]
    calls = _control(container, "/calls").json()
    assert calls[:4] == ["restore/next", "invocation/next", "invocation/response", "invocation/next"]
    # The stand-in reports the phases in Lambda's own log format.
    text = container.logs()
    assert re.search(r"^INIT_REPORT Init Duration: [0-9.]+ ms\tPhase: init\tStatus: success$", text, re.M)
    restore_report = r"^REPORT RequestId: \S+\tDuration: [0-9.]+ ms\tRestore Duration: [0-9.]+ ms$"
    assert re.search(restore_report, text, re.M)
