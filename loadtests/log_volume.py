"""How many bytes of log each request writes, measured from what the ways wrote, not assumed.

The app writes one JSON line per request (``serving.middleware.telemetry``); on Lambda the
platform adds START, END and REPORT lines per invoke. Locally the RIE writes those platform lines
(in its own form, close to CloudWatch's); on AWS CloudWatch holds them. CloudWatch Logs bills
ingestion by bytes, so these counts (each line plus its newline) are what the cost rows price.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PLATFORM_PREFIXES = (b"START RequestId:", b"END RequestId:", b"REPORT RequestId:")


def is_request_line(line: bytes) -> bool:
    """The app's per-request JSON line (``"msg": "request"``)."""
    if not line.startswith(b"{"):
        return False
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.get("msg") == "request"


def measure_lines(lines: Iterable[bytes]) -> dict[str, Any] | None:
    """Mean bytes of the app's request line and, where there are any, of the platform lines per
    invoke (an invoke is one REPORT line); None when no request line was written."""
    app_lines = app_bytes = platform_bytes = invokes = 0
    for line in lines:
        if is_request_line(line):
            app_lines, app_bytes = app_lines + 1, app_bytes + len(line) + 1
        elif line.startswith(PLATFORM_PREFIXES):
            platform_bytes += len(line) + 1
            invokes += line.startswith(PLATFORM_PREFIXES[2])
    if not app_lines:
        return None
    volume: dict[str, Any] = {"app_lines": app_lines, "app_line_bytes": round(app_bytes / app_lines, 1)}
    if invokes:
        volume["invokes"] = invokes
        volume["platform_bytes_per_invoke"] = round(platform_bytes / invokes, 1)
        # Requests the app logged per invoke: 1 unless APP_LOG_SAMPLE_RATE sampled them.
        volume["sample_rate"] = round(min(app_lines / invokes, 1.0), 4)
    return volume


def measure_files(paths: Iterable[Path]) -> dict[str, Any] | None:
    lines: list[bytes] = []
    for path in sorted(paths):
        lines += path.read_bytes().splitlines()
    return measure_lines(lines)
