"""arm64 (Graviton) built and run on this x86_64 machine, under QEMU: a handful of requests, no timings.

The images are built as the CDK CLI builds an arm64 asset on x86_64 (the classic builder,
``--platform linux/arm64``), FROM the arm64 base (the local trixie where no registry is reachable).
Each way answers once: the Lambda image under the arm64 RIE with the x86_64 image's prediction, the
ECS image's /ready and /predict, and the EC2 bundle's aarch64 wheels installed as user data
installs them. The model's parity check (ONNX against scikit-learn) runs on arm64 too.
CI registers QEMU with binfmt_misc (.ci/run); elsewhere these tests need the same.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from infra.common.sizing import APP_PORT
from infra.ec2.bundle import write_bundle
from infra.local import docker as docker_module
from infra.local.commands import RUNTIME_ENVIRONMENT, lambda_command, server_command
from infra.local.docker import (
    DOCKER,
    IMAGE_NAME,
    base_image,
    base_image_args,
    build_image,
    default_base_image,
    default_tag,
)
from infra.local.function_url.events import function_url_event
from infra.local.rie import rie_path
from model.artifacts import metadata_path
from model.train import build_pipeline, compare_with_sklearn, export_onnx, load_dataset
from tests.infra.conftest import (
    Container,
    StartContainer,
    docker,
    expected_labels,
    holdout_rows,
    predict_body,
    wait_until_ok,
)
from tests.infra.test_images import invoke

ARM64 = "linux/arm64"
# qemu-user (Debian 12's 7.2) shows arm64 programs the host's x86 /proc/cpuinfo, and onnxruntime's CPU
# probe segfaults on it at import. An arm64 one (Graviton2's, as Lambda shows it) stands in, for
# emulation only: a real arm64 machine has its own.
ARM64_CPUINFO = Path(__file__).with_name("arm64-cpuinfo.txt")
# Emulation makes a cold start take tens of seconds (minutes on a busy machine, and the bundle's
# install comes first): generous bounds, never asserted on.
EMULATED_READY_SECONDS = 900
ROWS = 5


# ELF e_machine values (offset 18, little-endian): what a binary was built to run on.
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


def test_another_platform_builds_from_the_public_base_or_the_local_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(docker_module, "host_platform", lambda: "linux/amd64")
    monkeypatch.setattr(docker_module, "local_base_image", lambda platform=None: f"local-base:{platform}")
    for configured, expected in [
        (default_base_image(), []),  # the public image is multi-arch: the build pulls arm64's
        ("one-model-base:local", ["--build-arg", f"BASE_IMAGE=local-base:{ARM64}"]),
    ]:
        monkeypatch.setenv("BASE_IMAGE", configured)
        base_image.cache_clear()
        assert base_image_args(ARM64) == expected
    base_image.cache_clear()

    assert default_tag("ecs", ARM64) == f"{IMAGE_NAME}:ecs-arm64"
    assert default_tag("ecs", "linux/amd64") == default_tag("ecs") == f"{IMAGE_NAME}:ecs"


@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_the_rie_comes_for_both_architectures(arch: str, machine: str) -> None:
    header = rie_path(arch).read_bytes()[:20]

    assert header[:4] == b"\x7fELF"
    assert ELF_MACHINES[int.from_bytes(header[18:20], "little")] == machine


def emulated(*run_args: str) -> list[str]:
    """``docker run`` flags for an arm64 container under QEMU."""
    return ["--platform", ARM64, "--volume", f"{ARM64_CPUINFO}:/proc/cpuinfo:ro", *run_args]


@pytest.fixture(scope="module")
def arm64_ecs_image(docker_engine: None) -> str:
    return build_image("ecs", platform=ARM64, buildkit=False)


@pytest.fixture(scope="module")
def arm64_lambda_image(arm64_ecs_image: str) -> str:
    return build_image("lambda", platform=ARM64, buildkit=False)  # the ecs layers come from the cache


def lambda_under_rie(start_container: StartContainer, image: str, rie_arch: str, *flags: str) -> Container:
    return start_container(
        *flags,
        "--volume",
        f"{rie_path(rie_arch)}:/aws-lambda-rie:ro",
        "--publish",
        "127.0.0.1::8080",
        "--entrypoint",
        "/aws-lambda-rie",
        image,
        *lambda_command("python"),
    )


def machine(image: str, *flags: str) -> str:
    return docker("run", "--rm", *flags, "--entrypoint", "uname", image, "-m").stdout.strip()


@pytest.mark.docker
def test_arm64_images_are_arm64_and_run_under_emulation(
    arm64_ecs_image: str, arm64_lambda_image: str
) -> None:
    for image in (arm64_ecs_image, arm64_lambda_image):
        architecture = docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", image)
        assert architecture.stdout.strip() == ARM64
        assert machine(image, "--platform", ARM64) == "aarch64"


@pytest.mark.docker
def test_arm64_lambda_image_answers_a_function_url_event_as_x86_64_does(
    arm64_lambda_image: str, lambda_image: str, start_container: StartContainer
) -> None:
    event = function_url_event("POST", "/predict", predict_body(holdout_rows()[:ROWS]))
    arm64 = lambda_under_rie(start_container, arm64_lambda_image, "arm64", *emulated())
    x86_64 = lambda_under_rie(start_container, lambda_image, "x86_64")

    arm64_result, x86_64_result = invoke(arm64, event), invoke(x86_64, event)

    assert arm64_result["statusCode"] == x86_64_result["statusCode"] == 200, arm64_result
    arm64_body, x86_64_body = json.loads(arm64_result["body"]), json.loads(x86_64_result["body"])
    assert arm64_body["model_version"] == x86_64_body["model_version"]
    assert labels(arm64_body) == labels(x86_64_body) == expected_labels(holdout_rows()[:ROWS])
    assert probabilities(arm64_body) == pytest.approx(probabilities(x86_64_body), abs=1e-6)


def labels(body: dict[str, Any]) -> list[str]:
    return [prediction["label"] for prediction in body["predictions"]]


def probabilities(body: dict[str, Any]) -> list[float]:
    return [p for prediction in body["predictions"] for p in prediction["probabilities"].values()]


@pytest.mark.docker
def test_arm64_ecs_image_is_ready_and_predicts(arm64_ecs_image: str, start_container: StartContainer) -> None:
    rows = holdout_rows()[:ROWS]
    container = start_container(
        *emulated("--read-only", "--tmpfs", "/tmp", "--publish", "127.0.0.1::8000"), arm64_ecs_image
    )

    ready = wait_until_ok(container.url(8000, "/ready"), container, timeout=EMULATED_READY_SECONDS).json()
    response = httpx.post(container.url(8000, "/predict"), json={"instances": rows}, timeout=60)

    assert response.status_code == 200
    assert response.json()["model_version"] == ready["model_version"]
    assert labels(response.json()) == expected_labels(rows)


# What user data runs on the instance (create_venv in infra/ec2/user_data.sh), then the unit's command.
# --no-compile: bytecode is not what this checks, and compiling every package's modules under QEMU
# would be most of the test's time.
INSTALL_AND_SERVE = """
set -e
python3 -m venv /opt/one-model/venv
/opt/one-model/venv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check --no-index \
    --find-links /bundle/wheels --require-hashes --no-deps --no-compile -r /bundle/requirements/serving.txt
