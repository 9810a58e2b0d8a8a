"""Command line for the Makefile: ``python -m infra.local build ecs lambda`` | ``rie-path`` | ``limits``."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time

from infra.local.docker import TARGETS, base_image, build_image, container_limits, image_size_bytes
from infra.local.rie import rie_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build image targets and print their sizes")
    build.add_argument("targets", nargs="+", choices=TARGETS)
    commands.add_parser("rie-path", help="print the path of the aws-lambda-rie binary (downloaded once)")
    commands.add_parser("limits", help="print the docker run flags that mimic the Fargate task size")
    args = parser.parse_args(argv)
    if args.command == "build":
        for target in args.targets:
            started = time.perf_counter()
            try:
                tag = build_image(target)
            except subprocess.CalledProcessError as error:
                sys.exit(f"building {target} FROM {base_image()} failed (exit {error.returncode})")
            seconds = time.perf_counter() - started
            print(f"{tag}: {image_size_bytes(tag) / 1e6:.0f} MB, built in {seconds:.1f} s")
    elif args.command == "rie-path":
        print(rie_path())
    else:
        print(shlex.join(container_limits()))


if __name__ == "__main__":
    main()
