"""infra/ec2/user_data.sh, run unchanged in a Debian 13 container booting systemd, as on the instance.

The differences from EC2: the bundle comes from a file:// URI instead of s3://, the SSM and
CloudWatch agents are not installed (they come from AWS's buckets), and the instance metadata
service and CloudFormation are a stand-in (aws_stand_in.py) on the container's 127.0.0.1, so no
request goes to 169.254.169.254 or to AWS. The Debian packages user data needs are in the image;
the first run has no network at all, so the app must install from the bundle's wheels alone.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from packaging.utils import canonicalize_name

from infra.common.names import STACK_NAMES
from infra.common.paths import REPO_ROOT
from infra.common.sizing import APP_PORT, Architecture
from infra.ec2.bundle import UNIT_FILE, write_bundle
from infra.local.docker import DOCKER, IMAGE_NAME, base_image
from model.artifacts import holdout_path
from serving.config import Settings, workers_for
from tests.conftest import missing
from tests.infra import aws_stand_in
from tests.infra.conftest import Container, StartContainer, docker, wait_until_ok

USER_DATA = REPO_ROOT / "infra" / "ec2" / "user_data.sh"
SYSTEMD_DOCKERFILE = Path(__file__).with_name("systemd.Dockerfile")
SYSTEMD_IMAGE = f"{IMAGE_NAME}/systemd-test:latest"  # per checkout, like the app images
UNIT = "/etc/systemd/system/one-model.service"
# systemd as PID 1 without --privileged (see the team guide).
SYSTEMD_RUN_FLAGS = (
    "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
)  # fmt: skip
SHELL_SCRIPTS = (
    "infra/ec2/user_data.sh",
    "infra/local/debian-base-image.sh",
    ".ci/run",
)

# What infra/ec2/stack.py passes on AWS, and the stand-in that answers for AWS in the container.
STACK_NAME = STACK_NAMES["ec2"]
ASG_LOGICAL_ID = "AsgASG4D3A9F9A"
LOG_GROUP_NAME = "/one-model/ec2/app"
STAND_IN_PORT = 8555
STAND_IN_URL = f"http://127.0.0.1:{STAND_IN_PORT}"
STAND_IN_RECORDS = "/var/lib/aws-stand-in.jsonl"
AGENT_CONFIG = "/etc/one-model/cloudwatch-agent.json"
MACHINE_ARCHITECTURE: dict[str, Architecture] = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@pytest.fixture(scope="module")
def systemd_image(docker_engine: None) -> str:
    """Debian 13 + systemd + what user data installs, FROM the same trixie base the app images use."""
    command = [DOCKER, "build", "--file", str(SYSTEMD_DOCKERFILE), "--tag", SYSTEMD_IMAGE]
    command += ["--build-arg", f"BASE_IMAGE={base_image()}"]
    if network := os.environ.get("DOCKER_BUILD_NETWORK"):
        command += ["--network", network]
    subprocess.run(
        [*command, str(SYSTEMD_DOCKERFILE.parent)], check=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}
    )
    return SYSTEMD_IMAGE


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle exactly as the CDK asset uploads it, for this machine's architecture, zipped,
    next to a broken copy: one wheel altered, so it no longer matches the lock's hash."""
    folder = tmp_path_factory.mktemp("bundle")
    content = write_bundle(folder / "content", MACHINE_ARCHITECTURE[platform.machine()])
    shutil.make_archive(str(folder / "bundle"), "zip", content)
    tampered = next((content / "wheels").glob("idna-*.whl"))
    with zipfile.ZipFile(tampered, "a") as wheel:
        wheel.writestr("idna/planted.py", "print('not what the lock pinned')\n")
    shutil.make_archive(str(folder / "broken"), "zip", content)
    return folder


def start_instance(start_container: StartContainer, image: str, bundle_dir: Path) -> Container:
    """A booted container with the bundles, user data and the AWS stand-in (running on 127.0.0.1)."""
    mounts = ["--volume", f"{bundle_dir}:/bundle:ro", "--volume", f"{USER_DATA}:/user-data.sh:ro"]
    mounts += ["--volume", f"{aws_stand_in.__file__}:/aws_stand_in.py:ro"]
    container = start_container(*SYSTEMD_RUN_FLAGS, *mounts, "--publish", f"127.0.0.1::{APP_PORT}", image)
    wait_for_boot(container)
    start_stand_in(container, "aws-stand-in", STAND_IN_RECORDS)
    return container


