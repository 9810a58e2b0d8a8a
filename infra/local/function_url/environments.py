"""What one Lambda execution environment is on this machine: the real Lambda Runtime Interface
Emulator running the function, listening on a loopback port of its own.

Docker:  the Lambda image with the RIE binary mounted as its entrypoint, running the image's
         command (``commands.lambda_command``), with ``--memory`` from the function's memory
         setting and ``--cpus`` from it (``sizing.lambda_vcpus``), published on 127.0.0.1 only.
Host:    ``aws-lambda-rie`` running the same command with this checkout's interpreter (no Docker).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.common.paths import REPO_ROOT
from infra.common.sizing import lambda_vcpus
from infra.local.commands import lambda_command
from infra.local.containers import ContainerSpec, remove_container, start_container
from infra.local.process import LOOPBACK, ManagedProcess, free_port

RIE_IN_CONTAINER = "/usr/local/bin/aws-lambda-rie"
RIE_CONTAINER_PORT = 8080


def lambda_environment(memory_mb: int, timeout_seconds: int) -> dict[str, str]:
    """The variables Lambda sets that the RIE reads (it reports them back in its REPORT line)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "one-model-local",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_seconds),
    }


@dataclass
class DockerRieLauncher:
    image: str
    rie_binary: Path
    run_id: str
    memory_mb: int
    timeout_seconds: int
    description: str = "Lambda image under the RIE in Docker"

    def container_name(self, env_id: str) -> str:
        return f"one-model-{self.run_id}-lambda-{env_id}"

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess:
        spec = ContainerSpec(
            image=self.image,
            name=self.container_name(env_id),
            run_id=self.run_id,
            host_port=port,
            container_port=RIE_CONTAINER_PORT,
            cpus=lambda_vcpus(self.memory_mb),
            memory_mb=self.memory_mb,
            entrypoint=RIE_IN_CONTAINER,
            args=tuple(lambda_command("python")),
            env=lambda_environment(self.memory_mb, self.timeout_seconds),
            mounts=((self.rie_binary, RIE_IN_CONTAINER),),
        )
        return start_container(spec, log_path)

    def stop(self, env_id: str, process: ManagedProcess) -> None:
        remove_container(self.container_name(env_id))
        process.stop()


@dataclass
class HostRieLauncher:
    rie_binary: Path
    memory_mb: int
    timeout_seconds: int
    description: str = "handler as a host process under the RIE (no Docker engine)"

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess:
        argv = [
            str(self.rie_binary),
            "--runtime-interface-emulator-address", f"{LOOPBACK}:{port}",
            # Each RIE also serves the Runtime API to its runtime, on 127.0.0.1:9001 unless told:
            # environments side by side on one host need one port each.
            "--runtime-api-address", f"{LOOPBACK}:{free_port()}",
            *lambda_command(sys.executable),
        ]  # fmt: skip
        env = {**os.environ, **lambda_environment(self.memory_mb, self.timeout_seconds)}
        return ManagedProcess(argv, log_path, env=env, cwd=REPO_ROOT).start()

    def stop(self, env_id: str, process: ManagedProcess) -> None:
        process.stop()
