"""Every measured figure the README and docs/decision-guide.md quote matches the file it comes from:
docs/reference-run/report.json (and report.md, whose rows the guide copies verbatim) for the
comparison, bench/reference-results.json for the bench. After `make reference-run` the figures
that moved fail here, each naming the sentence, what the prose says and what the file says."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.common.paths import REPO_ROOT
from loadtests.report import terminal_summary

README = REPO_ROOT / "README.md"
GUIDE = REPO_ROOT / "docs" / "decision-guide.md"
REFERENCE = REPO_ROOT / "docs" / "reference-run"
BENCH = REPO_ROOT / "bench" / "reference-results.json"
VERBATIM = re.compile(r"<!-- reference-run: .*?-->\n(.*?)<!-- /reference-run -->", re.S)

Files = dict[str, Any]


@dataclass(frozen=True)
class Quote:
    """A figure in ``doc``: ``pattern``'s groups, each equal to what ``expected`` reads from the files."""

    doc: Path
    label: str
    pattern: str
    expected: tuple[Callable[[Files], str], ...]
    source: str


def files() -> Files:
    return {
        "ref": json.loads((REFERENCE / "report.json").read_text()),
        "bench": json.loads(BENCH.read_text())["figures"],
    }


Getter = Callable[[Files], str]
REF = "docs/reference-run/report.json"
BENCH_FILE = "bench/reference-results.json"


def ref(*keys: str | int, fmt: str = "{:,.2f}") -> Getter:
    """A figure of the reference run's report.json, formatted as the prose prints it."""
    return lambda data: fmt.format(_dig(data["ref"], keys))


def bench(*keys: str, scale: float = 1.0, fmt: str = "{:.0f}") -> Getter:
    return lambda data: fmt.format(_dig(data["bench"], keys) / scale)


