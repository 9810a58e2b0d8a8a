"""Lambda measured the way it is billed: the function's ``REPORT`` log lines from CloudWatch Logs.

Lambda writes one REPORT line per invocation to the function's log group, one log stream per
execution environment::

    REPORT RequestId: 8f5...  Duration: 12.34 ms  Billed Duration: 13 ms  Memory Size: 1024 MB
    Max Memory Used: 181 MB  Init Duration: 1423.51 ms

``Init Duration`` is there only on an environment's first invocation: a cold start seen from the
server side, whatever the client saw. For a container image the init is billed, so ``Billed
Duration`` includes it.

With SnapStart (AWS's "Monitoring for Lambda SnapStart" page, read 2026-12-04) init runs when a
version is published and is reported apart, on an ``INIT_REPORT`` line; an environment restored
from the snapshot reports its restore on its first ``REPORT`` line::

    INIT_REPORT Init Duration: 1670.77 ms  Phase: init  Status: success
    REPORT RequestId: 8f5...  Duration: 306.34 ms  Billed Duration: 610 ms  Memory Size: 3009 MB
    Max Memory Used: 155 MB  Restore Duration: 511.25 ms  Billed Restore Duration: 303 ms

(``Billed Duration`` then includes ``Billed Restore Duration``: 306.34 + 303 rounds up to 610.)

After each scenario the REPORT lines of its time window are read with ``filter_log_events`` (they
reach CloudWatch a few seconds late, so the read repeats until every request the function answered
has its line, or the wait runs out) and summarized.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtests.analysis import latency_summary, load_samples
from loadtests.aws.polling import read_until

# Either kind of line (a filter pattern's "?term" matches any of the terms).
REPORT_FILTER = '?"REPORT RequestId" ?"INIT_REPORT"'
INIT_REPORT_FILTER = '"INIT_REPORT"'
_FIELD = re.compile(
    r"(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration|Restore Duration"
    r"|Billed Restore Duration): ([0-9.]+) (?:ms|MB)"
)
_KEYS = {
    "Duration": "duration_ms",
    "Billed Duration": "billed_ms",
    "Memory Size": "memory_mb",
    "Max Memory Used": "max_memory_used_mb",
    "Init Duration": "init_ms",
    "Restore Duration": "restore_ms",
    "Billed Restore Duration": "billed_restore_ms",
}
# Answers that never ran the function: no connection, refused by the URL's auth, throttled.
NOT_INVOKED = frozenset({0, 403, 429})


def parse_report(message: str) -> dict[str, float] | None:
    """The numbers of one REPORT or INIT_REPORT line, or None for any other log line. An INIT_REPORT
    gives ``init_ms`` and ``init_report: 1.0``, and ``init_failed: 1.0`` unless its status is success."""
    if message.startswith("INIT_REPORT "):
        numbers = {_KEYS[name]: float(value) for name, value in _FIELD.findall(message)}
        failed = "Status:" in message and "Status: success" not in message
        return {**numbers, "init_report": 1.0, **({"init_failed": 1.0} if failed else {})}
    if not message.startswith("REPORT RequestId:"):
        return None
    return {_KEYS[name]: float(value) for name, value in _FIELD.findall(message)}


def report_events(
    logs_client: Any, log_group: str, start_ms: int, end_ms: int, pattern: str = REPORT_FILTER
) -> Iterator[dict[str, Any]]:
    """Every REPORT event of ``log_group`` between the two epoch-millisecond bounds (all pages)."""
    request = {
        "logGroupName": log_group,
        "startTime": start_ms,
        "endTime": end_ms,
        "filterPattern": pattern,
    }
    while True:
        page = logs_client.filter_log_events(**request)
        yield from page.get("events", [])
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]


def read_reports(logs_client: Any, log_group: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    reports = []
    for event in report_events(logs_client, log_group, start_ms, end_ms):
        numbers = parse_report(event["message"])
        if numbers is not None:
            reports.append({**numbers, "stream": event.get("logStreamName", ""), "t": event["timestamp"]})
    return reports


def wait_for_reports(
    logs_client: Any,
    log_group: str,
    start_ms: int,
    end_ms: int,
    expected: int,
    wait_seconds: float,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """The window's REPORT lines, read again until ``expected`` are there or ``wait_seconds`` passed."""
    return read_until(
        lambda: read_reports(logs_client, log_group, start_ms, end_ms),
        lambda reports: len(reports) >= expected,
        wait_seconds,
        interval,
        sleep,
    )