def start_stand_in(container: Container, unit: str, records: str, *mode: str) -> None:
    """The AWS stand-in as a transient unit on STAND_IN_PORT (mode: aws_stand_in.py's options)."""
    container.exec(
        "systemd-run", f"--unit={unit}", "python3", "/aws_stand_in.py", str(STAND_IN_PORT), records, *mode
    )
    probe = f"import socket; socket.create_connection(('127.0.0.1', {STAND_IN_PORT}), timeout=1)"
    deadline = time.monotonic() + 20
    while container.exec("python3", "-c", probe).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"the AWS stand-in did not listen on {STAND_IN_URL}")
        time.sleep(0.2)


def wait_for_boot(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = container.exec("systemctl", "is-system-running").stdout.strip()
        if state in {"running", "degraded"}:
            return
        time.sleep(0.5)
    pytest.fail(f"systemd did not finish booting (state {state!r}); logs:\n{container.logs()[-3000:]}")


def run_user_data(instance: Container, bundle: str = "bundle.zip") -> subprocess.CompletedProcess[str]:
    env = {
        "BUNDLE_URI": f"file:///bundle/{bundle}",
        "APP_PORT": str(APP_PORT),
        "CFN_STACK_NAME": STACK_NAME,
        "CFN_RESOURCE_ID": ASG_LOGICAL_ID,
        "LOG_GROUP_NAME": LOG_GROUP_NAME,
        "INSTALL_AWS_AGENTS": "false",
        "READY_TIMEOUT_SECONDS": "120",
        # AWS, on the container's loopback; the region comes from the metadata stand-in.
        "IMDS_ENDPOINT": STAND_IN_URL,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": STAND_IN_URL,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_EC2_METADATA_DISABLED": "true",  # the CLI itself never asks the real metadata service
    }
    return instance.exec("bash", "/user-data.sh", env=env, timeout=900)


def stand_in_requests(instance: Container, records_file: str = STAND_IN_RECORDS) -> list[dict[str, object]]:
    records = instance.exec("cat", records_file).stdout
    return [json.loads(line) for line in records.splitlines()]


def signals(requests: list[dict[str, object]]) -> list[dict[str, str]]:
    forms = [request["form"] for request in requests if request["method"] == "POST"]
    return [form for form in forms if isinstance(form, dict) and form.get("Action") == "SignalResource"]


@dataclass
class FirstBoot:
    instance: Container
    result: subprocess.CompletedProcess[str]
    interfaces_during_run: list[str]
    requests: list[dict[str, object]]  # what the AWS stand-in received during the run


@pytest.fixture(scope="module")
def first_boot(systemd_image: str, bundle_dir: Path, start_container: StartContainer) -> FirstBoot:
    """User data's first run with the container cut off from every network, then reconnected."""
    instance = start_instance(start_container, systemd_image, bundle_dir)
    docker("network", "disconnect", "bridge", instance.id)
    try:
        interfaces = instance.exec("ls", "/sys/class/net").stdout.split()
        result = run_user_data(instance)
    finally:
        docker("network", "connect", "bridge", instance.id)
    return FirstBoot(instance, result, interfaces, stand_in_requests(instance))


@pytest.fixture(scope="module")
def installed(first_boot: FirstBoot) -> Container:
    assert first_boot.result.returncode == 0, first_boot.result.stdout + first_boot.result.stderr
    assert "one-model is ready" in first_boot.result.stdout
    return first_boot.instance


def unit_show(instance: Container, *properties: str) -> dict[str, str]:
    shown = instance.exec("systemctl", "show", "one-model", *(f"--property={name}" for name in properties))
    return dict(line.split("=", 1) for line in shown.stdout.splitlines())


def unit_file_setting(key: str) -> str:
    return next(line for line in UNIT_FILE.read_text().splitlines() if line.startswith(f"{key}="))


@pytest.mark.docker
def test_user_data_installs_a_service_that_answers_over_http(installed: Container) -> None:
    ready = wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=10).json()
    row = json.loads(holdout_path().read_text())["rows"][0]

    response = httpx.post(installed.url(APP_PORT, "/predict"), json={"instances": [row]})

    assert response.status_code == 200
    assert response.json()["model_version"] == ready["model_version"]
    assert set(response.json()["predictions"][0]["probabilities"]) == {"class_0", "class_1", "class_2"}


