"""The printed table: every figure beside the reference it is a ratio of, then the goals."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.goals import MB
from infra.common.paths import REPO_ROOT

RESULTS_PATH = REPO_ROOT / "bench" / "results.json"  # what `make bench` writes (gitignored)

LABELS = {
    "onnxruntime_run": "onnxruntime run (floor)",
    "asgi_floor": "ASGI floor: bare Starlette + Mangum",
    "app": "app: serving.lambda_handler",
    "app_oip_binary": "app: binary OIP infer, same handler",
    "naive_peer": "naive peer: FastAPI + sklearn pickle",
    "app_health": "app GET /health",
    "app_predict": "app POST /predict",
    "asgi_floor_health": "ASGI floor GET /health",
    "asgi_floor_predict": "ASGI floor POST /predict",
    "naive_predict": "naive peer POST /predict",
    "floor_onnxruntime": "floor: numpy + onnxruntime + session",
    "floor_fastapi": "floor: the same + import fastapi",
    "largest_valid": "largest valid: full batch, object rows",
    "largest_valid_arrays": "the same batch as arrays",
    "rows_one_value_short": "invalid: every row one value short",
    "one_row_of_unknown_keys": "invalid: one row of ~13,000 unknown keys",
    "strings_in_every_row": "invalid: strings in every cell",
    "empty_rows": "invalid: 13,000 empty rows",
    "one_huge_number": "invalid: one number as long as the limit",
    "many_tiny_values": "invalid: tiny values up to the limit",
}


def render(results: dict[str, Any]) -> str:
    figures = results["figures"]
    lines: list[str] = []
    _section(
        lines, "Warm request in process via Mangum, Function URL event, 1 row", "us/request", "x ASGI floor"
    )
    warm = figures["warm_request_us"]
    for name, value in warm.items():
        lines.append(_row(LABELS[name], f"{value:,.1f}", value / warm["asgi_floor"]))
    paired = figures["paired_ratios"]
    lines.append(_row("app, median of per-round ratios", "", paired["warm_app_vs_asgi_floor"]))

    http = figures["http_requests_per_s"]
    connections = results["parameters"]["http_connections"]
    _section(
        lines,
        f"HTTP, one uvicorn worker, {connections} keep-alive connections",
        "requests/s",
        "x own /health",
    )
    for name, value in http.items():
        reference = http["asgi_floor_health"] if name.startswith("asgi_floor") else http["app_health"]
        lines.append(_row(LABELS[name], f"{value:,.0f}", value / reference))

    _section(lines, "Batch throughput in process (the app via Mangum)", "rows/s", "x onnxruntime")
    for size, entry in figures["batch_rows_per_s"].items():
        for name, rows_per_s in entry.items():
            label = f"batch {int(size):>5}: {LABELS[name]}"
            lines.append(_row(label, f"{rows_per_s:,.0f}", rows_per_s / entry["onnxruntime_run"]))
        for name, path in (("app", "JSON /predict"), ("app_oip_binary", "binary OIP")):
            label = f"batch {int(size):>5}: {path}, median of per-round ratios"
            lines.append(_row(label, "", paired[f"batch_{size}_{name}_vs_onnxruntime"]))

    invalid = figures["invalid_input_us"]
    _section(
        lines,
        f"Invalid input via Mangum, bodies up to the limit ({figures['body_limit_bytes']:,} B)",
        "us/request",
        "x largest valid",
    )
    for name, value in invalid.items():
        lines.append(_row(LABELS[name], f"{value:,.0f}", value / invalid["largest_valid"]))
    lines.append(
        _row("worst invalid, median of per-round ratios", "", paired["worst_invalid_vs_largest_valid"])
    )

    cold = figures["cold_start_s"]
    _section(lines, "Cold start: fresh process to first 200 (median)", "seconds", "x floor+fastapi")
    for name, value in cold.items():
        lines.append(_row(LABELS[name], f"{value:.3f}", value / cold["floor_fastapi"]))
    lines.append(_row("app, median of per-round ratios", "", paired["cold_app_vs_floor_fastapi"]))
    lines.append(_row("app vs naive peer, median of per-round ratios", "", paired["cold_app_vs_naive_peer"]))

    _section(lines, "Memory and images", "MB", "")
    for name, value in figures["peak_rss_bytes"].items():
        lines.append(_row(f"peak RSS: {name.replace('_', ' ')}", f"{value / MB:.1f}", None))
    images = figures["images"]
    if "skipped" in images:
        lines.append(f"  images: not measured ({images['skipped']})")
    else:
        lines.append(_row(f"base image {images['base_image']}", f"{images['base_bytes'] / MB:.1f}", None))
        for target in ("ecs", "lambda"):
            added = images[target]["added_over_base_bytes"] / MB
            lines.append(
                _row(f"{target} image (adds {added:.1f})", f"{images[target]['bytes'] / MB:.1f}", None)
            )

    lines += _peers(figures["peers"])

    lines += ["", "Goals (ratios from this run)"]
    for goal in results["goals"]:
        lines.append(_goal_line(goal))
    lines += ["", "Context (not goals)"]
    for name, ratio in results["context"].items():
        lines.append(f"  {name.replace('_', ' ')}: {ratio:.2f}x")
    return "\n".join(lines)


PEER_COLUMNS = (
    ("req/s b1", lambda peers, name: f"{peers['requests_per_s']['1'][name]:,.0f}"),
    ("req/s b32", lambda peers, name: f"{peers['requests_per_s']['32'][name]:,.0f}"),
    ("p50 ms", lambda peers, name: f"{peers['latency_ms'][name]['p50']:.1f}"),
    ("p99 ms", lambda peers, name: f"{peers['latency_ms'][name]['p99']:.1f}"),
    ("cold s", lambda peers, name: f"{peers['cold_start_s'][name]:.2f}"),
    ("RSS MB", lambda peers, name: f"{peers['peak_rss_bytes'][name] / MB:.0f}"),
    ("deps MB", lambda peers, name: f"{peers['installed_bytes'][name] / MB:.0f}"),
)


def _peers(peers: dict[str, Any]) -> list[str]:
    """One row per server: the same load generator, one worker each."""
    lines = [
        "",
        f"Head to head, one worker each, one load generator; p50/p99 at {peers['offered_per_s']:g} req/s"
        " offered, batch 1",
        f"  {'server':<18} {'runtime':<13} {'protocol':<9}"
        + "".join(f"{title:>10}" for title, _ in PEER_COLUMNS),
    ]
    for name, target in peers["targets"].items():
        protocol = "OIP" if target["protocol"].startswith("Open Inference") else "own JSON"
        cells = "".join(f"{cell(peers, name):>10}" for _, cell in PEER_COLUMNS)
        lines.append(f"  {name:<18} {target['runtime']:<13} {protocol:<9}{cells}")
    for name, reason in peers["skipped"].items():
        lines.append(f"  {name}: not run ({reason})")
    return lines


def peers_markdown(peers: dict[str, Any]) -> str:
    """The head-to-head as a Markdown table (bench/README.md's), from a results.json's figures."""
    titles = [title for title, _ in PEER_COLUMNS]
    lines = [
        "| server | runtime | protocol | " + " | ".join(titles) + " |",
        "|---|---|---|" + "---:|" * len(titles),
    ]
    for name, target in peers["targets"].items():
        protocol = "OIP" if target["protocol"].startswith("Open Inference") else "own JSON"
        cells = " | ".join(cell(peers, name) for _, cell in PEER_COLUMNS)
        lines.append(f"| {name} | {target['runtime']} | {protocol} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.table", description="Print a results file's tables."
    )
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS_PATH)
    parser.add_argument("--peers-markdown", action="store_true", help="only the head-to-head, as Markdown")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    print(peers_markdown(results["figures"]["peers"]) if args.peers_markdown else render(results))
    return 0


def _section(lines: list[str], title: str, unit: str, ratio: str) -> None:
    lines += ["", f"{title:<58} {unit:>14} {ratio:>16}"]


def _row(label: str, value: str, ratio: float | None) -> str:
    return f"  {label:<56} {value:>14} {'' if ratio is None else f'{ratio:.2f}':>16}"


def _goal_line(goal: dict[str, Any]) -> str:
    unit = goal["unit"]
    if goal["met"] is None:
        return f"  [ n/a ] {goal['description']}: not measured"
    value = f"{goal['value']:.2f}{unit if unit == 'x' else ' ' + unit}"
    status = "MET " if goal["met"] else "MISS"
    miss = ""
    if not goal["met"]:
        direction = "over" if goal["comparison"] == "<=" else "short"
        miss = f"  ({goal['miss_by_fraction']:.0%} {direction})"
    return f"  [{status}] {goal['description']}: {value}{miss}"


if __name__ == "__main__":
    raise SystemExit(main())
