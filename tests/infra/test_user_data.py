"""infra/ec2/user_data.sh, run unchanged in a Debian 12 container booting systemd, as on the instance.

The only differences from EC2: the bundle comes from a file:// URI instead of s3://, the SSM
agent step is off (it needs the instance metadata service), and pip gets this machine's CA bundle.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from infra.ec2.bundle import write_bundle
from infra.local.docker import CA_BUNDLE, DOCKER, base_image
from tests.infra.conftest import IN_CI, Container, StartContainer, wait_until_ok

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_DATA = REPO_ROOT / "infra" / "ec2" / "user_data.sh"
SYSTEMD_DOCKERFILE = Path(__file__).with_name("systemd.Dockerfile")
SYSTEMD_IMAGE = "one-model/systemd-test:latest"
APP_PORT = 8000
UNIT = "/etc/systemd/system/one-model.service"
# systemd as PID 1 without --privileged (see the team guide).
SYSTEMD_RUN_FLAGS = (
    "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
)  # fmt: skip
SHELL_SCRIPTS = (
    "infra/ec2/user_data.sh",
    "infra/runtime/cpu-count.sh",
    "infra/local/debian-base-image.sh",
    ".ci/run",
)


@pytest.fixture(scope="module")
def systemd_image(docker_engine: None) -> str:
    """Debian 12 + systemd, FROM the same bookworm base the app images use."""
    command = [DOCKER, "build", "--file", str(SYSTEMD_DOCKERFILE), "--tag", SYSTEMD_IMAGE]
    command += ["--build-arg", f"BASE_IMAGE={base_image()}"]
    if network := os.environ.get("DOCKER_BUILD_NETWORK"):
        command += ["--network", network]
    subprocess.run(
        [*command, str(SYSTEMD_DOCKERFILE.parent)], check=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}
    )
    return SYSTEMD_IMAGE


@pytest.fixture(scope="module")
def bundle_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle exactly as the CDK asset uploads it: infra/ec2/bundle.py's directory, zipped."""
    folder = tmp_path_factory.mktemp("bundle")
    return Path(shutil.make_archive(str(folder / "bundle"), "zip", write_bundle(folder / "content")))


@pytest.fixture(scope="module")
def instance(systemd_image: str, bundle_zip: Path, start_container: StartContainer) -> Container:
    mounts = ["--volume", f"{bundle_zip.parent}:/bundle:ro", "--volume", f"{USER_DATA}:/user-data.sh:ro"]
    if CA_BUNDLE.is_file():
        mounts += ["--volume", f"{CA_BUNDLE}:/etc/ssl/host-ca.crt:ro"]
    container = start_container(
        *SYSTEMD_RUN_FLAGS, *mounts, "--publish", f"127.0.0.1::{APP_PORT}", systemd_image
    )
    wait_for_boot(container)
    return container


def run_user_data(instance: Container) -> subprocess.CompletedProcess[str]:
    env = {
        "BUNDLE_URI": "file:///bundle/bundle.zip",
        "APP_PORT": str(APP_PORT),
        "INSTALL_SSM_AGENT": "false",
        "READY_TIMEOUT_SECONDS": "120",
    }
    if CA_BUNDLE.is_file():
        env["PIP_CERT"] = "/etc/ssl/host-ca.crt"
    return instance.exec("bash", "/user-data.sh", env=env, timeout=900)


def wait_for_boot(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = container.exec("systemctl", "is-system-running").stdout.strip()
        if state in {"running", "degraded"}:
            return
        time.sleep(0.5)
    pytest.fail(f"systemd did not finish booting (state {state!r}); logs:\n{container.logs()[-3000:]}")


@pytest.fixture(scope="module")
def installed(instance: Container) -> Container:
    result = run_user_data(instance)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "one-model is ready" in result.stdout
    return instance


@pytest.mark.docker
def test_user_data_installs_a_service_that_answers_over_http(installed: Container) -> None:
    ready = wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=10).json()
    row = json.loads((REPO_ROOT / "model" / "artifacts" / "holdout.json").read_text())["rows"][0]

    response = httpx.post(installed.url(APP_PORT, "/predict"), json={"instances": [row]})

    assert response.status_code == 200
    assert response.json()["model_version"] == ready["model_version"]
    assert set(response.json()["predictions"][0]["probabilities"]) == {"class_0", "class_1", "class_2"}


@pytest.mark.docker
def test_service_runs_hardened_as_its_own_user(installed: Container) -> None:
    properties = ("ActiveState", "UnitFileState", "User", "NoNewPrivileges", "ProtectSystem", "PrivateTmp")
    shown = installed.exec(
        "systemctl", "show", "one-model", *(f"--property={name}" for name in properties)
    ).stdout
    main_pid = installed.exec(
        "systemctl", "show", "one-model", "--property=MainPID", "--value"
    ).stdout.strip()
    process_owner = installed.exec("stat", "--format=%U", f"/proc/{main_pid}").stdout.strip()

    assert dict(line.split("=", 1) for line in shown.split()) == {
        "ActiveState": "active",
        "UnitFileState": "enabled",
        "User": "one-model",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
    }
    assert process_owner == "one-model"


@pytest.mark.docker
def test_service_runs_one_worker_per_cpu(installed: Container) -> None:
    cpus = installed.exec("nproc").stdout.strip()

    workers = installed.exec("cat", "/run/one-model/workers.env").stdout.strip()

    assert workers == f"WEB_CONCURRENCY={cpus}"


@pytest.mark.docker
def test_unit_passes_systemd_analyze_verify(installed: Container) -> None:
    # verify only warns about unknown keys and bad values: any output is a defect.
    result = installed.exec("systemd-analyze", "verify", UNIT)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.docker
def test_service_comes_back_after_a_crash(installed: Container) -> None:
    installed.exec("systemctl", "kill", "--signal=SIGKILL", "one-model")

    wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=60)
    assert installed.exec("systemctl", "is-active", "one-model").stdout.strip() == "active"


@pytest.mark.docker
def test_user_data_can_run_again(installed: Container) -> None:
    # cloud-init runs user data once, but an operator re-running it must not break the instance.
    result = run_user_data(installed)

    assert result.returncode == 0, result.stdout + result.stderr
    wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=10)


@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    if shutil.which("shellcheck") is None:
        if IN_CI:
            pytest.fail("shellcheck is missing: .ci/run installs it")
        pytest.skip("shellcheck is not installed")

    result = subprocess.run(
        ["shellcheck", "--external-sources", script], cwd=REPO_ROOT, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout
