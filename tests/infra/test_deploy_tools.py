"""The images built and run the way the deploy tools build and run them.

`cdk deploy` builds each image asset as cdk.out/*.assets.json describes it, with a plain `docker build`
and no DOCKER_BUILDKIT (Debian's docker.io 20.10 then uses the classic builder). `sam local invoke`
runs the synthesized Lambda function from that image, with SAM's emulator layer added on top.

The synth is the CDK CLI's: the app with cdk.json's context plus the asset and path metadata the CLI
turns on (SAM finds the function's image through it). The assets build FROM the Dockerfile's default
public base image; here the local debootstrapped one stands in under that name. The build machine's
pip config goes into the staged asset directory for the build only: this machine's network, not part
of the described build. Nothing leaves the machine: SAM's AWS calls and any HTTP go to a closed
loopback port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.app import build_app
from infra.common.names import STACK_NAMES
from infra.common.paths import REPO_ROOT
from infra.local.docker import DOCKER, base_image, default_base_image, host_platform, pip_build_config
from infra.local.function_url.events import function_url_event
from infra.local.rie import SAM_CLI_VERSION
from tests.infra.cdk_fixtures import cdk_json_context
from tests.infra.conftest import (
    build_config_needles,
    docker,
    expected_labels,
    history_and_env,
    holdout_rows,
    predict_body,
    scan_layers,
)

SAM = REPO_ROOT / ".cache" / "sam-cli" / "bin" / "sam"  # `make sam-cli`
# What `cdk synth` adds to the app's context (the CLI's defaults): SAM reads the asset metadata.
CLI_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}
CLOSED_LOOPBACK = "http://127.0.0.1:9"
BUILD_TIMEOUT = 1200
INVOKE_TIMEOUT = 300


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(cdk.App(outdir=str(outdir), context={**cdk_json_context(), **CLI_CONTEXT})).synth()
    return outdir


@pytest.fixture(scope="module")
def base_image_as_named(docker_engine: None, cli_synth: Path) -> Iterator[str]:
    """The base image under the name the Dockerfile's ARG default gives it, which is what the assets
    build FROM (they pass no build args): tagged here, untagged after."""
    assert not any(source.get("dockerBuildArgs") for source in asset_sources(cli_synth).values())
    name = default_base_image()
    tagged = docker("image", "inspect", name, check=False).returncode != 0
    if tagged:
        docker("tag", base_image(), name)
    yield name
    if tagged:
        docker("rmi", name, check=False)


def asset_sources(outdir: Path) -> dict[str, dict[str, Any]]:
    """The one image asset of each container stack, by way: ``{"ecs": source, "lambda": source}``."""
    sources: dict[str, dict[str, Any]] = {}
    for way in ("ecs", "lambda"):
        manifest = json.loads((outdir / f"{STACK_NAMES[way]}.assets.json").read_text())
        (image,) = manifest["dockerImages"].values()
        sources[way] = image["source"]
    return sources


@dataclass(frozen=True)
class AssetBuild:
    tag: str
    returncode: int
    log: str


def cdk_assets_build(outdir: Path, source: dict[str, Any], tag: str) -> AssetBuild:
    """`docker build` with cdk-assets' arguments, in the staged asset directory, DOCKER_BUILDKIT unset."""
    command = [DOCKER, "build"]
    for name, value in source.get("dockerBuildArgs", {}).items():
        command += ["--build-arg", f"{name}={value}"]
    command += ["--tag", tag]
    if target := source.get("dockerBuildTarget"):
        command += ["--target", target]
    if dockerfile := source.get("dockerFile"):
        command += ["--file", dockerfile]
    if platform := source.get("platform"):
        command += ["--platform", platform]
    command.append(".")
    directory = outdir / source["directory"]
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_BUILDKIT"}
    with pip_build_config(directory):
        build = subprocess.run(
            command,
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    return AssetBuild(tag=tag, returncode=build.returncode, log=build.stdout + build.stderr)


@pytest.fixture(scope="module")
def asset_builds(cli_synth: Path, base_image_as_named: str) -> Iterator[dict[str, AssetBuild]]:
    builds = {
        way: cdk_assets_build(cli_synth, source, f"one-model-cdk-asset:{way}")
        for way, source in asset_sources(cli_synth).items()
    }
    yield builds
    for build in builds.values():
        docker("rmi", build.tag, check=False)


# ---------------------------------------------------------------- cdk deploy's docker build
def test_each_container_stack_builds_its_own_target_for_the_deployed_platform(cli_synth: Path) -> None:
    sources = asset_sources(cli_synth)

    assert {way: source["dockerBuildTarget"] for way, source in sources.items()} == {
        "ecs": "ecs",
        "lambda": "lambda",
    }
    assert {source["platform"] for source in sources.values()} == {
        host_platform()
    }  # architecture=x86_64 here
    assert all((cli_synth / source["directory"] / "Dockerfile").is_file() for source in sources.values())


@pytest.mark.docker
@pytest.mark.parametrize("way", ["ecs", "lambda"])
def test_cdk_image_asset_builds_with_the_classic_builder(
    way: str, asset_builds: dict[str, AssetBuild]
) -> None:
    build = asset_builds[way]

    assert build.returncode == 0, build.log[-4000:]
    assert "Step 1/" in build.log  # the classic builder's output (BuildKit prints "#1 [internal] ...")
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", build.tag).stdout)
    if way == "ecs":
        assert (config["User"], list(config["Volumes"])) == ("10001:10001", ["/tmp"])
    else:
        assert (config["User"], config["Entrypoint"]) == ("root", ["python", "-m", "awslambdaric"])


@pytest.mark.docker
@pytest.mark.parametrize("way", ["ecs", "lambda"])
def test_cdk_built_image_carries_no_pip_config_or_ca_bundle(
    way: str, asset_builds: dict[str, AssetBuild]
) -> None:
    tag = asset_builds[way].tag
    layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", tag).stdout)

    scan = scan_layers(tag, build_config_needles())

    assert scan.layers == len(layers)
    assert "app/model/artifacts/model.onnx" in scan.paths
    assert scan.leaks == []
    assert "pip-build" not in history_and_env(tag)


# ---------------------------------------------------------------- sam local invoke
@pytest.fixture(scope="module")
def sam_function(cli_synth: Path, asset_builds: dict[str, AssetBuild]) -> Iterator[str]:
    """The synthesized function's logical id; its image tagged where SAM looks (``<id lower>:latest``)."""
    if not SAM.is_file():
        pytest.fail(f"no SAM CLI at {SAM}: `make sam-cli` installs aws-sam-cli=={SAM_CLI_VERSION}")
    assert asset_builds["lambda"].returncode == 0, asset_builds["lambda"].log[-4000:]
    logical_id = image_function(cli_synth)
    repository = logical_id.lower()
    docker("tag", asset_builds["lambda"].tag, f"{repository}:latest")
    yield logical_id
    # SAM's own image (the function's plus its emulator) is named after the architecture.
    for tag in ("latest", "rapid-x86_64", "rapid-arm64"):
        docker("rmi", f"{repository}:{tag}", check=False)


def lambda_template(outdir: Path) -> Path:
    return outdir / f"{STACK_NAMES['lambda']}.template.json"


def image_function(outdir: Path) -> str:
    """The logical id of the template's one function whose image is a CDK asset."""
    resources = json.loads(lambda_template(outdir).read_text())["Resources"]
    (logical_id,) = (
        key
        for key, resource in resources.items()
        if resource.get("Metadata", {}).get("aws:asset:property") == "Code.ImageUri"
    )
    return logical_id


@pytest.fixture(scope="module")
def sam_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """SAM's environment: the Docker socket, fake credentials, no telemetry, nothing to reach but loopback."""
    app_dir = tmp_path_factory.mktemp("sam-app")
    # A version check done just now: SAM would otherwise ask PyPI for a newer release.
    (app_dir / "metadata.json").write_text(
        json.dumps({"telemetryEnabled": False, "lastVersionCheck": time.time()})
    )
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(app_dir),
        "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        "__SAM_CLI_APP_DIR": str(app_dir),
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        # SAM asks STS for the account id: let every AWS call (and any other HTTP) fail on loopback.
        "AWS_ENDPOINT_URL": CLOSED_LOOPBACK,
        "AWS_MAX_ATTEMPTS": "1",
        "HTTP_PROXY": CLOSED_LOOPBACK,
        "HTTPS_PROXY": CLOSED_LOOPBACK,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def sam_local_invoke(
    cli_synth: Path, function: str, env: dict[str, str], event: dict[str, Any], tmp_path: Path
) -> dict[str, Any]:
    """`sam local invoke` the synthesized function with one event; its emulator published on loopback only."""
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))
    command = [str(SAM), "local", "invoke", function]
    command += ["--template", str(lambda_template(cli_synth))]
    command += ["--event", str(event_file), "--skip-pull-image"]
    command += ["--container-host", "127.0.0.1", "--container-host-interface", "127.0.0.1"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT
    )
    assert result.returncode == 0, result.stderr[-4000:]
    response: dict[str, Any] = json.loads(result.stdout)
    return response


