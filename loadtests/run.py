"""What a comparison run has in common, locally or on AWS: run ids, the folder, the two scenarios
against one target, and the report data.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadtests.analysis import summarize_cold, summarize_steady
from loadtests.costs import DEFAULT_PRICES, cost_rows, load_prices
from loadtests.locust_run import LoadSettings, run_locust
from loadtests.report import terminal_summary, write_report
from loadtests.sizing import deployed_sizing

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORTS_DIR = REPO_ROOT / "reports"


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def say(message: str) -> None:
    print(message, flush=True)


def add_load_options(parser: argparse.ArgumentParser, defaults: LoadSettings) -> None:
    """The load knobs, shared by `make demo` and `make loadtest`/`make compare`."""
    group = parser.add_argument_group("load")
    group.add_argument("--users", type=int, default=defaults.steady_users, help="steady concurrency")
    group.add_argument("--ramp", type=float, default=defaults.ramp_seconds, help="steady ramp seconds")
    group.add_argument("--hold", type=float, default=defaults.hold_seconds, help="steady hold seconds")
    group.add_argument("--burst-users", type=int, default=defaults.burst_users, help="cold burst size")
    group.add_argument("--burst-seconds", type=float, default=defaults.burst_seconds)
    group.add_argument("--batch-size", type=int, default=defaults.batch_size, help="rows per request")
    group.add_argument(
        "--pacing", type=float, default=defaults.pacing, help="s per request per user; 0 = closed loop"
    )
    group.add_argument(
        "--processes", type=int, default=defaults.processes, help="Locust processes (distributed mode)"
    )
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="price table (JSON)")
    parser.add_argument("--out", type=Path, default=REPORTS_DIR, help="where reports/<run-id>/ goes")


def load_settings(args: argparse.Namespace) -> LoadSettings:
    return LoadSettings(
        batch_size=args.batch_size,
        pacing=args.pacing,
        steady_users=args.users,
        ramp_seconds=args.ramp,
        hold_seconds=args.hold,
        burst_users=args.burst_users,
        burst_seconds=args.burst_seconds,
        processes=args.processes,
    )


def run_scenario(way: str, scenario: str, url: str, run_dir: Path, settings: LoadSettings) -> dict[str, Any]:
    say(f"[{way}] {scenario}: Locust against {url}")
    folder = run_locust(
        scenario, url, run_dir / way / scenario, settings, progress=lambda m: say(f"[{way}]   {m}")
    )
    return summarize_steady(folder) if scenario == "steady" else summarize_cold(folder)


def report_data(
    run_id: str, source: str, note: str, settings: LoadSettings, targets: dict[str, Any], prices_path: Path
) -> dict[str, Any]:
    sizing = deployed_sizing()
    prices = load_prices(prices_path)
    for way, target in targets.items():
        target["costs"] = cost_rows(way, sizing, prices, target.get("steady"))
    return {
        "run_id": run_id,
        "source": source,
        "source_note": note,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "platform": sys.platform},
        "settings": settings.as_dict(),
        "sizing": asdict(sizing),
        "prices": {"region": prices["region"], "as_of": prices["as_of"], "file": str(prices_path)},
        "targets": targets,
    }


def publish_report(data: dict[str, Any], run_dir: Path) -> Path:
    """Write the report and print its short summary: the last step of every comparison run."""
    report = write_report(data, run_dir)
    say("")
    say(terminal_summary(data, report))
    return report


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every context manager stops what it started. SIGINT gets its
    default handler back even where a shell started us with it ignored (a background job)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
