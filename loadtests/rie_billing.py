"""Lambda as billed, locally: the RIE's REPORT lines (one per invoke, collected by the local
Function URL), read by the parser that reads CloudWatch's and summarized the same way, per
scenario window. What ``make compare`` gets from CloudWatch Logs, ``make demo`` gets from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests.aws.billing import parse_report, scenario_window, summarize_reports

SOURCE = "rie"


def billed_locally(reports: list[dict[str, Any]], way_dir: Path, scenarios: list[str]) -> dict[str, Any]:
    """``reports``: the pool's ``{"env_id", "t" (epoch s), "line"}``; per scenario, the summary
    of the REPORT lines sent inside its window (``way_dir/<scenario>/``)."""
    billing: dict[str, Any] = {"source": SOURCE}
    for scenario in scenarios:
        start_ms, end_ms, answered = scenario_window(way_dir / scenario)
        window = []
        for report in reports:
            numbers = parse_report(report["line"])
            if numbers is not None and start_ms <= report["t"] * 1000 <= end_ms:
                window.append({**numbers, "stream": report["env_id"], "t": report["t"] * 1000})
        billing[scenario] = summarize_reports(window, answered)
    return billing