def summarize_reports(reports: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    """What the function billed and how many environments started (inits) or were restored from a
    SnapStart snapshot (restores), from its REPORT and INIT_REPORT lines."""
    init_reports = [r for r in reports if "init_report" in r]
    reports = [r for r in reports if "init_report" not in r]
    cold = [r["init_ms"] for r in reports if "init_ms" in r]  # an on-demand init, on its first invoke
    inits = cold + [r["init_ms"] for r in init_reports if "init_ms" in r]
    restores = [r["restore_ms"] for r in reports if "restore_ms" in r]
    billed = [r["billed_ms"] for r in reports if "billed_ms" in r]
    return {
        "invocations": len(reports),
        "client_responses": expected,
        "environments": len({r["stream"] for r in reports}),
        "billed_ms_mean": round(sum(billed) / len(billed), 2) if billed else None,
        "billed_ms_total": round(sum(billed), 2),
        "duration_ms": latency_summary([r["duration_ms"] for r in reports if "duration_ms" in r]),
        "cold_starts": len(cold),
        "init_ms": latency_summary(inits),
        "init_reports": len(init_reports),
        "failed_inits": sum(1 for r in init_reports if "init_failed" in r),
        "restores": len(restores),
        "restore_ms": latency_summary(restores),
        "billed_restore_ms_total": round(sum(r.get("billed_restore_ms", 0.0) for r in reports), 2),
        "max_memory_used_mb": max((r["max_memory_used_mb"] for r in reports if "max_memory_used_mb" in r),
                                  default=None),
    }  # fmt: skip


def scenario_window(folder: Path) -> tuple[int, int, int]:
    """A scenario's time window in epoch milliseconds (first request's start, last one's end) and
    how many of its requests the function answered (each has a REPORT line)."""
    samples = load_samples(folder)
    start = min(s["t"] for s in samples)
    end = max(s["t"] + s["ms"] / 1000 for s in samples)
    answered = sum(1 for s in samples if s["status"] not in NOT_INVOKED)
    return int(start * 1000), int(end * 1000) + 1000, answered


def billed_scenarios(
    logs_client: Any,
    log_group: str,
    way_dir: Path,
    scenarios: list[str],
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Per scenario, the summary of the REPORT lines in its window (``way_dir/<scenario>/``)."""
    billing: dict[str, Any] = {"log_group": log_group}
    for scenario in scenarios:
        start_ms, end_ms, answered = scenario_window(way_dir / scenario)
        reports = wait_for_reports(
            logs_client, log_group, start_ms, end_ms, answered, wait_seconds, sleep=sleep
        )
        billing[scenario] = summarize_reports(reports, answered)
    return billing


def published_at_ms(lambda_client: Any, function_name: str, alias: str) -> int:
    """When the alias's version was published (its ``LastModified``), in epoch milliseconds."""
    version = lambda_client.get_alias(FunctionName=function_name, Name=alias)["FunctionVersion"]
    config = lambda_client.get_function_configuration(FunctionName=function_name, Qualifier=version)
    published = datetime.strptime(config["LastModified"], "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(published.timestamp() * 1000)


def snapshot_init(logs_client: Any, log_group: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """SnapStart's init, run when the version was published: the INIT_REPORT lines from then on."""
    lines = report_events(logs_client, log_group, start_ms, end_ms, INIT_REPORT_FILTER)
    reports = [r for r in (parse_report(e["message"]) for e in lines) if r and "init_report" in r]
    return {
        "init_reports": len(reports),
        "failed_inits": sum(1 for r in reports if "init_failed" in r),
        "init_ms": latency_summary([r["init_ms"] for r in reports if "init_ms" in r]),
    }
