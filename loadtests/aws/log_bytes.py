"""Log bytes per request as CloudWatch holds them: the steady window's events of each way's log
group (``LogGroupName``, every stack's output), measured like the local logs
(``loadtests.log_volume``). Lambda's group holds the platform's START/END/REPORT lines beside the
app's; the ALB ways' hold the app's lines (their health checks' too). A mean needs no more than a
sample, so the read stops at ``MAX_EVENTS``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.aws.billing import scenario_window
from loadtests.aws.polling import read_until
from loadtests.log_volume import measure_lines

MAX_EVENTS = 20_000


def window_lines(
    logs_client: Any, log_group: str, start_ms: int, end_ms: int, limit: int = MAX_EVENTS
) -> list[bytes]:
    """Every event's message in the window (all pages, up to ``limit``), as the bytes ingested."""
    request: dict[str, Any] = {"logGroupName": log_group, "startTime": start_ms, "endTime": end_ms}
    lines: list[bytes] = []
    while len(lines) < limit:
        page = logs_client.filter_log_events(**request)
        lines += [event["message"].rstrip("\n").encode() for event in page.get("events", [])]
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    return lines[:limit]


def measured_log_volume(
    logs_client: Any,
    log_group: str,
    folder: Path,
    wait_seconds: float,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """The scenario's log volume, read again (lines reach CloudWatch late) until the app's lines
    cover the requests answered, or a sample's worth, or ``wait_seconds`` passed."""
    start_ms, end_ms, answered = scenario_window(folder)
    enough = min(answered, MAX_EVENTS // 4)
    return read_until(
        lambda: measure_lines(window_lines(logs_client, log_group, start_ms, end_ms)),
        lambda volume: volume is not None and volume["app_lines"] >= enough,
        wait_seconds,
        interval,
        sleep,
    )
