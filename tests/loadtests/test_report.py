"""The report from a recorded run: tests/loadtests/recorded/ holds a thinned copy of a real
`make demo` run (per-request samples, the shapes' phase marks, and what each target reported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.analysis import summarize_cold, summarize_steady
from loadtests.costs import DEFAULT_PRICES
from loadtests.locust_run import LoadSettings
from loadtests.report import CHARTS, terminal_summary, write_report
from loadtests.run import report_data

RECORDED = Path(__file__).parent / "recorded"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    recorded = json.loads((RECORDED / "targets.json").read_text())
    targets = {}
    for way, target in recorded["targets"].items():
        targets[way] = {
            **target,
            "cold": summarize_cold(RECORDED / way / "cold"),
            "steady": summarize_steady(RECORDED / way / "steady"),
        }
    settings = LoadSettings(**recorded["settings"])
    data = report_data("recorded", "local emulation", "A recorded run.", settings, targets, DEFAULT_PRICES)
    out = tmp_path_factory.mktemp("report")
    return data, write_report(data, out)


def test_steady_numbers_cover_the_hold_only(report: tuple[dict, Path]) -> None:
    data, _ = report
    for way in ("ec2", "ecs", "lambda"):
        steady = data["targets"][way]["steady"]
        phases = json.loads((RECORDED / way / "steady" / "phases.json").read_text())
        samples = [
            json.loads(line) for line in (RECORDED / way / "steady" / "samples-1.jsonl").read_text().split()
        ]
        in_hold = [s for s in samples if phases["hold"] <= s["t"] < phases["end"]]
        assert steady["requests"] == len(in_hold) < len(samples)
        lat = steady["latency_ms"]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert steady["throughput_rps"] > 0


def test_cold_responses_are_split_by_the_header(report: tuple[dict, Path]) -> None:
    data, _ = report
    cold = data["targets"]["lambda"]["cold"]
    samples = [
        json.loads(line) for line in (RECORDED / "lambda" / "cold" / "samples-1.jsonl").read_text().split()
    ]
    assert cold["cold_responses"] == sum(1 for s in samples if s["cold"] and s["ok"]) > 0
    assert cold["cold_latency_ms"]["p50"] > cold["warm_latency_ms"]["p50"]


def test_markdown_fills_the_decision_matrix_for_every_way(report: tuple[dict, Path]) -> None:
    _, path = report
    text = path.read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for name in ("Cost (idle): lesson", "Cost per 1M requests", "Max runtime: lesson", "GPU support: lesson"):
        assert name in rows
    latency = next(line for name, line in rows.items() if name.startswith("Latency p50/p95/p99"))
    assert latency.count(" ms") == 9  # three percentiles for three ways
    assert "n/a" not in rows["Cost (idle): list price / month"]
    assert "$0.00" in rows["Cost (idle): list price / month"]  # Lambda idles for free
    cold = next(line for name, line in rows.items() if name.startswith("Cold start (local"))
    assert "start to first success" in cold and "cold requests p50" in cold
    assert "local emulation" in text and "list prices" in text and "us-east-1" in text


def test_charts_and_json_are_written(report: tuple[dict, Path]) -> None:
    data, path = report
    for name in CHARTS:
        assert (path.parent / name).read_bytes().startswith(PNG_MAGIC)
    assert json.loads((path.parent / "report.json").read_text())["targets"].keys() == data["targets"].keys()


def test_terminal_summary_has_one_line_per_way_and_the_report_path(report: tuple[dict, Path]) -> None:
    data, path = report
    summary = terminal_summary(data, path)
    assert [line.split()[0] for line in summary.splitlines()[2:5]] == ["lambda", "ecs", "ec2"]
    assert str(path) in summary
