"""The two images from the one Dockerfile, built and run the way AWS runs them.

ecs: the Fargate task's CPU and memory, a read-only root filesystem, HTTP on a loopback port, and
/tmp as Fargate mounts it. lambda: the real Runtime Interface Emulator in front of awslambdaric, fed
a Function URL event. Both: no trace of the build machine's pip config in any layer.
(The images built by the deploy tools' own commands: test_deploy_tools.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.common.paths import REPO_ROOT
from infra.common.sizing import APP_PORT
from infra.local.commands import RUNTIME_ENVIRONMENT, lambda_command, server_command
from infra.local.docker import (
    DOCKER,
    base_image,
    base_image_args,
    container_limits,
    default_base_image,
    image_size_bytes,
    pip_build_config,
)
from infra.local.function_url.events import function_url_event
from infra.local.rie import rie_path
from tests.infra.conftest import (
    Container,
    StartContainer,
    build_config_needles,
    docker,
    expected_labels,
    history_and_env,
    holdout_rows,
    predict_body,
    scan_layers,
    wait_until_ok,
)

RIE_INVOKE_PATH = "/2015-03-31/functions/function/invocations"
TRAINING_ONLY = {"scikit-learn", "skl2onnx", "scipy", "pandas", "onnx"}
# Like AWS: nothing but /tmp is writable.
READ_ONLY = ("--read-only", "--tmpfs", "/tmp")
APP_UID = 10001


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
@pytest.mark.parametrize(("cpus", "workers"), [("0.5", 1), ("1", 1), ("1.5", 2), ("2", 2)])
def test_ecs_image_counts_one_worker_per_cpu_of_its_quota(ecs_image: str, cpus: str, workers: int) -> None:
    # What the server runs when APP_WORKERS is unset: the quota rounded up, never more than the
    # CPUs the container may run on.
    expected = min(workers, len(os.sched_getaffinity(0)))
    count = "from serving.config import Settings; print(Settings().workers)"

    result = docker("run", "--rm", "--cpus", cpus, "--entrypoint", "python", ecs_image, "-c", count)

    assert int(result.stdout) == expected


@pytest.mark.docker
def test_ecs_image_takes_its_worker_count_from_app_workers(
    ecs_image: str, start_container: StartContainer
) -> None:
    # The ECS stack sets APP_WORKERS from the task size (Fargate hides its quota); it wins.
    container = start_container("--env", "APP_WORKERS=2", "--publish", "127.0.0.1::8000", ecs_image)
    wait_until_ok(container.url(8000, "/ready"), container)

    started = 0
    for _ in range(60):
        started = container.logs().count("Started server process")
        if started >= 2:
            break
        docker("exec", container.id, "sleep", "0.5")

    assert started == 2


def image_config(image: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", image).stdout
    )
    return config


@pytest.mark.docker
def test_ecs_image_runs_what_the_local_runner_runs(ecs_image: str) -> None:
    config = image_config(ecs_image)
    env = dict(item.split("=", 1) for item in config["Env"])

    assert config["Entrypoint"] is None and config["Cmd"] == server_command("python")
    assert env.items() >= {**RUNTIME_ENVIRONMENT, "APP_HOST": "0.0.0.0", "APP_PORT": "8000"}.items()
    assert list(config["ExposedPorts"]) == [f"{APP_PORT}/tcp"]


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
def test_lambda_image_runs_what_the_local_function_url_runs(lambda_image: str) -> None:
    config = image_config(lambda_image)

    assert [*config["Entrypoint"], *config["Cmd"]] == lambda_command("python")


@pytest.mark.docker
def test_lambda_image_answers_a_function_url_event(lambda_container: Container) -> None:
    rows = holdout_rows()[:5]

    first = invoke(lambda_container, function_url_event("POST", "/predict", predict_body(rows)))
    second = invoke(lambda_container, function_url_event("GET", "/ready"))

    assert first["statusCode"] == 200, first
    assert [p["label"] for p in json.loads(first["body"])["predictions"]] == expected_labels(rows)
    assert first["headers"]["x-cold-start"] == "true"
    assert second["statusCode"] == 200
    assert json.loads(second["body"])["status"] == "ready"
    assert second["headers"]["x-cold-start"] == "false"


@pytest.mark.docker
def test_lambda_image_maps_errors_to_status_codes(lambda_container: Container) -> None:
    result = invoke(lambda_container, function_url_event("POST", "/predict", predict_body("nope")))

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
def test_ecs_image_runs_as_a_non_root_user(ecs_image: str) -> None:
    user = docker("run", "--rm", "--entrypoint", "id", ecs_image, "-u").stdout.strip()

    assert user == str(APP_UID)


@pytest.mark.docker
def test_lambda_image_runs_as_root_for_sams_emulator(lambda_image: str) -> None:
    # Lambda runs the function as its own sandbox user whatever USER says; `sam local invoke` needs
    # root to add its emulator layer (test_deploy_tools invokes it).
    user = docker("run", "--rm", "--entrypoint", "id", lambda_image, "-u").stdout.strip()

    assert user == "0"


@pytest.fixture(scope="module")
def build_needles(docker_engine: None) -> dict[str, bytes]:
    return build_config_needles()


@pytest.mark.docker
@pytest.mark.parametrize("target", ["ecs", "lambda"])
def test_images_carry_no_pip_config_or_ca_bundle_in_any_layer(
    target: str, ecs_image: str, lambda_image: str, build_needles: dict[str, bytes]
) -> None:
    image = {"ecs": ecs_image, "lambda": lambda_image}[target]
    layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)

    scan = scan_layers(image, build_needles)

    assert scan.layers == len(layers)
    assert "app/model/artifacts/model.onnx" in scan.paths  # the scan reads the app's layers too
    assert scan.leaks == []
    recipe = history_and_env(image)
    assert not [name for name in ("pip-build", "PIP_CONFIG_FILE", "PIP_CERT", "BEGIN CERT") if name in recipe]


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


@pytest.mark.docker
def test_the_layer_scan_finds_the_pip_config_where_the_builder_stage_has_it(
    build_needles: dict[str, bytes], ecs_image: str
) -> None:
    # The check above, against the one stage that must hold the files: it would see a leak.
    # BuildKit, like ecs_image's build, so the builder stage comes from its cache.
    tag = "one-model-scan-check:builder"
    command = [
        DOCKER,
        "build",
        "--target",
        "builder",
        "--tag",
        tag,
        "--build-arg",
        f"BASE_IMAGE={base_image()}",
    ]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    with pip_build_config(REPO_ROOT):
        subprocess.run([*command, str(REPO_ROOT)], capture_output=True, check=True, timeout=600, env=env)
    try:
        scan = scan_layers(tag, build_needles)
    finally:
        docker("rmi", tag, check=False)

    assert any(leak.startswith("file tmp/build/.pip-build.conf") for leak in scan.leaks)
    assert all(f"{label} in tmp/build/" in "\n".join(scan.leaks) for label in build_needles)


# ---------------------------------------------------------------- /tmp as Fargate mounts it
# Fargate mounts a fresh root-owned 0755 volume at /tmp. Only when the image declares VOLUME /tmp does
# ECS first fill it from the image (its 1777 /tmp), as Docker does for a fresh named volume.
TMP_WRITE_CHECK = """
import os, stat, tempfile
mode = os.stat("/tmp")
print(mode.st_uid, oct(stat.S_IMODE(mode.st_mode)))
with tempfile.NamedTemporaryFile(dir="/tmp") as scratch:
    scratch.write(b"ok")