@pytest.mark.docker
def test_sam_local_invoke_predicts_for_a_function_url_event(
    cli_synth: Path, sam_function: str, sam_env: dict[str, str], tmp_path: Path
) -> None:
    rows = holdout_rows()[:5]

    response = sam_local_invoke(
        cli_synth,
        sam_function,
        sam_env,
        function_url_event("POST", "/predict", predict_body(rows)),
        tmp_path,
    )

    assert response["statusCode"] == 200, response
    assert [p["label"] for p in json.loads(response["body"])["predictions"]] == expected_labels(rows)


@pytest.mark.docker
def test_sam_local_invoke_answers_a_bad_body_with_a_json_4xx(
    cli_synth: Path, sam_function: str, sam_env: dict[str, str], tmp_path: Path
) -> None:
    response = sam_local_invoke(
        cli_synth,
        sam_function,
        sam_env,
        function_url_event("POST", "/predict", predict_body("nope")),
        tmp_path,
    )

    assert response["statusCode"] == 422, response
    assert response["headers"]["content-type"] == "application/json"
    assert "detail" in json.loads(response["body"])


# ---------------------------------------------------------------- sam build
@pytest.mark.docker
def test_sam_build_builds_the_lambda_image_from_the_synthesized_template(
    cli_synth: Path, base_image_as_named: str, sam_env: dict[str, str], tmp_path: Path
) -> None:
    # SAM reads the asset's directory, Dockerfile and build args from the template's metadata and
    # builds with the Docker API's classic builder. It ignores the asset's target and builds the last
    # stage, which is why `lambda` stays the Dockerfile's last stage.
    resources = json.loads(lambda_template(cli_synth).read_text())["Resources"]
    directory = cli_synth / resources[image_function(cli_synth)]["Metadata"]["aws:asset:path"]
    command = [str(SAM), "build", "--template", str(lambda_template(cli_synth)), "--build-dir", "build"]
    with pip_build_config(directory):
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env=sam_env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    built = re.search(r"ImageUri: (\S+)", (tmp_path / "build" / "template.yaml").read_text())
    assert built is not None
    try:
        config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", built[1]).stdout)
        assert (config["User"], config["Entrypoint"]) == ("root", ["python", "-m", "awslambdaric"])
    finally:
        docker("rmi", built[1], check=False)
