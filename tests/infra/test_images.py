"""The two images from the one Dockerfile, built and run the way AWS runs them.

ecs: the Fargate task's CPU and memory, a read-only root filesystem, HTTP on a loopback port.
lambda: the real Runtime Interface Emulator in front of awslambdaric, fed a Function URL event.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from infra.local.docker import container_limits, image_size_bytes
from infra.local.rie import rie_path
from serving.config import ARTIFACTS_DIR
from tests.infra.conftest import Container, StartContainer, docker, wait_until_ok

FUNCTION_URL_EVENT = Path(__file__).parents[1] / "serving" / "events" / "function_url.json"
RIE_INVOKE_PATH = "/2015-03-31/functions/function/invocations"
TRAINING_ONLY = {"scikit-learn", "skl2onnx", "scipy", "pandas", "onnx"}
# Like AWS: nothing but /tmp is writable.
READ_ONLY = ("--read-only", "--tmpfs", "/tmp")


def holdout_rows() -> list[list[float]]:
    return json.loads((ARTIFACTS_DIR / "holdout.json").read_text())["rows"]


def expected_labels(rows: list[list[float]]) -> list[str]:
    """What the model predicts in this process: the image must serve the same artifact."""
    from serving.model import load_model

    return load_model().predict(np.asarray(rows, dtype=np.float32)).labels


# ---------------------------------------------------------------- ecs
@pytest.fixture(scope="module")
def ecs_container(ecs_image: str, start_container: StartContainer) -> Container:
    container = start_container(
        *container_limits(), *READ_ONLY, "--health-interval", "2s", "--publish", "127.0.0.1::8000", ecs_image
    )
    wait_until_ok(container.url(8000, "/ready"), container)
    return container


@pytest.mark.docker
def test_ecs_image_serves_the_model(ecs_container: Container) -> None:
    ready = httpx.get(ecs_container.url(8000, "/ready")).json()
    rows = holdout_rows()

    response = httpx.post(ecs_container.url(8000, "/predict"), json={"instances": rows})

    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == ready["model_version"] == response.headers["x-model-version"]
    assert [p["label"] for p in body["predictions"]] == expected_labels(rows)
    assert response.headers["server-timing"].startswith("inference;dur=")


@pytest.mark.docker
def test_ecs_image_rejects_bad_input_with_json(ecs_container: Container) -> None:
    response = httpx.post(ecs_container.url(8000, "/predict"), json={"instances": [[1.0, 2.0]]})

    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.docker
def test_ecs_image_logs_one_json_line_per_request(ecs_container: Container) -> None:
    httpx.get(ecs_container.url(8000, "/health"), headers={"x-request-id": "image-log-check"})

    lines = [json.loads(line) for line in ecs_container.logs().splitlines() if "image-log-check" in line]

    assert [(line["path"], line["status"]) for line in lines] == [("/health", 200)]


@pytest.mark.docker
def test_ecs_image_healthcheck_reports_healthy(ecs_container: Container) -> None:
    status = ""
    for _ in range(60):
        status = docker("inspect", "--format", "{{.State.Health.Status}}", ecs_container.id).stdout.strip()
        if status == "healthy":
            break
        docker("exec", ecs_container.id, "sleep", "1")
    assert status == "healthy"


@pytest.mark.docker
@pytest.mark.parametrize("cpus", ["0.5", "1", "2"])
def test_ecs_image_runs_one_worker_per_cpu_of_its_quota(ecs_image: str, cpus: str) -> None:
    # What the CMD passes to --workers when WEB_CONCURRENCY is unset: the quota rounded up,
    # never more than the CPUs the container may run on.
    expected = min(math.ceil(float(cpus)), len(os.sched_getaffinity(0)))

    result = docker("run", "--rm", "--cpus", cpus, ecs_image, "/app/bin/cpu-count")

    assert int(result.stdout) == expected


@pytest.mark.docker
def test_ecs_image_takes_its_worker_count_from_web_concurrency(
    ecs_image: str, start_container: StartContainer
) -> None:
    # The ECS stack sets WEB_CONCURRENCY from the task size; it wins over the computed count.
    container = start_container("--env", "WEB_CONCURRENCY=2", "--publish", "127.0.0.1::8000", ecs_image)
    wait_until_ok(container.url(8000, "/ready"), container)

    started = 0
    for _ in range(60):
        started = container.logs().count("Started server process")
        if started >= 2:
            break
        docker("exec", container.id, "sleep", "0.5")

    assert started == 2


# ---------------------------------------------------------------- lambda
@pytest.fixture(scope="module")
def lambda_container(lambda_image: str, start_container: StartContainer) -> Container:
    # The RIE binary is mounted, not baked in: the deployed image talks to the real Runtime API.
    return start_container(
        *container_limits(),
        *READ_ONLY,
        "--volume",
        f"{rie_path()}:/aws-lambda-rie:ro",
        "--publish",
        "127.0.0.1::8080",
        "--entrypoint",
        "/aws-lambda-rie",
        lambda_image,
        *json.loads(
            docker("image", "inspect", "--format", "{{json .Config.Entrypoint}}", lambda_image).stdout
        ),
        *json.loads(docker("image", "inspect", "--format", "{{json .Config.Cmd}}", lambda_image).stdout),
    )


def function_url_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """AWS's documented Function URL event (payload 2.0), pointed at this app."""
    event: dict[str, Any] = json.loads(FUNCTION_URL_EVENT.read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"], event["queryStringParameters"], event["cookies"] = "", None, []
    event["headers"] = {"content-type": "application/json", "host": event["requestContext"]["domainName"]}
    event["body"] = None if body is None else json.dumps(body)
    return event


def invoke(container: Container, event: dict[str, Any]) -> dict[str, Any]:
    url = container.url(8080, RIE_INVOKE_PATH)
    for _ in range(100):  # the emulator needs a moment before it listens
        try:
            response = httpx.post(url, json=event, timeout=60)
            break
        except httpx.TransportError:
            docker("exec", container.id, "sleep", "0.2")
    else:
        pytest.fail(f"the RIE never answered; logs:\n{container.logs()[-4000:]}")
    assert response.status_code == 200, container.logs()[-4000:]
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.docker
def test_lambda_image_answers_a_function_url_event(lambda_container: Container) -> None:
    rows = holdout_rows()[:5]

    first = invoke(lambda_container, function_url_event("POST", "/predict", {"instances": rows}))
    second = invoke(lambda_container, function_url_event("GET", "/ready"))

    assert first["statusCode"] == 200, first
    assert [p["label"] for p in json.loads(first["body"])["predictions"]] == expected_labels(rows)
    assert first["headers"]["x-cold-start"] == "true"
    assert second["statusCode"] == 200
    assert json.loads(second["body"])["status"] == "ready"
    assert second["headers"]["x-cold-start"] == "false"


@pytest.mark.docker
def test_lambda_image_maps_errors_to_status_codes(lambda_container: Container) -> None:
    result = invoke(lambda_container, function_url_event("POST", "/predict", {"instances": "nope"}))

    assert result["statusCode"] == 422
    assert "detail" in json.loads(result["body"])


# ---------------------------------------------------------------- both
def installed_distributions(image: str) -> set[str]:
    script = (
        "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    )
    listing = docker("run", "--rm", "--entrypoint", "python", image, "-c", script).stdout
    return {name.lower().replace("_", "-") for name in listing.split()}


@pytest.mark.docker
def test_images_hold_runtime_dependencies_only(ecs_image: str, lambda_image: str) -> None:
    ecs, lambda_ = installed_distributions(ecs_image), installed_distributions(lambda_image)

    assert {"onnxruntime", "fastapi", "uvicorn", "mangum"} <= ecs
    assert lambda_ - ecs == {"awslambdaric", "simplejson", "snapshot-restore-py"}
    assert not (ecs | lambda_) & (TRAINING_ONLY | {"pip", "setuptools"})


@pytest.mark.docker
@pytest.mark.parametrize("target", ["ecs", "lambda"])
def test_images_run_as_a_non_root_user(target: str, ecs_image: str, lambda_image: str) -> None:
    image = {"ecs": ecs_image, "lambda": lambda_image}[target]

    user = docker("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip()

    assert user not in {"", "0"}


@pytest.mark.docker
def test_lambda_image_is_the_ecs_image_plus_its_runtime_client(
    ecs_image: str, lambda_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def layers(image: str) -> list[str]:
        layer_ids: list[str] = json.loads(
            docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout
        )
        return layer_ids

    ecs_layers, lambda_layers = layers(ecs_image), layers(lambda_image)
    ecs_size, lambda_size = image_size_bytes(ecs_image), image_size_bytes(lambda_image)

    assert lambda_layers[: len(ecs_layers)] == ecs_layers
    assert len(lambda_layers) == len(ecs_layers) + 1
    assert 0 < lambda_size - ecs_size < 10_000_000
    with capsys.disabled():
        print(f"\nimage sizes: ecs {ecs_size / 1e6:.0f} MB, lambda {lambda_size / 1e6:.0f} MB")


def test_local_limits_are_the_fargate_task_size() -> None:
    assert container_limits() == ["--cpus", "0.5", "--memory", "1024m"]