cd /bundle
exec "$@"
"""


@pytest.mark.docker
def test_ec2_bundles_aarch64_wheels_install_by_hash_and_serve_on_arm64(
    tmp_path: Path, start_container: StartContainer
) -> None:
    bundle = write_bundle(tmp_path / "bundle", "arm64")
    env = [
        item
        # One worker: the instance's own count (one per vCPU) only adds emulated start-up work here.
        for key, value in {
            **RUNTIME_ENVIRONMENT,
            "APP_HOST": "0.0.0.0",
            "APP_PORT": str(APP_PORT),
            "APP_WORKERS": "1",
        }.items()
        for item in ("--env", f"{key}={value}")
    ]
    rows = holdout_rows()[:ROWS]

    container = start_container(
        *emulated("--volume", f"{bundle}:/bundle:ro", "--publish", f"127.0.0.1::{APP_PORT}"),
        *env,
        base_image(ARM64),
        "sh",
        "-c",
        INSTALL_AND_SERVE,
        "install-and-serve",
        *server_command("/opt/one-model/venv/bin/python"),
    )
    wait_until_ok(container.url(APP_PORT, "/ready"), container, timeout=EMULATED_READY_SECONDS)
    response = httpx.post(container.url(APP_PORT, "/predict"), json={"instances": rows}, timeout=60)

    assert response.status_code == 200
    assert labels(response.json()) == expected_labels(rows)
    assert container.exec("uname", "-m").stdout.strip() == "aarch64"


# ---------------------------------------------------------------- the model's parity check on arm64
# The model is trained and exported once (on x86_64); what ships to arm64 is that ONNX file. So the
# check that matters there is arm64's onnxruntime, in the arm64 image, against scikit-learn.
ONNX_OUTPUTS = """
import json, sys
import numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
x = np.asarray(json.load(sys.stdin), dtype=np.float32)
labels, probabilities = session.run(None, {session.get_inputs()[0].name: x})
json.dump({"labels": labels.tolist(), "probabilities": probabilities.tolist()}, sys.stdout)
"""


@pytest.mark.docker
def test_model_parity_check_passes_on_arm64(arm64_ecs_image: str) -> None:
    data = load_dataset()
    pipeline = build_pipeline().fit(data.x_train, data.y_train)
    shipped = json.loads(metadata_path().read_text())
    assert hashlib.sha256(export_onnx(pipeline, data.x_test.shape[1])).hexdigest()[:12] == shipped["version"]

    result = subprocess.run(
        [DOCKER, "run", "--rm", "--interactive", *emulated(), "--entrypoint", "python", arm64_ecs_image,
         "-c", ONNX_OUTPUTS, "/app/model/artifacts/model.onnx"],
        input=json.dumps(data.x_test.tolist()), capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    outputs = json.loads(result.stdout)
    parity = compare_with_sklearn(
        pipeline, data.x_test, np.asarray(outputs["labels"]), np.asarray(outputs["probabilities"])
    )

    assert parity["rows"] == shipped["parity"]["rows"]
    assert parity["label_agreement"] == 1.0
    assert parity["max_probability_difference"] <= parity["probability_tolerance"]
