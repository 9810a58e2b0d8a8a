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
from matplotlib.ticker import ScalarFormatter

from infra.common.names import WAYS
from loadtests.faults.markdown import faults_section
from loadtests.step import WINDOW_SECONDS

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
    idle = sizing["alb_idle_timeout_seconds"]
    return f"no limit on the process; per request the ALB idle timeout, {idle} s default (up to 4,000 s)"


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
    if restored := restore_cell(billed_cold, (target.get("billing") or {}).get("snapshot_init")):
        parts.append(restored)
    return "; ".join(parts) or "n/a"


def restore_cell(billing: dict[str, Any], snapshot_init: dict[str, Any] | None = None) -> str | None:
    """SnapStart's restores (REPORT lines' Restore Duration) beside the snapshot's init (INIT_REPORT
    lines: from the version's publication when the run read them, else those in the window)."""
    if not billing.get("restores"):
        return None
    init_lines = snapshot_init or billing
    restore, init = billing["restore_ms"], init_lines.get("init_ms") or {}
    text = f"{billing['restores']} restores, Restore Duration p50 {_ms(restore['p50'])}"
    text += f" p99 {_ms(restore['p99'])}"
    if init_lines.get("init_reports") and init.get("p50") is not None:
        text += f" (snapshot's init {_ms(init['p50'])}, INIT_REPORT)"
    return text


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
        "- **TLS.** " + tls_statement(data),
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


# ---------------------------------------------------------------- TLS
def measured_over_https(data: dict[str, Any], way: str) -> bool:
    """Whether the way's main runs spoke TLS (the fairness block's transport says, per way)."""
    return str((data["targets"][way].get("fairness") or {}).get("transport", "")).startswith("HTTPS")


def tls_statement(data: dict[str, Any]) -> str:
    """The like-for-like line on TLS: which ways paid handshakes in the main runs."""
    ways = [w for w, _ in _ordered(data)]
    https = [w for w in ways if measured_over_https(data, w)]
    if data["source"] != "AWS":
        repeated = [w for w in ways if data["targets"][w].get("tls")]
        return "Locally the main runs are plain HTTP on 127.0.0.1, for every way." + (
            f" The steady run was repeated over HTTPS for {', '.join(LABELS[w] for w in repeated)} "
            "(`make demo TLS=1`): the TLS section shows what it cost."
            if repeated
            else " `make demo TLS=1` repeats each steady run over HTTPS to measure what TLS costs."
        )
    if https == ways:
        return "Every endpoint measured is HTTPS, so every way pays TLS handshakes: like for like."
    plain = ", ".join(LABELS[w] for w in ways if w not in https)
    return (
        "HTTPS (TLS handshakes, one per new connection; Locust keeps connections open): "
        f"{', '.join(LABELS[w] for w in https) or 'none'}; plain HTTP: {plain}. Not like for like: "
        "deploy the ALB stacks with CERTIFICATE_ARN and DOMAIN_NAME for HTTPS on all three."
    )


def tls_section(data: dict[str, Any]) -> list[str]:
    """Per way, what the main runs spoke, and the steady run over HTTPS beside the plain one where
    both ran (``make demo TLS=1``): the cost of TLS, measured on the same warm target."""
    header = ["main runs over", "p50 / p95 / p99", "again over HTTPS", "req/s", "again over HTTPS"]
    rows = ["| | " + " | ".join([*header, "errors over HTTPS"]) + " |", "|---" * 7 + "|"]
    for way, target in _ordered(data):
        over = "HTTPS" if measured_over_https(data, way) else "plain HTTP"
        plain, tls = target.get("steady"), (target.get("tls") or {}).get("steady")
        if tls is None:
            cells = [LABELS[way], over, latency_cell(plain), "not run", _steady_rps(plain), "not run", "n/a"]
            rows.append("| " + " | ".join(cells) + " |")
            continue
        cells = [LABELS[way], f"{over}; steady again over HTTPS", latency_cell(plain), latency_cell(tls)]
        cells += [_steady_rps(plain), _steady_rps(tls), errors_cell(tls)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _steady_rps(steady: dict[str, Any] | None) -> str:
    return f"{steady['throughput_rps']:,.0f}" if steady else "n/a"


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
        "## TLS",
        "",
        *tls_section(data),
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
        *step_section(data),
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


# ---------------------------------------------------------------- under a traffic step
STEP_CHART = "step.png"


def _step_ways(data: dict[str, Any]) -> list[str]:
    return [w for w in WAYS if (data["targets"].get(w) or {}).get("step")]


def _recovery_cell(step: dict[str, Any]) -> str:
    if step["step_seconds"] < WINDOW_SECONDS:
        return f"n/a: a step shorter than one {WINDOW_SECONDS:g} s window"
    if step["recovery_seconds"] is None:
        return f"not within the {step['step_seconds']:.0f} s step"
    return f"{step['recovery_seconds']:g} s" if step["recovery_seconds"] else "0 s (never above)"


def _capacity_cell(step: dict[str, Any]) -> str:
    capacity = step["capacity"]
    if capacity["unit"] is None:
        return "not read"
    cell = f"{capacity['baseline']} -> {capacity['peak_during_step']} {capacity['unit']}"
    lowest = capacity.get("lowest_during_step")
    if lowest is not None and capacity["baseline"] is not None and lowest < capacity["baseline"]:
        cell += f" ({lowest} at the lowest)"  # e.g. a target that failed its health checks under load
    return cell


def _small_usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.2g}"


