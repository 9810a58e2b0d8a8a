"""The "Faults" section of report.md, from ``data["faults"]`` (see loadtests.faults.scenarios)."""

from __future__ import annotations

from typing import Any

from infra.common.names import WAYS


def _num(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def _rolling(figures: dict[str, Any]) -> str:
    return f"{figures['failed']} failed of {figures['requests']} sent ({figures['replaced']} replaced)"


def _crash(figures: dict[str, Any]) -> str:
    return (
        f"{figures['failed']} failed of {figures['requests']} ({figures['failed_in_flight']} in flight "
        f"at the kill, {figures['failed_not_in_flight']} after); full service after "
        f"{_num(figures['recovery_seconds'], ' s', 2)}"
    )


def _soak(figures: dict[str, Any]) -> str:
    return (
        f"{figures['failed']} errors of {figures['requests']} in {figures['seconds']:g} s; RSS growth "
        f"{_growth(figures['rss_growth_mb_per_10min_max'])} (worst of {len(figures['workers'])} "
        f"workers); open files changed by {_num(figures['open_files_change_max'])}"
    )


def _growth(mb_per_10min: float | None) -> str:
    if mb_per_10min is None:
        return "not measured (a soak this short shows start-up, not growth; make faults --soak-seconds 600)"
    return f"{mb_per_10min:.2f} MB/10 min"


def _slow(figures: dict[str, Any]) -> str:
    if "not_applicable" in figures:
        return f"n/a ({figures['not_applicable']})"
    connections = len(figures["connections"])
    return (
        f"{figures['closed_by_server']} of {connections} closed by the server (longest open "
        f"{_num(figures['longest_open_seconds'], ' s')}, bound {figures['limit_seconds']:g} s); p99 "
        f"{_num(figures['p99_ms'], ' ms')} vs {_num(figures['baseline_p99_ms'], ' ms')} without them "
        f"({_num(figures['p99_ratio'], 'x', 2)}); {figures['failed']} of {figures['requests']} failed"
    )


ROWS = (
    ("Rolling restart under load", "rolling_restart", _rolling),
    ("Crash under load (SIGKILL)", "crash", _crash),
    ("Soak", "soak", _soak),
    ("Slow clients", "slow_clients", _slow),
)


def faults_section(data: dict[str, Any]) -> list[str]:
    """Markdown lines; none when the run had no fault scenarios."""
    faults = data.get("faults")
    if not faults:
        return []
    ways = [w for w in WAYS if w in faults["ways"]]
    lines = ["## Faults", "", faults["note"], "", "| Scenario | " + " | ".join(ways) + " |"]
    lines.append("|---" * (len(ways) + 1) + "|")
    for title, key, cell in ROWS:
        cells = [cell(faults["ways"][w][key]) if key in faults["ways"][w] else "not run" for w in ways]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- **{way}**: {faults['ways'][way]['how']}" for way in ways]
    lines.append("")
    return lines
