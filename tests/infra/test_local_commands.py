"""The local runners start each way as its deployed recipe does: infra/local/commands.py states
the commands and environment once, and these tests read the recipes (the EC2 unit, the Dockerfile)
to prove they say the same. The runners themselves never read those files."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infra.common.paths import REPO_ROOT
from infra.common.sizing import APP_PORT
from infra.ec2.bundle import UNIT_FILE
from infra.local import ec2
from infra.local.commands import RUNTIME_ENVIRONMENT, lambda_command, server_command, server_environment
from infra.local.ecs import ecs_container_target

if TYPE_CHECKING:
    from tests.infra.cdk_fixtures import Synthesis

pytest_plugins = ("tests.infra.cdk_fixtures",)

DOCKERFILE = REPO_ROOT / "Dockerfile"
LOCAL = REPO_ROOT / "infra" / "local"
# Where the deployed server listens: every interface, for the ALB (locally: 127.0.0.1, a free port).
DEPLOYED_ADDRESS = {"APP_HOST": "0.0.0.0", "APP_PORT": "8000"}


def unit_settings(path: Path = UNIT_FILE) -> list[tuple[str, str]]:
    """Every ``Key=value`` line of the unit, in order (a key may repeat)."""
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith(("#", "["))]
    return [(key, value) for key, _, value in (line.partition("=") for line in lines)]


def unit_environment() -> dict[str, str]:
    return dict(
        assignment.split("=", 1)
        for key, value in unit_settings()
        if key == "Environment"
        for assignment in shlex.split(value)
    )


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions (continuation lines joined), by stage name."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    logical = ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        logical += raw.rstrip().removesuffix("\\") + " "
        if raw.rstrip().endswith("\\"):
            continue
        instruction, _, argument = logical.strip().partition(" ")
        logical = ""
        if instruction.upper() == "FROM":
            current = []
            stages[argument.split()[-1]] = current
        current.append((instruction.upper(), argument.strip()))
    return stages


def stage_env(*names: str) -> dict[str, str]:
    stages = dockerfile_stages()
    return dict(
        assignment.split("=", 1)
        for name in names
        for instruction, argument in stages[name]
        if instruction == "ENV"
        for assignment in shlex.split(argument)
    )


def stage_value(stage: str, instruction: str) -> str:
    (value,) = [argument for name, argument in dockerfile_stages()[stage] if name == instruction]
    return value


# ---------------------------------------------------------------- ec2: the systemd unit
def test_the_unit_starts_the_server_command_with_the_runtime_environment() -> None:
    (exec_start,) = [value for key, value in unit_settings() if key == "ExecStart"]
    venv_python, *arguments = shlex.split(exec_start)

    assert venv_python.endswith("/venv/bin/python")
    assert server_command(venv_python) == [venv_python, *arguments]
    assert unit_environment() == {**DEPLOYED_ADDRESS, **RUNTIME_ENVIRONMENT}


def test_the_unit_leaves_the_worker_count_to_the_server() -> None:
    # The server counts the VM's CPUs itself (serving.config.workers_for), as the local ec2 does.
    counting = ("WEB_CONCURRENCY", "APP_WORKERS", "nproc")
    assert [line for line in unit_settings() if any(word in line[1] for word in counting)] == []
    assert "APP_WORKERS" not in server_environment(APP_PORT)


def test_the_local_restart_and_stop_timing_is_the_units() -> None:
    settings = dict(unit_settings())

    assert float(settings["RestartSec"].removesuffix("s")) == ec2.RESTART_SECONDS
    assert float(settings["TimeoutStopSec"].removesuffix("s")) == ec2.STOP_TIMEOUT_SECONDS


# ---------------------------------------------------------------- ecs and lambda: the Dockerfile
def test_the_ecs_image_runs_the_server_command_with_the_runtime_environment() -> None:
    assert json.loads(stage_value("ecs", "CMD")) == server_command("python")
    assert stage_env("runtime", "ecs") == {
        **RUNTIME_ENVIRONMENT,
        **DEPLOYED_ADDRESS,
        "PATH": "/opt/venv/bin:$PATH",
    }
    assert stage_value("ecs", "EXPOSE") == str(APP_PORT)


def test_the_lambda_image_runs_the_lambda_command() -> None:
    entrypoint, command = (
        json.loads(stage_value("lambda", "ENTRYPOINT")),
        json.loads(stage_value("lambda", "CMD")),
    )

    assert [*entrypoint, *command] == lambda_command("python")


def test_the_local_ecs_container_gets_the_task_definitions_environment(
    synth: Synthesis, tmp_path: Path
) -> None:
    resources = synth.templates["ecs"]["Resources"].values()
    (task,) = [r for r in resources if r["Type"] == "AWS::ECS::TaskDefinition"]
    (container,) = task["Properties"]["ContainerDefinitions"]
    deployed = {variable["Name"]: variable["Value"] for variable in container["Environment"]}

    local = ecs_container_target("one-model:ecs", "check", tmp_path).spec(APP_PORT)

    assert local.env == deployed  # APP_WORKERS from the task size, and nothing else
    assert (local.cpus * 1024, local.memory_mb) == (
        int(task["Properties"]["Cpu"]),
        int(task["Properties"]["Memory"]),
    )


# ---------------------------------------------------------------- the package's map
@pytest.mark.parametrize("package", [LOCAL, LOCAL / "function_url"])
def test_the_package_docstring_lists_each_module_once_and_no_other(package: Path) -> None:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    listed = [line.split()[0] for line in docstring.splitlines() if re.match(r"^\S+(\.py|/)\s", line)]
    modules = [path.name for path in package.glob("*.py") if path.name != "__init__.py"]
    modules += [f"{path.name}/" for path in package.iterdir() if (path / "__init__.py").is_file()]

    assert sorted(listed) == sorted(modules)