def step_decision_rows(data: dict[str, Any]) -> list[str]:
    """The figures that decide, one row per way."""
    lines = [
        "| | baseline p99 | p99 during the step | back under 2x baseline p99 | failed during the step "
        "| capacity: baseline -> peak | cost of the step |",
        "|---|---|---|---|---|---|---|",
    ]
    for way in _step_ways(data):
        step = data["targets"][way]["step"]
        cost = step.get("cost") or {}
        usd = "n/a" if cost.get("usd") is None else f"{_small_usd(cost['usd'])} ({cost['basis']})"
        baseline_p99, step_p99 = step["baseline"]["latency_ms"]["p99"], step["step"]["latency_ms"]["p99"]
        lines.append(
            f"| {LABELS[way]} | {_ms(baseline_p99)} | {_ms(step_p99)} | {_recovery_cell(step)} "
            f"| {step['failed_during_step']:,} of {step['step']['requests']:,} "
            f"| {_capacity_cell(step)} | {usd} |"
        )
    return lines


def step_window_table(step: dict[str, Any]) -> list[str]:
    lines = ["| s since the step | req/s | p50 | p99 | errors | capacity |", "|---|---|---|---|---|---|"]
    for row in step["windows"]:
        capacity = "n/a" if row["capacity"] is None else str(row["capacity"])
        lines.append(
            f"| {row['t']:g} | {row['rps']:,.1f} | {_ms(row['p50'])} | {_ms(row['p99'])} "
            f"| {row['errors']} | {capacity} |"
        )
    return lines


def step_capacity_note(data: dict[str, Any]) -> str:
    lambda_limit = ((data["targets"].get("lambda") or {}).get("details") or {}).get("concurrency_limit")
    limit = f" of {lambda_limit}" if lambda_limit else ""
    if data["source"] == "AWS":
        return (
            "Capacity on AWS: Lambda's `ConcurrentExecutions` (CloudWatch, 1-minute maximum), ECS's running "
            "task count and the Auto Scaling group's instances in service, read every few seconds during "
            "the run; the service's events and the group's scaling activities are listed below. ECS and EC2 "
            "scale by target tracking on CPU: their capacity moves only after minutes of load."
        )
    return (
        "Locally **EC2 and ECS run at fixed capacity: nothing here plays the autoscaler**, so their one "
        "instance or task meets the step alone. That is what the first minutes of a step look like on AWS, "
        "before target tracking has added capacity. Lambda's local pool does scale, one environment per "
        f"concurrent request, up to its concurrency limit{limit} (then 429). Capacity: HAProxy's targets "
        "UP, the Function URL pool's environments alive, read every second."
    )


