"""Lambda execution environments for the local Function URL: the Lambda image (or, without Docker,
the handler as a host process) under the real Lambda Runtime Interface Emulator.

Docker:  the image's own ENTRYPOINT + CMD (``python -m awslambdaric serving.lambda_handler.handler``)
         run by the RIE binary mounted into the container, with ``--cpus = memory / 1769`` and
         ``--memory`` from the function's memory setting, published on 127.0.0.1 only.
Run as ``python -m loadtests.local.lambda_rie --port P ...``: the Function URL in its own process,
which the demo starts, drives through ``/_local/*`` and stops with SIGTERM (environments stop with it).

Host:    ``aws-lambda-rie --runtime-interface-emulator-address 127.0.0.1:PORT`` running the same
         handler with this checkout's .venv.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtests.local.containers import (
    ContainerSpec,
    image_command,
    lambda_cpus,
    remove_container,
    start_container,
)
from loadtests.local.function_url import AUTH_TYPES, EnvironmentPool, Launcher, serve
from loadtests.local.process import LOOPBACK, ManagedProcess, free_port

HANDLER = "serving.lambda_handler.handler"
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

    def __post_init__(self) -> None:
        self.command = image_command(self.image)

    def container_name(self, env_id: str) -> str:
        return f"one-model-{self.run_id}-lambda-{env_id}"

    def start(self, env_id: str, port: int, log_path: Path) -> ManagedProcess:
        spec = ContainerSpec(
            image=self.image,
            name=self.container_name(env_id),
            run_id=self.run_id,
            host_port=port,
            container_port=RIE_CONTAINER_PORT,
            cpus=lambda_cpus(self.memory_mb),
            memory_mb=self.memory_mb,
            entrypoint=RIE_IN_CONTAINER,
            args=tuple(self.command),
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
    repo_root: Path
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
            sys.executable, "-m", "awslambdaric", HANDLER,
        ]  # fmt: skip
        env = {**os.environ, **lambda_environment(self.memory_mb, self.timeout_seconds)}
        return ManagedProcess(argv, log_path, env=env, cwd=self.repo_root).start()

    def stop(self, env_id: str, process: ManagedProcess) -> None:
        process.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.local.lambda_rie", description="A local Lambda Function URL on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--image", help="the Lambda image; without it, the handler runs as a host process")
    parser.add_argument("--rie", type=Path, required=True, help="the aws-lambda-rie binary")
    parser.add_argument("--run-id", default="adhoc", help="label for the containers")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--timeout-seconds", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--idle-timeout", type=float, default=300.0)
    parser.add_argument(
        "--auth-type",
        choices=AUTH_TYPES,
        default="NONE",
        help="AWS_IAM: only SigV4 requests signed by the demo's fake identity get through (403 otherwise)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    launcher: Launcher
    if args.image:
        launcher = DockerRieLauncher(args.image, args.rie, args.run_id, args.memory_mb, args.timeout_seconds)
    else:
        repo_root = Path(__file__).resolve().parents[2]
        launcher = HostRieLauncher(args.rie, repo_root, args.memory_mb, args.timeout_seconds)
    pool = EnvironmentPool(
        launcher,
        args.log_dir,
        concurrency_limit=args.concurrency,
        idle_timeout=args.idle_timeout,
        invoke_timeout=args.timeout_seconds + 5,
    )
    serve(pool, args.port, args.auth_type)


if __name__ == "__main__":
    main()