@pytest.mark.docker
def test_user_data_installs_the_locked_wheels_with_no_network(
    first_boot: FirstBoot, installed: Container
) -> None:
    lock = (REPO_ROOT / "requirements" / "serving.txt").read_text()
    locked = {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([\w.-]+)==(\S+)", lock, re.MULTILINE)
    }

    frozen = installed.exec(
        "/opt/one-model/venv/bin/pip", "list", "--format=json", "--disable-pip-version-check"
    )
    installed_versions = {
        canonicalize_name(item["name"]): item["version"] for item in json.loads(frozen.stdout)
    }

    assert first_boot.interfaces_during_run == ["lo"]  # no package index, nor anything else, was reachable
    assert {name: installed_versions.get(name) for name in locked} == locked


@pytest.mark.docker
def test_user_data_signals_success_for_its_stack_resource_and_instance(first_boot: FirstBoot) -> None:
    output = first_boot.result.stdout
    signal_request = next(r for r in first_boot.requests if r["method"] == "POST")

    assert first_boot.result.returncode == 0, output + first_boot.result.stderr
    assert signals(first_boot.requests) == [
        {
            "Action": "SignalResource",
            "Version": "2010-05-15",
            "StackName": STACK_NAME,
            "LogicalResourceId": ASG_LOGICAL_ID,
            "UniqueId": aws_stand_in.INSTANCE_ID,
            "Status": "SUCCESS",
        }
    ]
    # Signed for the instance's region, read from the metadata stand-in; sent only once /ready answered.
    assert f"/{aws_stand_in.REGION}/cloudformation/aws4_request" in str(signal_request["authorization"])
    assert output.index("one-model is ready") < output.index("signalling SUCCESS")


@pytest.mark.docker
def test_a_failing_boot_signals_failure(
    systemd_image: str, bundle_dir: Path, start_container: StartContainer
) -> None:
    instance = start_instance(start_container, systemd_image, bundle_dir)

    result = run_user_data(instance, bundle="broken.zip")

    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr  # pip refused the altered wheel
    assert [form["Status"] for form in signals(stand_in_requests(instance))] == ["FAILURE"]
    assert signals(stand_in_requests(instance))[0]["UniqueId"] == aws_stand_in.INSTANCE_ID
    assert instance.exec("systemctl", "is-active", "one-model").stdout.strip() != "active"


@pytest.mark.docker
def test_a_boot_no_creation_or_update_waits_for_still_succeeds(installed: Container) -> None:
    # A scale-out or make compare's relaunch: CloudFormation refuses the signal (no policy waits).
    refused_records = "/var/lib/aws-stand-in-refusing.jsonl"
    installed.exec("systemctl", "stop", "aws-stand-in")
    start_stand_in(installed, "aws-stand-in-refusing", refused_records, "refuse-signals")
    try:
        result = run_user_data(installed)
    finally:
        installed.exec("systemctl", "stop", "aws-stand-in-refusing")
        start_stand_in(installed, "aws-stand-in-again", STAND_IN_RECORDS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "cannot be signaled" in result.stderr  # the refusal reached the script, which logged it
    assert "CloudFormation took no SUCCESS signal" in result.stdout
    assert [form["Status"] for form in signals(stand_in_requests(installed, refused_records))] == ["SUCCESS"]
    assert installed.exec("systemctl", "is-active", "one-model").stdout.strip() == "active"
    wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=10)


@pytest.mark.docker
def test_service_runs_hardened_as_its_own_user(installed: Container) -> None:
    properties = ("ActiveState", "UnitFileState", "User", "NoNewPrivileges", "ProtectSystem", "PrivateTmp")
    main_pid = unit_show(installed, "MainPID")["MainPID"]
    process_owner = installed.exec("stat", "--format=%U", f"/proc/{main_pid}").stdout.strip()

    assert unit_show(installed, *properties) == {
        "ActiveState": "active",
        "UnitFileState": "enabled",
        "User": "one-model",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
    }
    assert process_owner == "one-model"


# Connects to APP_PORT on 127.0.0.1, then on 127.0.0.2 (the same listener): exit 0 only if the first
# works and the second is blocked.
FIREWALL_PROBE = f"""
import socket, sys
socket.create_connection(("127.0.0.1", {APP_PORT}), timeout=2).close()
try:
    socket.create_connection(("127.0.0.2", {APP_PORT}), timeout=2)
except OSError:
    sys.exit(0)
sys.exit("127.0.0.2 was reachable")
"""


