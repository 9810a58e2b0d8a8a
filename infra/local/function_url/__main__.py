"""``python -m infra.local.function_url --port P ...``: the local Function URL in its own process.

The demo starts it (``target.py``), drives it through ``/_local/*`` and stops it with SIGTERM;
its execution environments stop with it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.local.function_url.app import AUTH_TYPES, TlsListener, serve
from infra.local.function_url.environments import DockerRieLauncher, HostRieLauncher
from infra.local.function_url.pool import EnvironmentPool, Launcher


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.function_url", description="A local Lambda Function URL on 127.0.0.1."
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
    parser.add_argument("--tls-port", type=int, help="also serve HTTPS here, with --tls-cert and --tls-key")
    parser.add_argument("--tls-cert", help="the certificate (PEM) HTTPS presents")
    parser.add_argument("--tls-key", help="its private key (PEM)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    launcher: Launcher
    if args.image:
        launcher = DockerRieLauncher(args.image, args.rie, args.run_id, args.memory_mb, args.timeout_seconds)
    else:
        launcher = HostRieLauncher(args.rie, args.memory_mb, args.timeout_seconds)
    pool = EnvironmentPool(
        launcher,
        args.log_dir,
        concurrency_limit=args.concurrency,
        idle_timeout=args.idle_timeout,
        invoke_timeout=args.timeout_seconds + 5,
    )
    tls = TlsListener(args.tls_port, args.tls_cert, args.tls_key) if args.tls_port else None
    serve(pool, args.port, args.auth_type, tls)


if __name__ == "__main__":
    main()