def step_section(data: dict[str, Any]) -> list[str]:
    ways = _step_ways(data)
    if not ways:
        return []
    settings = data["settings"]
    lines = [
        "## Under a traffic step",
        "",
        f"{settings['step_users']} users, each sending at most one request every "
        f"{settings['step_pacing']:g} s, for {settings['baseline_seconds']:g} s; then "
        f"{settings['step_factor']}x the users at once for {settings['step_seconds']:g} s; then back to "
        f"{settings['step_users']} for {settings['after_seconds']:g} s. Recovery: seconds from the step "
        "until the 5 s windows' p99 is under 2x the baseline's and stays there to the step's end; a failed "
        "request counts as slower than any answer, so a window where over 1% failed is not back. Cost of "
        "the step: Lambda's invocations during it (throttled requests are free) at the mean billed "
        "duration, or locally the measured one; EC2's and ECS's unit-seconds in service during it, each "
        "unit at the way's hourly cost at its minimum size (ALB and IPv4 included: above the minimum, an "
        "upper bound).",
        "",
        step_capacity_note(data),
        "",
        *step_decision_rows(data),
        "",
        f"![{STEP_CHART}]({STEP_CHART})",
        "",
    ]
    for way in ways:
        step = data["targets"][way]["step"]
        lines += [
            f"<details><summary>{LABELS[way]}: per 5 s window</summary>",
            "",
            *step_window_table(step),
            "",
        ]
        for event in step.get("capacity_events") or []:
            lines.append(f"- {event['at']}: {event['message']}")
        lines += ["</details>", ""]
    return lines


def write_step_chart(data: dict[str, Any], out_dir: Path) -> Path | None:
    """Capacity and p99 over time, one panel per way; the step's seconds shaded."""
    ways = _step_ways(data)
    if not ways:
        return None
    figure, axes = plt.subplots(len(ways), 1, figsize=(9, 2.8 * len(ways)), sharex=True, squeeze=False)
    for axis, way in zip(axes[:, 0], ways, strict=True):
        step = data["targets"][way]["step"]
        rows = step["windows"]
        # each window's p99 drawn across its 5 s (the last one closed at its end)
        p99 = [r["p99"] or float("nan") for r in rows] or [float("nan")]
        times = [r["t"] for r in rows] or [0.0]
        axis.step([*times, times[-1] + WINDOW_SECONDS], [*p99, p99[-1]], where="post", color=COLORS[way])
        if step["recovery_threshold_ms"]:
            axis.axhline(step["recovery_threshold_ms"], color=COLORS[way], linestyle="--", linewidth=1)
        seen = [v for v in p99 if v == v] or [1.0]  # NaN: a window without a success
        if max(seen) > 10 * min(seen):  # a log scale only where it spans a decade
            axis.set_yscale("log")
            axis.yaxis.set_major_formatter(ScalarFormatter())
            axis.yaxis.set_minor_formatter(ScalarFormatter())
        else:
            axis.set_ylim(bottom=0, top=max(max(seen), step["recovery_threshold_ms"] or 0) * 1.1)
        axis.set_ylabel("p99 (ms)")
        axis.axvspan(0, step["step_seconds"], color="grey", alpha=0.15)
        axis.set_title(f"{LABELS[way]}: {_capacity_cell(step)}", fontsize=9)
        points = step["capacity"]["points"]
        if points:
            capacity = axis.twinx()
            capacity.step(
                [p[0] for p in points], [p[1] for p in points], where="post", color="black", linewidth=1
            )
            capacity.set_ylabel(step["capacity"]["unit"] or "capacity")
            capacity.set_ylim(bottom=0, top=max(p[1] for p in points) + 1)
    axes[-1, 0].set_xlabel(
        "seconds since the step (shaded: the step held); dashed: 2x the baseline's p99; black: capacity"
    )
    figure.suptitle(f"Under a traffic step ({data['source']})")
    figure.tight_layout()
    path = out_dir / STEP_CHART
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# ---------------------------------------------------------------- entry points
def write_report(data: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(data, indent=2))
    write_charts(data, out_dir)
    write_step_chart(data, out_dir)
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
    lines += tls_summary_lines(data)
    lines += cost_summary(data)
    lines += ["", f"{data['source']}, protocol {data['settings']['protocol']}. Report: {report_path}"]
    return "\n".join(lines)


def tls_summary_lines(data: dict[str, Any]) -> list[str]:
    """The steady runs repeated over HTTPS, under the plain ones (``make demo TLS=1``)."""
    ways = [w for w in WAYS if (data["targets"].get(w) or {}).get("tls")]
    lines = ["steady again over HTTPS (TLS):"] if ways else []
    for way in ways:
        tls = data["targets"][way]["tls"]["steady"]
        lat = tls.get("latency_ms") or {}
        lines.append(
            f"{way:8} {_ms(lat.get('p50')):>9} {_ms(lat.get('p95')):>9} {_ms(lat.get('p99')):>9} "
            f"{tls.get('throughput_rps', 0):>8,.0f} {tls.get('errors', 0):>7}"
        )
    return lines


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
