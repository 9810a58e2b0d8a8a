"""make compare measures log bytes per request from the log groups, as CloudWatch ingested them:
every event of the steady window (no filter pattern), all pages, re-read while lines arrive late.
botocore's Stubber with fake credentials stands in for CloudWatch Logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from loadtests.aws.log_bytes import measured_log_volume, window_lines

APP_LINE = '{"level":"INFO","logger":"serving","msg":"request","request_id":"abc","status":200}'
PLATFORM = [
    "START RequestId: 8f5 Version: $LATEST",
    "END RequestId: 8f5",
    "REPORT RequestId: 8f5\tDuration: 1.20 ms\tBilled Duration: 2 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 81 MB\t",
]


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


def events(*messages: str) -> list[dict[str, Any]]:
    return [{"message": m + "\n", "timestamp": 1, "logStreamName": "s"} for m in messages]


def steady_folder(tmp_path: Path, requests: int) -> Path:
    samples = [{"t": 100.0 + i, "ms": 5.0, "status": 200} for i in range(requests)]
    (tmp_path / "samples-1.jsonl").write_text("\n".join(json.dumps(s) for s in samples))
    return tmp_path


def test_every_event_of_the_window_is_read_across_pages_without_a_filter() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    stubber = Stubber(logs)
    window = {"logGroupName": "/aws/lambda/fn", "startTime": 1, "endTime": 2}
    stubber.add_response("filter_log_events", {"events": events(APP_LINE), "nextToken": "n"}, window)
    stubber.add_response("filter_log_events", {"events": events(*PLATFORM)}, {**window, "nextToken": "n"})
    with stubber:
        lines = window_lines(logs, "/aws/lambda/fn", 1, 2)
    assert lines == [m.encode() for m in (APP_LINE, *PLATFORM)]


def test_lambda_s_group_gives_the_app_line_and_the_platform_lines_per_invoke(tmp_path: Path) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    stubber = Stubber(logs)
    window = {"logGroupName": "g", "startTime": ANY, "endTime": ANY}
    stubber.add_response("filter_log_events", {"events": events(APP_LINE)}, window)  # late: 1 of 2
    stubber.add_response(
        "filter_log_events", {"events": events(*PLATFORM, APP_LINE, *PLATFORM, APP_LINE)}, window
    )
    naps: list[float] = []
    with stubber:
        volume = measured_log_volume(logs, "g", steady_folder(tmp_path, 2), 60, sleep=naps.append)

    stubber.assert_no_pending_responses()
    assert naps == [5.0]  # read again once, after the first read found too few lines
    assert volume == {
        "app_lines": 2,
        "app_line_bytes": len(APP_LINE) + 1,
        "invokes": 2,
        "platform_bytes_per_invoke": sum(len(m) + 1 for m in PLATFORM),
        "sample_rate": 1.0,
    }