@pytest.mark.docker
def test_service_cannot_reach_the_instance_metadata_service(installed: Container) -> None:
    # Read from systemd, never tried: no test sends anything to 169.254.169.254.
    shown = unit_show(installed, "IPAddressDeny", "IPAddressAllow")
    # The same kind of rule, on loopback addresses, shows the kernel enforces it here: the address
    # denied is cut off, the rest of loopback is not. Type=oneshot: systemd-run waits for the exit.
    probe = installed.exec(
        "systemd-run", "--quiet", "--unit=ip-firewall-probe", "--property=Type=oneshot",
        "--property=IPAddressDeny=127.0.0.2", "python3", "-c", FIREWALL_PROBE,
    )  # fmt: skip

    assert set(shown["IPAddressDeny"].split()) == {"169.254.169.254/32", "fd00:ec2::254/128"}
    assert shown["IPAddressAllow"] == ""  # so everything else, loopback included, stays reachable
    assert probe.returncode == 0, (
        probe.stderr + installed.exec("journalctl", "-u", "ip-firewall-probe").stdout
    )
    wait_until_ok(installed.url(APP_PORT, "/ready"), installed, timeout=10)


@pytest.mark.docker
def test_service_limits_outlast_the_apps_own(installed: Container) -> None:
    defaults = Settings.model_fields
    limit_concurrency = defaults["limit_concurrency"].default
    shown = unit_show(installed, "LimitNOFILESoft", "TimeoutStopUSec")
    in_unit = installed.exec("sh", "-c", "grep -l 'one-model.service$' /proc/[0-9]*/cgroup").stdout.split()
    limits = [installed.exec("cat", path.replace("/cgroup", "/limits")).stdout for path in in_unit]

    # Every connection a worker admits before its 503s holds a descriptor; the rest is headroom.
    assert int(shown["LimitNOFILESoft"]) >= 2 * limit_concurrency + 1024
    assert len(limits) >= 2  # uvicorn's supervisor and its workers all carry the limit
    assert all(re.search(rf"Max open files\s+{shown['LimitNOFILESoft']}\s", text) for text in limits)
    # systemd stops it after the unit's TimeoutStopSec, which test_server orders after the app's grace.
    stop_seconds = unit_file_setting("TimeoutStopSec").removeprefix("TimeoutStopSec=")
    assert shown["TimeoutStopUSec"] == f"{stop_seconds}s"


@pytest.mark.docker
def test_app_log_lands_where_the_cloudwatch_agent_reads_it(installed: Container) -> None:
    config = json.loads(installed.exec("cat", AGENT_CONFIG).stdout)
    [collected] = config["logs"]["logs_collected"]["files"]["collect_list"]
    log_file = unit_file_setting("StandardOutput").removeprefix("StandardOutput=append:")

    response = httpx.post(installed.url(APP_PORT, "/predict"), json={"instances": [[0.0]]})
    request_id = response.headers["x-request-id"]
    # uvicorn's own lines (start-up, errors) are plain text in the same file; requests are JSON.
    log_lines = installed.exec("cat", log_file).stdout.splitlines()
    lines = [json.loads(line) for line in log_lines if line.startswith("{")]
    logrotate = installed.exec("logrotate", "--debug", "/etc/logrotate.d/one-model")

    assert collected == {
        "file_path": log_file,
        "log_group_name": LOG_GROUP_NAME,
        "log_stream_name": "{instance_id}",
    }
    assert response.status_code == 422
    assert [(line["path"], line["status"]) for line in lines if line.get("request_id") == request_id] == [
        ("/predict", 422)
    ]
    assert logrotate.returncode == 0, logrotate.stderr


# The unit's server processes: the workers uvicorn's supervisor spawned, or, with one worker, the
# main process itself (uvicorn serves in it and spawns none).
WORKER_COUNT_PROBE = """
import pathlib
procs = [p for p in pathlib.Path("/proc").iterdir() if p.name.isdigit()]
unit = [p for p in procs if p.joinpath("cgroup").read_text().rstrip().endswith("/one-model.service")]
print(max(1, sum(b"spawn_main" in p.joinpath("cmdline").read_bytes() for p in unit)))
"""


@pytest.mark.docker
def test_service_runs_one_worker_per_cpu(installed: Container) -> None:
    # The unit sets no worker count: the server counts the CPUs it may use at every start.
    cpus = int(installed.exec("nproc").stdout)

    workers = int(installed.exec("python3", "-c", WORKER_COUNT_PROBE).stdout)

    assert "APP_WORKERS" not in unit_show(installed, "Environment")["Environment"]
    assert workers == workers_for(cpus)


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
        missing("shellcheck is not installed")

    result = subprocess.run(
        ["shellcheck", "--external-sources", script], cwd=REPO_ROOT, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout
