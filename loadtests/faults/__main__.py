"""`make faults`: the fault scenarios against the three local ways, and their report.

    python -m loadtests.faults --soak-seconds 600      # the 10-minute soak

Writes reports/<run-id>/report.json (``faults``) and report.md (its "Faults" section). Everything
listens on 127.0.0.1 and everything started is stopped on success, failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from infra.common.names import WAYS
from infra.local.docker import docker_available
from loadtests.comparison import REPORTS_DIR, exit_on_sigterm, new_run_id, say
from loadtests.faults.markdown import faults_section
from loadtests.faults.runner import run_faults
from loadtests.faults.scenarios import FaultSettings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(WAYS), help="comma-separated subset of ec2,ecs,lambda")
    parser.add_argument("--soak-seconds", type=float, default=30.0, help="steady load held for the soak")
    parser.add_argument("--users", type=int, default=4, help="Locust users during every scenario")
    parser.add_argument("--slow-connections", type=int, default=4, help="slow clients (at most 8)")
    parser.add_argument("--no-docker", action="store_true", help="host processes even if Docker is available")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--out", type=Path, default=REPORTS_DIR, help="where reports/<run-id>/ goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    exit_on_sigterm()
    ways = [w.strip() for w in args.targets.split(",") if w.strip()]
    run_id = args.run_id or new_run_id("faults")
    run_dir = args.out / run_id
    use_docker = not args.no_docker and docker_available()
    settings = FaultSettings(args.users, args.soak_seconds, args.slow_connections)
    data = {
        "run_id": run_id,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "docker": use_docker,
        "faults": run_faults(ways, use_docker, run_id, run_dir, settings),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report.json").write_text(json.dumps(data, indent=2))
    report = run_dir / "report.md"
    report.write_text(
        "\n".join([f"# One Model, Three Ways: fault scenarios ({run_id})", "", *faults_section(data)])
    )
    say("\n".join(faults_section(data)))
    say(f"report: {report}")
    return report


if __name__ == "__main__":
    main()
