"""Run every benchmark in one go, write ``bench/results.json`` and print the table.

Profiles: ``full`` (``make bench``, about ten minutes, every peer) and ``quick`` (tiny sizes and
one peer: proves the bench runs end to end; its numbers mean little).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import coldstart, goals, head_to_head, http_throughput, images, table
from bench.peers.catalog import PEERS
from bench.peers.naive_model import train_and_pickle
from bench.table import RESULTS_PATH
from bench.timing import paired_ratio
from bench.workloads import child_env
from infra.common.paths import REPO_ROOT
from model.artifacts import metadata_path


@dataclass(frozen=True)
class Parameters:
    inprocess_rounds: int
    inprocess_seconds: float  # at least this long per target per round
    batch_sizes: tuple[int, ...]
    http_connections: int
    http_rounds: int
    http_warmup_s: float
    http_duration_s: float
    cold_start_rounds: int
    peers: head_to_head.Settings


FULL = Parameters(
    inprocess_rounds=21,
    inprocess_seconds=0.15,
    batch_sizes=(1, 32, 1000),
    http_connections=8,
    http_rounds=5,
    http_warmup_s=0.5,
    http_duration_s=2.5,
    cold_start_rounds=11,
    peers=head_to_head.Settings(
        peers=tuple(PEERS),
        batch_sizes=(1, 32),
        connections=8,
        rounds=3,
        warmup_s=0.5,
        duration_s=2.5,
        # Well below what the slowest peer serves at batch 1 (bench/README.md), so none is queued.
        offered_per_s=10.0,
        latency_s=12.0,
        cold_rounds=5,
    ),
)
PROFILES = {
    "full": FULL,
    # Tiny sizes, one round, and the peer that installs quickest: proves it all runs for real.
    "quick": replace(
        FULL,
        inprocess_rounds=1,
        inprocess_seconds=0.02,
        http_connections=4,
        http_rounds=1,
        http_warmup_s=0.1,
        http_duration_s=0.3,
        cold_start_rounds=1,
        peers=replace(
            FULL.peers,
            peers=("fastapi_onnx",),
            connections=4,
            rounds=1,
            warmup_s=0.1,
            duration_s=0.3,
            latency_s=1.0,
            cold_rounds=1,
        ),
    ),
}


def run(params: Parameters, with_images: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        naive_env = {"BENCH_NAIVE_MODEL": str(train_and_pickle(Path(scratch) / "naive.joblib"))}
        inprocess = _inprocess(params, naive_env, Path(scratch) / "inprocess.json")
        http = http_throughput.measure(
            naive_env,
            params.http_connections,
            params.http_rounds,
            params.http_warmup_s,
            params.http_duration_s,
        )
        cold = coldstart.measure(naive_env, params.cold_start_rounds)
    peers = head_to_head.measure(params.peers)
    figures = {
        "warm_request_us": {name: entry["median_us"] for name, entry in inprocess["warm_request"].items()},
        "http_requests_per_s": http["requests_per_s"],
        "batch_rows_per_s": {
            size: {name: entry["rows_per_s"] for name, entry in targets.items()}
            for size, targets in inprocess["batch"].items()
        },
        # The largest valid /predict request and the worst invalid ones, through the handler.
        "invalid_input_us": {
            name: entry["median_us"] for name, entry in inprocess["invalid_input"]["requests"].items()
        },
        "body_limit_bytes": inprocess["invalid_input"]["body_limit_bytes"],
        # Medians of round-by-round ratios (each round measures both sides back to back).
        "paired_ratios": _paired_ratios(inprocess, cold),
        "cold_start_s": cold["median_s"],
        "peak_rss_bytes": {
            "app_worker": http["peak_rss_bytes"]["app"],
            "naive_peer_worker": http["peak_rss_bytes"]["naive_peer"],
        },
        "images": images.measure() if with_images else {"skipped": "--no-images"},
        "peers": {name: value for name, value in peers.items() if name != "rounds"},
    }
    return {
        "meta": _meta(),
        "parameters": asdict(params),
        "figures": figures,
        "goals": goals.check_all(figures),
        "context": goals.context(figures),
        "rounds": {
            "warm_request_us": {
                name: entry["rounds_us"] for name, entry in inprocess["warm_request"].items()
            },
            "http_requests_per_s": http["rounds_requests_per_s"],
            "cold_start_s": cold["rounds_s"],
            "peers": peers["rounds"],
        },
    }


def _paired_ratios(inprocess: dict[str, Any], cold: dict[str, Any]) -> dict[str, float]:
    warm = inprocess["warm_request"]
    cold_rounds = cold["rounds_s"]
    ratios = {
        "warm_app_vs_asgi_floor": paired_ratio(warm["app"]["rounds_us"], warm["asgi_floor"]["rounds_us"]),
        "cold_app_vs_floor_fastapi": paired_ratio(cold_rounds["app"], cold_rounds["floor_fastapi"]),
        "cold_app_vs_naive_peer": paired_ratio(cold_rounds["app"], cold_rounds["naive_peer"]),
    }
    for size, targets in inprocess["batch"].items():
        # rows/s is size / seconds, so the rows/s ratio is the inverse ratio of seconds.
        floor = targets["onnxruntime_run"]["rounds_s"]
        ratios[f"batch_{size}_app_vs_onnxruntime"] = paired_ratio(floor, targets["app"]["rounds_s"])
        ratios[f"batch_{size}_app_oip_binary_vs_onnxruntime"] = paired_ratio(
            floor, targets["app_oip_binary"]["rounds_s"]
        )
    requests = {name: entry["rounds_s"] for name, entry in inprocess["invalid_input"]["requests"].items()}
    worst_invalid = [
        max(costs) for costs in zip(*(requests[name] for name in invalid_names(requests)), strict=True)
    ]
    ratios["worst_invalid_vs_largest_valid"] = paired_ratio(worst_invalid, requests["largest_valid"])
    ratios["worst_invalid_vs_largest_valid_arrays"] = paired_ratio(
        worst_invalid, requests["largest_valid_arrays"]
    )
    return ratios


def invalid_names(requests: dict[str, Any]) -> list[str]:
    return [name for name in requests if not name.startswith("largest_valid")]


def _inprocess(params: Parameters, naive_env: dict[str, str], out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.inprocess", "--out", str(out)]
    command += ["--rounds", str(params.inprocess_rounds), "--seconds", str(params.inprocess_seconds)]
    command += ["--batch-sizes", *map(str, params.batch_sizes)]
    # stdout is the app's request log: discarded, but still written.
    subprocess.run(command, cwd=REPO_ROOT, env=child_env(naive_env), stdout=subprocess.DEVNULL, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _meta() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": commit.stdout.strip(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "model_version": json.loads(metadata_path().read_text())["version"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    parser.add_argument("--no-images", action="store_true", help="skip building and sizing the images")
    parser.add_argument(
        "--peers",
        type=lambda names: tuple(name for name in names.split(",") if name),
        help=f"comma-separated peers to run instead of the profile's (of: {', '.join(PEERS)}; '' for none)",
    )
    args = parser.parse_args(argv)
    params = PROFILES[args.profile]
    if args.peers is not None:
        unknown = set(args.peers) - set(PEERS)
        if unknown:
            parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
        params = replace(params, peers=replace(params.peers, peers=args.peers))
    results = run(params, with_images=not args.no_images)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table.render(results))
    print(f"\nwrote {args.out}")
    return 0
