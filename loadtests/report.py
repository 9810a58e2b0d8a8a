"""The comparison report: report.json (everything measured), report.md (the decision matrix with
measured numbers beside the lesson's claims) and PNG charts, in reports/<run-id>/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from infra.common.names import WAYS
from loadtests.faults.markdown import faults_section

LABELS = {"lambda": "Serverless (Lambda)", "ecs": "Containers (ECS Fargate)", "ec2": "VM (EC2)"}
COLORS = {"lambda": "#e8873a", "ecs": "#3a7be8", "ec2": "#4caf50"}
# The decision matrix as the course lesson states it.
LESSON = {
    "lambda": {"cost": "$0", "latency": "High (cold start)", "cold": "Yes", "max": "15 min", "gpu": "No"},
    "ecs": {"cost": "$$", "latency": "Low", "cold": "not listed", "max": "Infinite", "gpu": "Yes"},
    "ec2": {"cost": "$$$", "latency": "Low", "cold": "not listed", "max": "Infinite", "gpu": "Yes"},
}  # fmt: skip
GPU_FACTS = {
    "lambda": "No: Lambda offers no GPUs",
    "ecs": "Fargate: no; ECS on EC2 GPU instances: yes",
    "ec2": "Yes (G and P instance families)",
}
CHARTS = ("latency_percentiles.png", "cold_vs_warm.png", "timeseries.png")


def max_runtime(way: str, sizing: dict[str, Any]) -> str:
    if way == "lambda":
        return f"{sizing['lambda_timeout_seconds']} s configured; 900 s (15 min) hard limit per invocation"
    return "no limit on the process; per request the ALB idle timeout, 60 s default (up to 4,000 s)"


# ---------------------------------------------------------------- numbers for one cell
def _ms(value: float | None) -> str:
    return "n/a" if value is None else (f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms")


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def cold_start_cell(target: dict[str, Any]) -> str:
    start = target.get("cold_start") or {}
    cold = target.get("cold") or {}
    split = (target.get("fairness") or {}).get("start")
    parts = []
    if start.get("seconds_to_first_success") is not None:
        first = f"{start['seconds_to_first_success']:.2f} s start to first success"
        if split:
            first += (
                f" (app start to ready {split['app_start_to_ready_seconds']:.2f} s + health checks "
                f"{split['health_check_delay_seconds']:g} s)"
            )
        parts.append(first)
    if cold.get("cold_responses"):
        parts.append(f"cold requests p50 {_ms(cold['cold_latency_ms']['p50'])} (n={cold['cold_responses']})")
    inits = [
        e["init_duration_ms"]
        for e in target.get("details", {}).get("environments", [])
        if e["init_duration_ms"]
    ]
    if inits:
        parts.append(f"init {_ms(sorted(inits)[len(inits) // 2])} median over {len(inits)} environments")
    billed_cold = (target.get("billing") or {}).get("cold") or {}
    # The RIE's Init Duration leaves out the handler's import (``init`` above has it): AWS's only.
    if billed_cold.get("cold_starts") and (target.get("billing") or {}).get("source") != "rie":
        parts.append(
            f"server-side {billed_cold['cold_starts']} inits, Init Duration p50 "
            f"{_ms(billed_cold['init_ms']['p50'])} (REPORT lines)"
        )
    return "; ".join(parts) or "n/a"


def cost_per_million_cell(way: str, costs: dict[str, Any]) -> str:
    cell = _usd(costs["per_million_requests_usd"])
    if way == "ec2" and costs.get("surplus_credits_per_hour_usd") is not None:
        surplus = costs["surplus_credits_per_hour_usd"]
        cell += f" (incl. unlimited-mode surplus credits, ${surplus:.3f}/h at 100% CPU)"
    if way == "lambda" and costs.get("per_million_basis"):
        cell += f" (at the {costs['per_million_basis']})"
    if way == "lambda" and costs.get("per_million_client_basis_usd") is not None:
        cell += f"; {_usd(costs['per_million_client_basis_usd'])} at the client-measured mean latency"
    return cell


def cost_with_logs_cell(costs: dict[str, Any]) -> str:
    if costs.get("per_million_with_logs_usd") is None:
        return "n/a (no log lines measured)"
    return (
        f"{_usd(costs['per_million_with_logs_usd'])}: {costs['log_bytes_per_request']:,.0f} B of log per "
        f"request, {_usd(costs['logs_per_million_usd'])} per 1M at CloudWatch Logs' ingestion price"
    )


def per_vcpu_cell(target: dict[str, Any]) -> str:
    compute = (target.get("fairness") or {}).get("compute") or {}
    if compute.get("throughput_per_vcpu") is None:
        return "n/a"
    per_vcpu, vcpus = compute["throughput_per_vcpu"], compute["vcpus"]
    return f"{per_vcpu:,.1f} req/s per vCPU ({vcpus:g} vCPUs: {compute['basis']})"


def signing_cell(steady: dict[str, Any] | None) -> str:
    signing = (steady or {}).get("signing_ms")
    if not signing:
        return "none: plain HTTP requests"
    return (
        f"{signing['mean']:.3f} ms mean, p95 {signing['p95']:.3f} ms per request "
        f"(n={signing['requests']:,}); client CPU, not in the latency"
    )


def billed_cell(way: str, target: dict[str, Any]) -> str:
    if way != "lambda":
        return "n/a: billed per hour while running"
    billed = (target.get("billing") or {}).get("steady")
    if not billed:
        return "not read (no REPORT lines)"
    source = "the RIE's" if (target.get("billing") or {}).get("source") == "rie" else "CloudWatch's"
    return (
        f"{billed['invocations']:,} of {source} REPORT lines for {billed['client_responses']:,} "
        "responses; billed "
        f"{_ms(billed['billed_ms_mean'])} mean vs duration p50 {_ms(billed['duration_ms']['p50'])}; "
        f"{billed['environments']} environments, max memory used {billed['max_memory_used_mb'] or 0:g} MB"
    )


def latency_cell(steady: dict[str, Any] | None) -> str:
    if not steady:
        return "n/a"
    lat = steady["latency_ms"]
    return f"{_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])}"


def errors_cell(steady: dict[str, Any] | None) -> str:
    if not steady:
        return "n/a"
    return f"{steady['errors']} of {steady['requests']} ({(steady['error_rate'] or 0) * 100:.2f}%)"


# ---------------------------------------------------------------- markdown
def decision_matrix(data: dict[str, Any]) -> list[str]:
    ways = [w for w in WAYS if w in data["targets"]]
    targets = data["targets"]
    source = data["source"]
    settings = data["settings"]
    rows: list[tuple[str, dict[str, str]]] = [
        ("Cost (idle): lesson", {w: LESSON[w]["cost"] for w in ways}),
        ("Cost (idle): list price / month", {w: _usd(targets[w]["costs"]["idle_monthly_usd"]) for w in ways}),
        ("Cost per 1M requests", {w: cost_per_million_cell(w, targets[w]["costs"]) for w in ways}),
        ("Cost per 1M requests, logs included", {w: cost_with_logs_cell(targets[w]["costs"]) for w in ways}),
        ("Priced for architecture", {w: targets[w]["costs"]["architecture"] for w in ways}),
        ("Latency: lesson", {w: LESSON[w]["latency"] for w in ways}),
        (f"Latency p50/p95/p99 ({source})", {w: latency_cell(targets[w].get("steady")) for w in ways}),
        (
            f"Throughput at {settings['steady_users']} users, batch {settings['batch_size']} ({source})",
            {w: f"{targets[w]['steady']['throughput_rps']:,.0f} req/s" if targets[w].get("steady") else "n/a"
             for w in ways},
        ),
        (f"Throughput per vCPU ({source})", {w: per_vcpu_cell(targets[w]) for w in ways}),
        ("Client-side SigV4 signing", {w: signing_cell(targets[w].get("steady")) for w in ways}),
        ("Transport", {w: (targets[w].get("fairness") or {}).get("transport", "n/a") for w in ways}),
        ("Lambda as billed, steady (REPORT lines)", {w: billed_cell(w, targets[w]) for w in ways}),
        ("Errors, steady", {w: errors_cell(targets[w].get("steady")) for w in ways}),
        ("Cold start: lesson", {w: LESSON[w]["cold"] for w in ways}),
        (f"Cold start ({source})", {w: cold_start_cell(targets[w]) for w in ways}),
        ("Max runtime: lesson", {w: LESSON[w]["max"] for w in ways}),
        ("Max request duration (as deployed)", {w: max_runtime(w, data["sizing"]) for w in ways}),
        ("GPU support: lesson", {w: LESSON[w]["gpu"] for w in ways}),
        ("GPU support (AWS today)", {w: GPU_FACTS[w] for w in ways}),
    ]  # fmt: skip
    lines = ["| | " + " | ".join(LABELS[w] for w in ways) + " |", "|---" * (len(ways) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cells[w] for w in ways) + " |" for name, cells in rows]
    return lines


def like_for_like(data: dict[str, Any]) -> list[str]:
    """Where the three ways differ in ways the numbers alone would hide."""
    on_aws = data["source"] == "AWS"
    lines = [
        "- **Compute.** The ways run on different amounts of CPU: "
        + "; ".join(
            f"{LABELS[w]}: {(t.get('fairness') or {}).get('compute', {}).get('basis', 'n/a')}"
            for w, t in _ordered(data)
        )
        + ". Compare throughput per vCPU, not raw throughput. A t3/t4g is burstable: above its baseline "
        "it spends CPU credits, and in unlimited mode (the default) sustained load bills surplus credits, "
        "which the EC2 cost per 1M requests includes at 100% CPU.",
        "- **TLS.** "
        + (
            "Only Lambda's Function URL is HTTPS, so only Lambda pays TLS handshakes (one per new "
            "connection; Locust keeps connections open). The ALBs listen on plain HTTP."
            if on_aws
            else "Locally all three answer plain HTTP on 127.0.0.1. Deployed, only Lambda's Function URL "
            "is HTTPS (TLS handshakes) and the ALBs are plain HTTP."
        ),
        "- **Auth.** Lambda's Function URL (auth AWS_IAM) takes only SigV4-signed requests; the client signs "
        "each one (see the signing row: client CPU, not in the latency). The ALBs take plain requests.",
        "- **Start time.** For EC2 and ECS, start to first success = the app's own start to /ready + "
        "the load balancer's health checks (interval x healthy threshold) before it sends traffic; "
        "the cold-start row shows both parts.",
        "- **Lambda as billed.** " + lambda_billed_note(data),
        "- **Architecture.** Each way is priced for the architecture it "
        + ("was deployed for (its stack's Architecture output): " if on_aws else "deploys with by default: ")
        + ", ".join(f"{w} {t['costs']['architecture']}" for w, t in _ordered(data))
        + ".",
    ]
    return lines


def lambda_billed_note(data: dict[str, Any]) -> str:
    billing = (data["targets"].get("lambda") or {}).get("billing") or {}
    if not billing.get("steady"):
        return "No REPORT lines were read: the Lambda cost uses the client-measured mean latency."
    if billing.get("source") == "rie":
        return (
            "Locally the RIE writes a REPORT line per invoke, as Lambda does to CloudWatch: the Lambda "
            "cost uses its mean billed duration, with the client-measured figure beside it. The gap is "
            "what AWS does not bill: the local Function URL, SigV4 checking, the RIE hop and queueing on "
            "this host."
        )
    return (
        "Costs use the billed durations of the function's CloudWatch REPORT lines, and server-side "
        "cold starts (Init Duration) are shown beside the client-side ones."
    )


def _rps(value: float | None) -> str:
    return "never (Lambda is cheaper per request)" if value is None else f"{value:,} req/s"


def break_even_section(data: dict[str, Any]) -> list[str]:
    """The break-even against each always-on way, under each assumption (``costs.sensitivity``)."""
    table = data.get("break_even")
    if not table:
        return []
    ways = [w for w in ("ec2", "ecs") if any(w in row for row in table["rows"])]
    lines = [
        "## Break-even: below this rate Lambda is cheaper",
        "",
        "Requests per second around the clock at which Lambda's bill equals an always-on way's. Lambda "
        f"is priced at the {table['basis']} unless a row says otherwise; each row changes one "
        "assumption, the last combines what a production deployment would pick. Environments busy = "
        "Little's law at the EC2 break-even: rate x billed duration (a floor: an environment is held a "
        "little longer than it bills).",
        "",
        "| assumption | Lambda: duration, $ per 1M (logs incl.), fixed $/month | "
        + " | ".join(f"vs {LABELS[w]}: $/month, break-even" for w in ways)
        + " | Lambda environments busy |",
        "|---" * (len(ways) + 3) + "|",
    ]
    for row in table["rows"]:
        lambda_cell = (
            f"{_ms(row['lambda_duration_ms'])}, ${row['lambda_per_million_usd']:.2f}, "
            f"${row['lambda_monthly_fixed_usd']:,.2f}"
        )
        cells = [f"{_usd(row[w]['monthly_usd'])}, **{_rps(row[w]['break_even_rps'])}**" for w in ways]
        busy = (row.get("ec2") or {}).get("lambda_environments_busy")
        lines.append(f"| {row['assumption']} | {lambda_cell} | " + " | ".join(cells) + f" | {busy} |")
    return [*lines, ""]


def _ordered(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(w, data["targets"][w]) for w in WAYS if w in data["targets"]]


def markdown(data: dict[str, Any]) -> str:
    prices = data["prices"]
    settings = data["settings"]
    lines = [
        f"# One Model, Three Ways: the comparison ({data['run_id']})",
        "",
        f"**Measurements: {data['source']}.** {data['source_note']}",
        "",
        "## Decision matrix",
        "",
        *decision_matrix(data),
        "",
        f"Costs: AWS on-demand **list prices**, {prices['region']}, as of {prices['as_of']} "
        f"({prices['file']}); "
        "idle = minimum size running with no traffic (compute, ALB, public IPv4); per 1M requests = Lambda "
        "requests + GB-seconds at the mean billed duration of its REPORT lines (CloudWatch's on AWS, the "
        "RIE's locally; the client-measured mean latency when none were read), EC2/ECS hourly cost at the "
        "measured throughput (EC2 with unlimited-mode surplus credits at 100% CPU); logs = the bytes each "
        "way wrote per request at CloudWatch Logs' ingestion price. "
        "Throughput and latency describe the machine that ran them"
        + (" (this host, not the AWS sizes)." if data["source"] != "AWS" else "."),
        "",
        *break_even_section(data),
        "## Like for like, or stated",
        "",
        *like_for_like(data),
        "",
        "## How each way ran",
        "",
    ]
    for way in [w for w in WAYS if w in data["targets"]]:
        lines.append(f"- **{LABELS[way]}**: {data['targets'][way]['how']}")
    lines += [
        "",
        "## Load",
        "",
        f"- protocol: {data['protocol']} (`--protocol {settings['protocol']}`)",
        f"- steady: ramp to {settings['steady_users']} users over {settings['ramp_seconds']:g} s, hold "
        f"{settings['hold_seconds']:g} s (stats from the hold only); "
        f"batch {settings['batch_size']} held-out rows; "
        f"pacing {settings['pacing']:g} s (0 = back-to-back); Locust processes: {settings['processes']}",
        f"- cold: fresh environments forced, then {settings['burst_users']} users at once for "
        f"{settings['burst_seconds']:g} s; cold responses are those with `x-cold-start: true`",
        "",
        *faults_section(data),
        "## Charts",
        "",
        *[f"![{name}]({name})" for name in CHARTS],
        "",
        "Raw data: `report.json`, per-request samples and Locust CSV/HTML under each `<target>/<scenario>/`.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- charts
def _bar_group(axis: Any, ways: Sequence[str], series: dict[str, list[float]], ylabel: str) -> None:
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        positions = [i + index * width for i in range(len(ways))]
        axis.bar(positions, values, width, label=name)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(ways))], [LABELS[w] for w in ways])
    axis.set_ylabel(ylabel)
    axis.legend()


def write_charts(data: dict[str, Any], out_dir: Path) -> list[Path]:
    targets = data["targets"]
    ways = [w for w in WAYS if w in targets and targets[w].get("steady")]
    paths = [out_dir / name for name in CHARTS]

    figure, axis = plt.subplots(figsize=(8, 4.5))
    series = {p: [targets[w]["steady"]["latency_ms"][p] or 0 for w in ways] for p in ("p50", "p95", "p99")}
    _bar_group(axis, ways, series, "latency (ms)")
    axis.set_title(f"Steady-state latency percentiles ({data['source']})")
    figure.tight_layout()
    figure.savefig(paths[0], dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(8, 4.5))
    cold_ways = [w for w in WAYS if w in targets]
    first = [(targets[w].get("cold_start") or {}).get("seconds_to_first_success") or 0.0 for w in cold_ways]
    cold_ms = [
        ((targets[w].get("cold") or {}).get("cold_latency_ms") or {}).get("p50") or 0 for w in cold_ways
    ]
    warm_ms = [
        ((targets[w].get("cold") or {}).get("warm_latency_ms") or {}).get("p50") or 0 for w in cold_ways
    ]
    series = {"start to first success": [s * 1000 for s in first], "cold request p50": cold_ms,
              "warm request p50": warm_ms}  # fmt: skip
    _bar_group(axis, cold_ways, series, "ms (log scale)")
    if any(value > 0 for values in series.values() for value in values):
        axis.set_yscale("log")  # a steady-only run has nothing to put on it
    axis.set_title(f"Cold vs warm ({data['source']})")
    figure.tight_layout()
    figure.savefig(paths[1], dpi=110)
    plt.close(figure)

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for way in ways:
        points = targets[way]["steady"]["series"]
        times = [p["t"] for p in points]
        top.plot(times, [p["rps"] for p in points], label=LABELS[way], color=COLORS[way])
        bottom.plot(times, [p["p95"] or 0 for p in points], label=LABELS[way], color=COLORS[way])
        top.axvline(targets[way]["steady"]["hold_starts_at"], color=COLORS[way], linestyle=":", linewidth=1)
    top.set_ylabel("requests / s")
    bottom.set_ylabel("p95 latency (ms)")
    bottom.set_xlabel("seconds since the steady run started (dotted: hold begins, stats reset)")
    top.legend()
    top.set_title(f"Throughput and latency over time ({data['source']})")
    figure.tight_layout()
    figure.savefig(paths[2], dpi=110)
    plt.close(figure)
    return paths


# ---------------------------------------------------------------- entry points
def write_report(data: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(data, indent=2))
    write_charts(data, out_dir)
    path = out_dir / "report.md"
    path.write_text(markdown(data))
    return path


def terminal_summary(data: dict[str, Any], report_path: Path) -> str:
    lines = [f"{'':8} {'p50':>9} {'p95':>9} {'p99':>9} {'req/s':>8} {'errors':>7}  cold start", "-" * 96]
    for way in [w for w in WAYS if w in data["targets"]]:
        target = data["targets"][way]
        steady = target.get("steady") or {}
        lat = steady.get("latency_ms") or {}
        lines.append(
            f"{way:8} {_ms(lat.get('p50')):>9} {_ms(lat.get('p95')):>9} {_ms(lat.get('p99')):>9} "
            f"{steady.get('throughput_rps', 0):>8,.0f} {steady.get('errors', 0):>7}  "
            f"{cold_start_cell(target)}"
        )
    lines += cost_summary(data)
    lines += ["", f"{data['source']}, protocol {data['settings']['protocol']}. Report: {report_path}"]
    return "\n".join(lines)


def cost_summary(data: dict[str, Any]) -> list[str]:
    """Lambda's per-million figure on the basis AWS bills, the client-measured one beside it, and
    the break-even it gives."""
    costs = (data["targets"].get("lambda") or {}).get("costs")
    if not costs or costs.get("per_million_requests_usd") is None:
        return []
    per_million = _usd(costs["per_million_requests_usd"])
    line = f"lambda   {per_million} per 1M requests at the {costs['per_million_basis']}"
    if costs.get("per_million_client_basis_usd") is not None:
        line += f" ({_usd(costs['per_million_client_basis_usd'])} at the client-measured mean latency)"
    lines = ["", line]
    baseline = (data.get("break_even") or {"rows": []})["rows"][:1]
    for way in [w for w in ("ec2", "ecs") if baseline and w in baseline[0]]:
        lines.append(
            f"         cheaper than {way} below {_rps(baseline[0][way]['break_even_rps'])} around the clock"
        )
    return lines