print("wrote", os.getuid())
"""


@pytest.fixture
def fresh_volume(docker_engine: None) -> Iterator[str]:
    name = f"one-model-tmp-{uuid.uuid4().hex[:12]}"
    docker("volume", "create", name)
    yield name
    docker("volume", "rm", "--force", name, check=False)


def run_with_tmp_volume(image: str, mount: str) -> Any:
    return docker(
        "run",
        "--rm",
        "--read-only",
        "--mount",
        mount,
        "--entrypoint",
        "python",
        image,
        "-c",
        TMP_WRITE_CHECK,
        check=False,
        timeout=120,
    )


@pytest.mark.docker
def test_ecs_image_declares_tmp_a_volume(ecs_image: str) -> None:
    volumes = json.loads(docker("image", "inspect", "--format", "{{json .Config.Volumes}}", ecs_image).stdout)

    assert "/tmp" in volumes


@pytest.mark.docker
def test_ecs_app_user_writes_tmp_on_a_fresh_volume_filled_from_the_image(
    ecs_image: str, fresh_volume: str
) -> None:
    result = run_with_tmp_volume(ecs_image, f"type=volume,source={fresh_volume},target=/tmp")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0o1777", "wrote", str(APP_UID)]


@pytest.mark.docker
def test_without_the_fill_a_fresh_tmp_volume_refuses_the_app_user(ecs_image: str, fresh_volume: str) -> None:
    # What Fargate gives an image without VOLUME /tmp: the fresh volume as it was created.
    result = run_with_tmp_volume(ecs_image, f"type=volume,source={fresh_volume},target=/tmp,volume-nocopy")

    assert result.returncode != 0
    assert result.stdout.split() == ["0", "0o755"]
    assert "PermissionError" in result.stderr


def test_local_limits_are_the_fargate_task_size() -> None:
    assert container_limits() == ["--cpus", "0.5", "--memory", "1024m"]


def test_a_build_names_the_base_image_only_when_it_is_not_the_dockerfiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Dockerfile's ARG default is the base image's one home: a build restates it nowhere.
    for configured, expected in [
        (default_base_image(), []),
        ("one-model-base:local", ["--build-arg", "BASE_IMAGE=one-model-base:local"]),
    ]:
        monkeypatch.setenv("BASE_IMAGE", configured)
        base_image.cache_clear()
        assert base_image_args() == expected
    base_image.cache_clear()
