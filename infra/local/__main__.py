"""Command line for the Makefile: ``python -m infra.local build ecs lambda [--platform linux/arm64 ...]``
| ``rie-path`` | ``limits``."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time

from infra.local.docker import (
    TARGETS,
    base_image,
    build_image,
    container_limits,
    host_platform,
    image_size_bytes,
)
from infra.local.rie import rie_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build image targets and print their sizes")
    build.add_argument("targets", nargs="+", choices=TARGETS)
    build.add_argument(
        "--platform",
        action="append",
        dest="platforms",
        help="linux/amd64 or linux/arm64, repeatable (default: this machine's); others build under QEMU",
    )
    commands.add_parser("rie-path", help="print the path of the aws-lambda-rie binary (downloaded once)")
    commands.add_parser("limits", help="print the docker run flags that mimic the Fargate task size")
    args = parser.parse_args(argv)
    if args.command == "build":
        for platform in args.platforms or [host_platform()]:
            for target in args.targets:
                build_and_report(target, platform)
    elif args.command == "rie-path":
        print(rie_path())
    else:
        print(shlex.join(container_limits()))


def build_and_report(target: str, platform: str) -> None:
    """Build one target for one platform and print its tag, platform and size."""
    started = time.perf_counter()
    try:
        tag = build_image(target, platform=platform)
    except subprocess.CalledProcessError as error:
        hint = "" if platform == host_platform() else EMULATION_HINT
        base = base_image(platform)
        sys.exit(f"building {target} for {platform} FROM {base} failed (exit {error.returncode}){hint}")
    seconds = time.perf_counter() - started
    print(f"{tag} ({platform}): {image_size_bytes(tag) / 1e6:.0f} MB, built in {seconds:.1f} s")


EMULATION_HINT = (
    "; another architecture builds under QEMU: install qemu-user-static and binfmt-support "
    "(.ci/run shows how), or build this machine's platform only"
)


if __name__ == "__main__":
    main()
