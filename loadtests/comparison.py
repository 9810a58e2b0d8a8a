"""What a comparison run has in common, locally or on AWS: run ids, the folder, the two scenarios
against one target (each after the target answers /ready), and the report data.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.common.paths import REPO_ROOT
from infra.common.sizing import READY_PATH
from infra.local.process import wait_for
from loadtests import signing
from loadtests.analysis import summarize_cold, summarize_steady
from loadtests.capacity import CapacityReader, CapacitySampler
from loadtests.costs import DEFAULT_PRICES, cost_rows, load_prices, sensitivity
from loadtests.fairness import architecture, deployed_sizes, fairness
from loadtests.locust_run import LoadSettings, run_locust
from loadtests.protocols import PROTOCOL_NAMES, protocol
from loadtests.report import terminal_summary, write_report
from loadtests.signing import DEMO_AUTH, NO_AUTH, Auth
from loadtests.step import step_cost, summarize_step
from loadtests.tls import client_context

REPORTS_DIR = REPO_ROOT / "reports"
SUMMARIES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "steady": summarize_steady,
    "cold": summarize_cold,
    "step": summarize_step,
}
READY_TIMEOUT_SECONDS = 300.0


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def say(message: str) -> None:
    print(message, flush=True)


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a number above 0 (a step of 0 users or 0 seconds measures nothing)."""

    def parse(text: str) -> float:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


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
    group.add_argument(
        "--protocol",
        choices=PROTOCOL_NAMES,
        default=defaults.protocol,
        help="rest: POST /predict; oip: the Open Inference Protocol (POST /v2/models/<name>/infer)",
    )
    step = parser.add_argument_group("step (a baseline, factor x the users held, back down)")
    step.add_argument("--step-users", type=positive(int), default=defaults.step_users, help="baseline users")
    step.add_argument(
        "--step-factor", type=positive(int), default=defaults.step_factor, help="users x this during the step"
    )
    seconds = positive(float)
    step.add_argument("--baseline", type=seconds, default=defaults.baseline_seconds, help="baseline seconds")
    step.add_argument("--step-seconds", type=seconds, default=defaults.step_seconds, help="step held seconds")
    step.add_argument(
        "--after", type=seconds, default=defaults.after_seconds, help="seconds back at baseline"
    )
    step.add_argument(
        "--step-pacing", type=seconds, default=defaults.step_pacing, help="s per request per user in the step"
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
        protocol=args.protocol,
        step_users=args.step_users,
        step_factor=args.step_factor,
        baseline_seconds=args.baseline,
        step_seconds=args.step_seconds,
        after_seconds=args.after,
        step_pacing=args.step_pacing,
    )


def local_auth(way: str) -> Auth:
    """How the demo calls a local way: the Function URL signed by the demo's fake identity, as the
    deployed one (auth AWS_IAM) is signed by the caller's; the others in plain HTTP."""
    return DEMO_AUTH if way == "lambda" else NO_AUTH


def http_status(url: str, auth: Auth, timeout: float = 10.0) -> int | None:
    """GET ``url`` (signed when ``auth`` says so): its HTTP status, or None when nothing answered."""
    try:
        request = signing.request(auth, "GET", url)
        with urllib.request.urlopen(request, timeout=timeout, context=client_context()) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def wait_until_ready(
    url: str,
    auth: Auth,
    timeout: float = READY_TIMEOUT_SECONDS,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Seconds until GET {url}/ready answered 200; TimeoutError naming the last status otherwise,
    and PermissionError at once on 401/403 (a request refused for its auth will not get in later)."""
    answers: list[int | None] = []

    def ready() -> bool | None:
        answers.append(status := http_status(f"{url}{READY_PATH}", auth))
        if status in (401, 403):
            raise PermissionError(f"{url}{READY_PATH} answered {status}: the request's signature was refused")
        return status == 200 or None

    try:
        return wait_for(ready, f"{url}{READY_PATH} ready", timeout, interval, sleep=sleep)[0]
    except TimeoutError as error:
        raise TimeoutError(f"{error} (last answer: {answers[-1]})") from None


def run_scenario(
    way: str,
    scenario: str,
    url: str,
    run_dir: Path,
    settings: LoadSettings,
    auth: Auth | None = None,
    capacity: CapacityReader | None = None,
) -> dict[str, Any]:
    """One Locust scenario against one target, once it answers /ready. ``auth`` None: the demo's
    (``local_auth``). Lambda's cold burst is the exception: a /ready request would take one of the
    fresh environments the burst is there to meet, so there the function's own state is the
    readiness (the ``function_updated`` waiter on AWS; locally the pool was just emptied).
    ``capacity``, when given, is read every second while Locust runs (``loadtests.capacity``)."""
    auth = local_auth(way) if auth is None else auth
    if not (way == "lambda" and scenario == "cold"):
        waited = wait_until_ready(url, auth)
        say(f"[{way}] {url}{READY_PATH} answered 200 after {waited:.1f} s")
    signed = " (requests SigV4-signed)" if auth.signs else ""
    say(f"[{way}] {scenario}: Locust against {url}{protocol(settings.protocol).path}{signed}")
    folder = run_dir / way / scenario
    with CapacitySampler(capacity, folder):
        run_locust(scenario, url, folder, settings, progress=lambda m: say(f"[{way}]   {m}"), auth=auth)
    return SUMMARIES[scenario](folder)


def report_data(
    run_id: str, source: str, note: str, settings: LoadSettings, targets: dict[str, Any], prices_path: Path
) -> dict[str, Any]:
    """Everything the report shows. Each target is priced for the ``architecture`` it ran on (a
    deployed stack's Architecture output; locally this host's) and gets its like-for-like
    ``fairness`` block."""
    prices = load_prices(prices_path)
    for way, target in targets.items():
        arch = architecture(target["architecture"])
        target["costs"] = cost_rows(
            way, arch, prices, target.get("steady"), target.get("billing"), target.get("log_volume")
        )
        target["fairness"] = fairness(way, source, target, prices, settings, os.cpu_count())
        if target.get("step"):
            target["step"]["cost"] = step_cost(way, arch, prices, target["step"], target.get("billing"))
    return {
        "run_id": run_id,
        "source": source,
        "source_note": note,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "platform": sys.platform},
        "settings": settings.as_dict(),
        "protocol": protocol(settings.protocol).title,
        "sizing": deployed_sizes(),
        "prices": {"region": prices["region"], "as_of": prices["as_of"], "file": str(prices_path)},
        "targets": targets,
        "break_even": sensitivity(targets, prices),
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