def _dig(value: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        value = value[key]
    return value


def months_of_break_even(data: Files) -> str:
    """Requests a month (millions) at the EC2 break-even: the guide's worked arithmetic."""
    ec2, row = data["ref"]["targets"]["ec2"]["costs"], data["ref"]["break_even"]["rows"][0]
    return f"{ec2['idle_monthly_usd'] / (row['lambda_per_million_usd'] - ec2['logs_per_million_usd']):.1f}"


def same_for_every_way(key: str) -> Getter:
    """The app's line is the same on every way: one figure, or all three when they differ."""
    return lambda data: "/".join(
        sorted({f"{t['log_volume'][key]:.0f}" for t in data["ref"]["targets"].values()})
    )


INT = "{}"
BE = ("break_even", "rows", 0)
LAMBDA_BILLED = ("targets", "lambda", "billing", "steady")


def cost(way: str, key: str, fmt: str = "{:,.2f}") -> Getter:
    return ref("targets", way, "costs", key, fmt=fmt)


def step(way: str, *keys: str, fmt: str = "{:.2f}") -> Getter:
    return ref("targets", way, "step", *keys, fmt=fmt)


QUOTES = (
    Quote(README, "idle cost, Lambda", r"idle cost \$([\d.,]+) \(Lambda\)",
          (cost("lambda", "idle_monthly_usd"),), f"{REF} targets.lambda.costs"),
    Quote(README, "idle cost, ECS and EC2", r"\$([\d.,]+) \(ECS\) and \$([\d.,]+) \(EC2\) a month",
          (cost("ecs", "idle_monthly_usd"), cost("ec2", "idle_monthly_usd")), f"{REF} targets.<way>.costs"),
    Quote(README, "idle cost while deployed",
          r"\(\$([\d.,]+) a month for EC2 and \$([\d.,]+) for ECS, idle\)",
          (cost("ec2", "idle_monthly_usd"), cost("ecs", "idle_monthly_usd")), f"{REF} targets.<way>.costs"),
    Quote(README, "Lambda per million, billed",
          r"Lambda at \$([\d.]+) per million requests at its mean billed duration",
          (cost("lambda", "per_million_requests_usd"),), f"{REF} targets.lambda.costs"),
    Quote(README, "Lambda per million, client basis", r"\(\$([\d.]+) at the mean latency the client saw",
          (cost("lambda", "per_million_client_basis_usd"),), f"{REF} targets.lambda.costs"),
    Quote(README, "Lambda per million with logs", r"\$([\d.]+) with its log lines",
          (cost("lambda", "per_million_with_logs_usd"),), f"{REF} targets.lambda.costs"),
    Quote(README, "break-even vs EC2 and ECS",
          r"cheaper than EC2 below about \*\*(\d+) requests per second\*\* around the clock \(ECS: (\d+)\)",
          (ref(*BE, "ec2", "break_even_rps", fmt=INT), ref(*BE, "ecs", "break_even_rps", fmt=INT)),
          f"{REF} break_even.rows[0]"),
    Quote(GUIDE, "mean billed duration", r"the mean billed duration is ([\d.]+) ms",
          (ref(*LAMBDA_BILLED, "billed_ms_mean", fmt="{:.1f}"),), f"{REF} targets.lambda.billing"),
    Quote(GUIDE, "new environments in the steady window",
          r"the steady window includes (\d+) new environments",
          (ref(*LAMBDA_BILLED, "cold_starts", fmt=INT),), f"{REF} targets.lambda.billing"),
    Quote(GUIDE, "Lambda per million, billed and client",
          r"so Lambda is \$([\d.]+) per million, \$([\d.]+) at the client",
          (cost("lambda", "per_million_requests_usd"), cost("lambda", "per_million_client_basis_usd")),
          f"{REF} targets.lambda.costs"),
    Quote(GUIDE, "the app's log line", r"the app's JSON line is (\d+) B per request on every way",
          (same_for_every_way("app_line_bytes"),), f"{REF} targets.<way>.log_volume"),
    Quote(GUIDE, "Lambda's log bytes and their cost",
          r"(\d+) B in all, at CloudWatch Logs' \$0.50 per GB ingested: "
          r"\$([\d.]+) per million on Lambda against \$([\d.]+) on EC2",
          (cost("lambda", "log_bytes_per_request", "{:.0f}"), cost("lambda", "logs_per_million_usd"),
           cost("ec2", "logs_per_million_usd")), f"{REF} targets.<way>.costs"),
    Quote(GUIDE, "the break-even arithmetic",
          r"\$([\d.,]+) / \(\$([\d.]+) - \$([\d.]+)\) x 1,000,000 = ([\d.]+) M requests a month, "
          r"\*\*(\d+) req/s\*\* against EC2, (\d+) against ECS",
          (cost("ec2", "idle_monthly_usd"), ref(*BE, "lambda_per_million_usd", fmt="{:.4f}"),
           cost("ec2", "logs_per_million_usd", "{:.4f}"), months_of_break_even,
           ref(*BE, "ec2", "break_even_rps", fmt=INT), ref(*BE, "ecs", "break_even_rps", fmt=INT)),
          f"{REF} targets.ec2.costs, break_even.rows[0]"),
    Quote(GUIDE, "Little's law at the break-even",
          r"EC2 break-even, (\d+) req/s x ([\d.]+) ms is ([\d.]+) of an environment",
          (ref(*BE, "ec2", "break_even_rps", fmt=INT), ref(*BE, "lambda_duration_ms", fmt="{:.1f}"),
           ref(*BE, "ec2", "lambda_environments_busy", fmt="{:.2f}")), f"{REF} break_even.rows[0]"),
    Quote(GUIDE, "the warm in-process request", r"in-process warm request \(([\d.]+) ms in `make bench`",
          (bench("warm_request_us", "app", scale=1000, fmt="{:.2f}"),), f"{BENCH_FILE} warm_request_us.app"),
    Quote(GUIDE, "onnxruntime per row", r"onnxruntime runs the model in (\d+) µs for one row",
          (bench("warm_request_us", "onnxruntime_run"),), f"{BENCH_FILE} warm_request_us"),
    Quote(GUIDE, "the Lambda image's size",
          r"`one-model:lambda` ([\d.]+) MB \(3% of it\); ([\d.]+) MB over the base image",
          (bench("images", "lambda", "bytes", scale=1e6, fmt="{:.1f}"),
           bench("images", "lambda", "added_over_base_bytes", scale=1e6, fmt="{:.1f}")),
          f"{BENCH_FILE} images.lambda"),
    Quote(GUIDE, "a worker's peak RSS", r"one worker's peak RSS (\d+) MB",
          (bench("peak_rss_bytes", "app_worker", scale=1e6),), f"{BENCH_FILE} peak_rss_bytes"),
    Quote(GUIDE, "peak RSS, app and naive peer",
          r"\| peak RSS per worker \| (\d+) MB \| (\d+) MB \(naive peer\)",
          (bench("peak_rss_bytes", "app_worker", scale=1e6),
           bench("peak_rss_bytes", "naive_peer_worker", scale=1e6)),
          f"{BENCH_FILE} peak_rss_bytes"),
    Quote(GUIDE, "fresh process to first prediction",
          r"\| ([\d.]+) s \(reference run\); [\d.]+ s \(head-to-head\) \| ([\d.]+) s \(naive peer\)",
          (bench("cold_start_s", "app", fmt="{:.2f}"), bench("cold_start_s", "naive_peer", fmt="{:.2f}")),
          f"{BENCH_FILE} cold_start_s"),
    Quote(GUIDE, "the always-on ways' p99 under the step",
          r"p99 went from ([\d.]+) to ([\d.]+) ms and from ([\d.]+) to ([\d.]+) ms",
          tuple(step(way, phase, "latency_ms", "p99") for way in ("ec2", "ecs")
                for phase in ("baseline", "step")),
          f"{REF} targets.<way>.step"),
    Quote(GUIDE, "Lambda under the step",
          r"pool grew from (\d+) to (\d+) environments.*?refused (\d+) of ([\d,]+) requests with 429 while "
          r"its p99 went from ([\d.]+) to ([\d.]+) ms",
          (step("lambda", "capacity", "baseline", fmt=INT),
           step("lambda", "capacity", "peak_during_step", fmt=INT),
           step("lambda", "failed_during_step", fmt=INT), step("lambda", "step", "requests", fmt="{:,}"),
           step("lambda", "baseline", "latency_ms", "p99"), step("lambda", "step", "latency_ms", "p99")),
          f"{REF} targets.lambda.step"),
    Quote(GUIDE, "the body limit", r"the app's body limit ([\d,]+) B",
          (bench("body_limit_bytes", fmt="{:,.0f}"),), f"{BENCH_FILE} body_limit_bytes"),
)  # fmt: skip


def prose(doc: Path) -> str:
    """The document with its line breaks folded, so a pattern matches a sentence across lines."""
    return re.sub(r"\s+", " ", doc.read_text())


@pytest.mark.parametrize("quote", QUOTES, ids=[q.label for q in QUOTES])
def test_a_quoted_figure_matches_its_file(quote: Quote) -> None:
    name = quote.doc.relative_to(REPO_ROOT)
    match = re.search(quote.pattern, prose(quote.doc))
    assert match, f"{name}: the sentence quoting {quote.label!r} is gone; reword it back or update {__file__}"
    data = files()
    expected = tuple(figure(data) for figure in quote.expected)
    quoted = ", ".join(match.groups())
    assert match.groups() == expected, (
        f"{name}: {quote.label} is quoted as {quoted}; {quote.source} says " + (", ".join(expected))
    )


def test_the_readme_quotes_the_reference_run_s_summary_line_for_line() -> None:
    data = files()["ref"]
    summary = terminal_summary(data, Path("reports") / data["run_id"] / "report.md")
    readme = README.read_text().splitlines()
    for line in [line for line in summary.splitlines() if line.strip()]:
        assert line in readme, (
            f"README.md: the make demo summary lacks this line of the reference run's:\n{line}"
        )


def test_the_guide_s_copied_rows_are_the_reference_report_s() -> None:
    report = (REFERENCE / "report.md").read_text().splitlines()
    blocks = VERBATIM.findall(GUIDE.read_text())
    assert len(blocks) == 2, "docs/decision-guide.md: the decision matrix and the break-even table blocks"
    for block in blocks:
        for line in block.strip().splitlines():
            assert line in report, (
                f"docs/decision-guide.md: this row is not in docs/reference-run/report.md:\n{line}"
            )


def test_the_reference_run_names_its_commit_and_ships_its_charts() -> None:
    data = files()["ref"]
    assert re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", data["commit"])
    assert (REFERENCE / "report.md").read_text().startswith(f"Commit `{data['commit']}`.")
    for chart in ("latency_percentiles.png", "cold_vs_warm.png", "timeseries.png"):
        assert (REFERENCE / chart).read_bytes().startswith(b"\x89PNG")
